"""
Tests for the outputs of a scan: L{welcome_protocol.client.scan.summary},
L{table}, L{jsonlines} and L{nagios}.
"""

from __future__ import annotations

import datetime
import io
import json

from twisted.trial.unittest import TestCase

from welcome_protocol.client.judge import CRITICAL, OK, WARNING, NagiosPolicy
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.scan.jsonlines import ScanJSONOutput
from welcome_protocol.client.scan.nagios import judgeScan
from welcome_protocol.client.scan.plan import PortCheck
from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.summary import ScanSummary
from welcome_protocol.client.scan.table import tableLines
from welcome_protocol.client.thresholds import Range

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def welcomed(
    port: int, seconds: float = 0.002, host: str = "h", text: bytes = b"Hi!"
) -> PortResult:
    """
    A port that welcomed.
    """
    result = ProbeResult(None, "", "", "192.0.2.1", seconds / 2, seconds / 2, text)
    return PortResult(PortCheck(0, host, port, False), "192.0.2.1", result, seconds)


def refused(port: int, expectClosed: bool = False, host: str = "h") -> PortResult:
    """
    A port that refused.
    """
    result = ProbeResult("refused", "cannot connect", "connection refused")
    return PortResult(
        PortCheck(0, host, port, expectClosed), "192.0.2.1", result, 0.0004
    )


def mismatch(port: int) -> PortResult:
    """
    A port whose welcome failed C{--expect}.
    """
    result = ProbeResult(
        "mismatch", "", "unexpected welcome: 'No'", "192.0.2.1", 0.001, 0.001, b"No"
    )
    return PortResult(PortCheck(0, "h", port, False), "192.0.2.1", result, 0.002)


RESULTS = [
    welcomed(80),
    refused(22, expectClosed=True),
    refused(8080),
    welcomed(443, 1.5),
]


class SummaryTests(TestCase):
    """
    L{ScanSummary}.
    """

    def test_counts(self) -> None:
        """
        Ports, hosts, every state (zero ones too), the unexpected sorted by
        port, and the slowest welcome.
        """
        summary = ScanSummary.of(RESULTS, 2.0, False)
        self.assertEqual((summary.ports, summary.hosts, summary.expected), (4, 1, 3))
        self.assertEqual(
            summary.states,
            {
                "welcomed": 2,
                "refused": 2,
                "timeout": 0,
                "mismatch": 0,
                "closed": 0,
                "silent": 0,
            },
        )
        self.assertEqual([r.check.port for r in summary.unexpected], [8080])
        self.assertEqual(summary.slowest, 1.5)
        self.assertFalse(summary.allExpected)
        self.assertEqual(
            summary.line(),
            "4 ports on 1 host in 2.00 s: 3 as expected, 1 not (2 welcomed, 2 refused)",
        )

    def test_allExpected(self) -> None:
        """
        Every port as expected: success, unless interrupted or empty.
        """
        good = RESULTS[:2]
        self.assertTrue(ScanSummary.of(good, 1, False).allExpected)
        self.assertFalse(ScanSummary.of(good, 1, True).allExpected)
        self.assertFalse(ScanSummary.of([], 1, False).allExpected)


class TableTests(TestCase):
    """
    L{tableLines}.
    """

    def test_table(self) -> None:
        """
        Sorted by port, aligned, the welcome quoted, the unexpected marked,
        then the summary.
        """
        lines = tableLines(RESULTS, ScanSummary.of(RESULTS, 2.0, False))
        self.assertEqual(
            lines,
            [
                "Ports of h (192.0.2.1):",
                "PORT  STATE     TIME    WELCOME",
                "22    refused   0.4 ms  connection refused (expected closed)",
                "80    welcomed  2.0 ms  'Hi!'",
                "443   welcomed  1.50 s  'Hi!'",
                "8080  refused   0.4 ms  connection refused  <- expected a welcome",
                "",
                "4 ports on 1 host in 2.00 s: 3 as expected, 1 not "
                "(2 welcomed, 2 refused)",
            ],
        )

    def test_severalHosts(self) -> None:
        """
        With several hosts, each row names its host and port.
        """
        results = [
            welcomed(1, host="b"),
            welcomed(1, host="[x"),
            welcomed(2, host="::1"),
        ]
        lines = tableLines(results, ScanSummary.of(results, 1.0, False))
        self.assertEqual(
            [line.split()[0] for line in lines[1:4]], ["b:1", "[x:1", "[::1]:2"]
        )

    def test_hostileWelcome(self) -> None:
        """
        A welcome with control characters is escaped and cut.
        """
        results = [welcomed(1, text=b"\x1b[31mred\n" + b"x" * 100)]
        row = tableLines(results, ScanSummary.of(results, 1.0, False))[2]
        self.assertIn("'\\x1b[31mred\\nxxx", row)
        self.assertTrue(row.endswith("'..."))
        self.assertNotIn("\x1b", row)


