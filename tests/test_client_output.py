"""
Tests for L{welcome_protocol.client.output}: plain lines, JSON Lines and
the Nagios plugin line.
"""

from __future__ import annotations

import datetime
import io
import json

from twisted.trial.unittest import TestCase

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH
from welcome_protocol.client.judge import (
    CRITICAL,
    OK,
    WARNING,
    NagiosPolicy,
    timePerfdata,
    usageLine,
)
from welcome_protocol.client.output.jsonlines import JSONLinesOutput
from welcome_protocol.client.output.nagios import judge
from welcome_protocol.client.output.plain import attemptLine, summaryLines
from welcome_protocol.client.output.timestamps import rfc3339
from welcome_protocol.client.probe import (
    DNS,
    REFUSED,
    TIMEOUT,
    ProbeResult,
    TLSDetails,
)
from welcome_protocol.client.repeat import Summary
from welcome_protocol.client.target import Target
from welcome_protocol.client.thresholds import Range

TARGET = Target("127.0.0.1:12000", "127.0.0.1", 12000)
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
WELCOMED = ProbeResult(
    None,
    address="127.0.0.1",
    connectSeconds=0.00021,
    welcomeSeconds=0.00043,
    welcome=b"Welcome!",
)
REFUSED_RESULT = ProbeResult(
    REFUSED,
    "cannot connect to 127.0.0.1:12000: connection refused",
    "connection refused",
)


class PlainTests(TestCase):
    """
    The tcping-like lines of C{--count}.
    """

    def test_welcomeLine(self) -> None:
        """
        A welcome: bytes, connect and welcome times in milliseconds.
        """
        self.assertEqual(
            attemptLine(TARGET, WELCOMED),
            "Welcome from 127.0.0.1:12000: 8 bytes, connect 0.21 ms, welcome 0.43 ms",
        )

    def test_failureLine(self) -> None:
        """
        A failure: the short reason.
        """
        self.assertEqual(
            attemptLine(TARGET, REFUSED_RESULT),
            "No welcome from 127.0.0.1:12000: connection refused",
        )

    def test_nameWithAddress(self) -> None:
        """
        A host name is followed by the address that answered.
        """
        named = Target("localhost:12000", "localhost", 12000)
        self.assertTrue(
            attemptLine(named, WELCOMED).startswith(
                "Welcome from localhost:12000 (127.0.0.1:12000): "
            )
        )
        v6 = ProbeResult(
            None, address="::1", connectSeconds=0, welcomeSeconds=0, welcome=b"W"
        )
        self.assertTrue(
            attemptLine(named, v6).startswith(
                "Welcome from localhost:12000 ([::1]:12000)"
            )
        )

    def test_summary(self) -> None:
        """
        The summary counts and the min/avg/max/mdev in milliseconds.
        """
        summary = Summary()
        summary.add(WELCOMED)
        summary.add(REFUSED_RESULT)
        self.assertEqual(
            summaryLines(TARGET, summary),
            [
                "--- 127.0.0.1:12000 welcome statistics ---",
                "2 attempts, 1 welcomed, 50.0% failed",
                "time to welcome min/avg/max/mdev = 0.640/0.640/0.640/0.000 ms",
            ],
        )

    def test_summaryWithoutWelcome(self) -> None:
        """
        Without a welcome there are no times to show.
        """
        summary = Summary()
        summary.add(REFUSED_RESULT)
        self.assertEqual(len(summaryLines(TARGET, summary)), 2)


class JSONLinesTests(TestCase):
    """
    C{--json}: every line is one JSON object with every documented field.
    """

    ATTEMPT_FIELDS = {
        "type",
        "attempt",
        "host",
        "port",
        "address",
        "ok",
        "kind",
        "reason",
        "connect_seconds",
        "welcome_seconds",
        "total_seconds",
        "bytes",
        "welcome",
        "tls_version",
        "certificate_not_after",
        "certificate_days_left",
        "transport",
        "tries",
        "timestamp",
        "truncated",
    }

    def write(self, *results: ProbeResult) -> list[dict[str, object]]:
        """
        Write C{results} and their summary; parse every line back.
        """
        out = io.StringIO()
        output = JSONLinesOutput(TARGET, out, lambda: NOW)
        summary = Summary()
        for number, result in enumerate(results, 1):
            summary.add(result)
            output.attempt(number, result)
        output.summary(summary)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    def test_attemptAndSummary(self) -> None:
        """
        A welcomed attempt, a refused one, then the summary.
        """
        welcome, refused, summary = self.write(WELCOMED, REFUSED_RESULT)
        self.assertEqual(set(welcome), self.ATTEMPT_FIELDS)
        self.assertEqual(set(refused), self.ATTEMPT_FIELDS)
        self.assertEqual(
            welcome,
            {
                "type": "attempt",
                "attempt": 1,
                "host": "127.0.0.1",
                "port": 12000,
                "address": "127.0.0.1",
                "ok": True,
                "kind": None,
                "reason": None,
                "connect_seconds": 0.00021,
                "welcome_seconds": 0.00043,
                "total_seconds": 0.00064,
                "bytes": 8,
                "welcome": "Welcome!",
                "tls_version": None,
                "certificate_not_after": None,
                "certificate_days_left": None,
                "transport": "tcp",
                "tries": None,
                "timestamp": rfc3339(NOW),
                "truncated": False,
            },
        )
        self.assertEqual(
            (refused["ok"], refused["kind"], refused["reason"], refused["address"]),
            (False, "refused", "connection refused", None),
        )
        self.assertEqual(
            summary,
            {
                "type": "summary",
                "host": "127.0.0.1",
                "port": 12000,
                "transport": "tcp",
                "attempts": 2,
                "welcomed": 1,
                "failed": 1,
                "failed_percent": 50.0,
                "min_seconds": 0.00064,
                "avg_seconds": 0.00064,
                "max_seconds": 0.00064,
                "mdev_seconds": 0.0,
                "interrupted": False,
            },
        )

    def test_tlsFields(self) -> None:
        """
        Over TLS: the protocol version, notAfter in UTC and the days left.
        """
        notAfter = NOW + datetime.timedelta(days=2, hours=12)
        result = ProbeResult(
            None,
            connectSeconds=0,
            welcomeSeconds=0,
            welcome=b"\x1b]hi\xff",
            tls=TLSDetails("TLSv1.3", notAfter),
        )
        (attempt, _) = self.write(result)
        self.assertEqual(attempt["tls_version"], "TLSv1.3")
        self.assertEqual(attempt["certificate_not_after"], "2030-01-03T12:00:00Z")
        self.assertEqual(attempt["certificate_days_left"], 2.5)
        self.assertEqual(attempt["welcome"], "\x1b]hi\ufffd")


