"""
Tests for the time on every record: L{rfc3339}, and the C{timestamp} of the
installed client's JSON attempt and port objects and C{--count} lines.
"""

from __future__ import annotations

import datetime
import json
import re

from twisted.trial.unittest import TestCase

from tests.clientpeers import threadedServer
from tests.support import runClient
from welcome_protocol.client.output.timestamps import rfc3339
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.scan.jsonlines import portObject
from welcome_protocol.client.scan.plan import PortCheck
from welcome_protocol.client.scan.scanner import PortResult

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class RFC3339Tests(TestCase):
    """
    L{rfc3339} writes UTC to the millisecond.
    """

    def test_utc(self) -> None:
        """
        A UTC time, its milliseconds kept (not rounded up).
        """
        when = datetime.datetime(
            2026, 12, 8, 0, 58, 46, 123999, tzinfo=datetime.timezone.utc
        )
        self.assertEqual(rfc3339(when), "2026-12-08T00:58:46.123Z")

    def test_otherZone(self) -> None:
        """
        A time in another zone is written in UTC.
        """
        zone = datetime.timezone(datetime.timedelta(hours=2))
        when = datetime.datetime(2026, 12, 8, 2, 0, 0, tzinfo=zone)
        self.assertEqual(rfc3339(when), "2026-12-08T00:00:00.000Z")


class PortObjectTests(TestCase):
    """
    A scan's port object carries its own result's time, not the report's.
    """

    def test_ownTime(self) -> None:
        """
        The port's C{at} is its C{timestamp}.
        """
        at = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
        report = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
        result = PortResult(
            PortCheck(0, "h", 1, False), "127.0.0.1", ProbeResult("refused"), 0.1, at
        )
        self.assertEqual(
            portObject(result, report)["timestamp"], "2026-01-02T03:04:05.000Z"
        )


class FromOutsideTests(TestCase):
    """
    Every record of the installed client has its time.
    """

    def test_everyRecord(self) -> None:
        """
        C{--json --count 2}: both attempts; a scan's port objects; the
        C{--count} lines.
        """
        target = f"127.0.0.1:{threadedServer(self, 'welcome').port}"
        lines = runClient(["--json", "-n", "2", "-i", "0.1", target]).stdout
        attempts = [json.loads(line) for line in lines.splitlines()][:2]
        for attempt in attempts:
            self.assertRegex(attempt["timestamp"], f"^{RFC3339}$")
        self.assertLessEqual(attempts[0]["timestamp"], attempts[1]["timestamp"])
        scan = runClient(["--json", f"{target},1"]).stdout
        ports = [json.loads(line) for line in scan.splitlines()][:-1]
        self.assertEqual(len(ports), 2)
        for port in ports:
            self.assertRegex(port["timestamp"], f"^{RFC3339}$")
        count = runClient(["-n", "2", "-i", "0.1", target]).stdout.splitlines()
        for line in count[:2]:
            self.assertTrue(re.match(rf"^\[{RFC3339}\] Welcome from ", line), line)