class JSONTests(TestCase):
    """
    L{ScanJSONOutput}.
    """

    def test_lines(self) -> None:
        """
        An object per port, sorted, with the attempt's fields and the scan's
        own; then the summary object.
        """
        out = io.StringIO()
        ScanJSONOutput(out, lambda: NOW).report(
            RESULTS, ScanSummary.of(RESULTS, 2.0, False)
        )
        objects = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual([o["port"] for o in objects[:-1]], [22, 80, 443, 8080])
        first = objects[0]
        self.assertEqual(
            {
                k: first[k]
                for k in (
                    "type",
                    "host",
                    "address",
                    "state",
                    "kind",
                    "reason",
                    "expect_closed",
                    "as_expected",
                    "seconds",
                    "ok",
                )
            },
            {
                "type": "port",
                "host": "h",
                "address": "192.0.2.1",
                "state": "refused",
                "kind": "refused",
                "reason": "connection refused",
                "expect_closed": True,
                "as_expected": True,
                "seconds": 0.0004,
                "ok": False,
            },
        )
        self.assertNotIn("attempt", first)
        self.assertEqual(objects[1]["welcome"], "Hi!")
        self.assertEqual(
            objects[-1],
            {
                "type": "scan_summary",
                "ports": 4,
                "hosts": 1,
                "as_expected": 3,
                "unexpected": 1,
                "states": {
                    "welcomed": 2,
                    "refused": 2,
                    "timeout": 0,
                    "mismatch": 0,
                    "closed": 0,
                    "silent": 0,
                },
                "slowest_welcome_seconds": 1.5,
                "seconds": 2.0,
                "interrupted": False,
            },
        )


class NagiosTests(TestCase):
    """
    L{judgeScan}.
    """

    def test_ok(self) -> None:
        """
        Every port as expected: OK, the counts, the perfdata.
        """
        good = RESULTS[:2]
        state, line = judgeScan(ScanSummary.of(good, 1.0, False), NagiosPolicy())
        self.assertEqual(state, OK)
        self.assertEqual(
            line,
            "WELCOME OK - 2 ports as expected (1 welcomed, 1 refused), slowest welcome "
            "0.002 s|ports=2;;;0; unexpected=0;;;0;2 welcomed=1;;;0;2 refused=1;;;0;2 "
            "timeout=0;;;0;2 mismatch=0;;;0;2 closed=0;;;0;2 silent=0;;;0;2 "
            "time=0.002000s;;;0.000000;10.000000",
        )

    def test_states(self) -> None:
        """
        A refusal takes C{--refused}'s state, a mismatch C{--mismatch}'s, a
        welcome from a port expected closed is CRITICAL; the worst wins;
        the thresholds judge the slowest welcome.
        """
        policy = NagiosPolicy(refused=WARNING, mismatch=OK)
        for results, expected in [
            ([welcomed(1), refused(2)], WARNING),
            ([welcomed(1), mismatch(2)], OK),
            ([welcomed(1, host="h"), mismatch(2), refused(3)], WARNING),
            (
                [PortResult(PortCheck(0, "h", 1, True), "x", welcomed(1).result, 0.1)],
                CRITICAL,
            ),
        ]:
            state, _ = judgeScan(ScanSummary.of(results, 1.0, False), policy)
            self.assertEqual(state, expected, results)
        slow = ScanSummary.of([welcomed(1, 3.0)], 3.0, False)
        self.assertEqual(
            judgeScan(slow, NagiosPolicy(warning=Range.parse("2")))[0], WARNING
        )
        self.assertEqual(
            judgeScan(slow, NagiosPolicy(critical=Range.parse("2")))[0], CRITICAL
        )
        self.assertEqual(
            judgeScan(ScanSummary.of([], 0.1, True), NagiosPolicy())[0], CRITICAL
        )

    def test_namesUnexpected(self) -> None:
        """
        The line names the first five unexpected ports, then C{...}; one
        line, whatever the count.
        """
        results = [refused(p) for p in range(1, 9)]
        _, line = judgeScan(ScanSummary.of(results, 1.0, False), NagiosPolicy())
        self.assertIn(
            "8 of 8 ports not as expected: h:1 refused, h:2 refused, h:3 refused, "
            "h:4 refused, h:5 refused, ... (8 refused)|",
            line,
        )
        self.assertNotIn("\n", line)