class NagiosTests(TestCase):
    """
    C{--nagios}: the state and line for each kind of result.
    """

    policy = NagiosPolicy(timeout=10)

    def test_ok(self) -> None:
        """
        OK in C{check_tcp}'s shape, banner in brackets, five perfdata fields.
        """
        self.assertEqual(
            judge(TARGET, WELCOMED, self.policy),
            (
                OK,
                "WELCOME OK - 0.001 second response time on 127.0.0.1 port 12000 "
                "[Welcome!]|time=0.000640s;;;0.000000;10.000000",
            ),
        )

    def test_thresholds(self) -> None:
        """
        The critical range is checked first, then the warning range; both
        appear in the perfdata.
        """
        policy = NagiosPolicy(
            warning=Range.parse("0.0005"), critical=Range.parse("0.001"), timeout=3
        )
        state, line = judge(TARGET, WELCOMED, policy)
        self.assertEqual(state, WARNING)
        self.assertTrue(line.startswith("WELCOME WARNING - "))
        self.assertTrue(
            line.endswith("|time=0.000640s;0.000500;0.001000;0.000000;3.000000")
        )
        policy = NagiosPolicy(
            warning=Range.parse("0.0005"), critical=Range.parse("~:0.0006")
        )
        self.assertEqual(judge(TARGET, WELCOMED, policy)[0], CRITICAL)
        policy = NagiosPolicy(warning=Range.parse("@0.0006:0.0007"))
        self.assertEqual(judge(TARGET, WELCOMED, policy)[0], WARNING)

    def test_mismatch(self) -> None:
        """
        A mismatch takes C{--mismatch}'s state and keeps the perfdata.
        """
        result = ProbeResult(
            MISMATCH,
            "unexpected welcome from 127.0.0.1:12000: 'Busy|x\\n'",
            connectSeconds=0.001,
            welcomeSeconds=0.001,
            welcome=b"Busy|x\n",
        )
        state, line = judge(TARGET, result, self.policy)
        self.assertEqual(state, WARNING)
        self.assertEqual(
            line,
            "WELCOME WARNING - unexpected welcome from 127.0.0.1:12000: "
            "'Busy\\x7cx\\n'|time=0.002000s;;;0.000000;10.000000",
        )
        crit = NagiosPolicy(mismatch=CRITICAL)
        self.assertEqual(judge(TARGET, result, crit)[0], CRITICAL)
        self.assertEqual(judge(TARGET, result, NagiosPolicy(mismatch=OK))[0], OK)

    def test_refused(self) -> None:
        """
        Refused takes C{--refused}'s state; no perfdata, as C{check_tcp}.
        """
        self.assertEqual(
            judge(TARGET, REFUSED_RESULT, self.policy),
            (CRITICAL, "WELCOME CRITICAL - connection refused by 127.0.0.1 port 12000"),
        )
        self.assertEqual(
            judge(TARGET, REFUSED_RESULT, NagiosPolicy(refused=WARNING))[0], WARNING
        )

    def test_otherFailuresCritical(self) -> None:
        """
        Timeouts, DNS failures and the like are CRITICAL with their line.
        """
        for kind in (TIMEOUT, DNS):
            state, line = judge(TARGET, ProbeResult(kind, "it\nbroke"), self.policy)
            self.assertEqual((state, line), (CRITICAL, "WELCOME CRITICAL - it broke"))

    def test_certificate(self) -> None:
        """
        An expiring certificate warns or is critical, as its level says.
        """
        result = ProbeResult(
            CERTIFICATE,
            "soon",
            connectSeconds=0,
            welcomeSeconds=0,
            certificateLevel="critical",
        )
        self.assertEqual(judge(TARGET, result, self.policy)[0], CRITICAL)

    def test_perfdataAndUsage(self) -> None:
        """
        The perfdata has label, unit and five fields; usage is UNKNOWN.
        """
        self.assertEqual(
            timePerfdata(1.5, NagiosPolicy()), "time=1.500000s;;;0.000000;10.000000"
        )
        self.assertEqual(
            usageLine("bad | option"), "WELCOME UNKNOWN - bad \\x7c option"
        )
