"""
Tests for L{welcome_protocol.client.checktcp.output}: C{check_tcp}'s lines.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.client.checktcp.output import Where, checkLine, verboseLines
from welcome_protocol.client.judge import CRITICAL, OK, WARNING, NagiosPolicy
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.thresholds import Range

WHERE = Where("127.0.0.1", 12000)


def welcome(
    kind: str | None = None, text: bytes = b"Welcome!\r\n", reason: str = ""
) -> ProbeResult:
    """
    A result with a welcome 0.25 s after the start.
    """
    return ProbeResult(kind, "", reason, "127.0.0.1", 0.2, 0.05, text)


class CheckLineTests(TestCase):
    """
    L{checkLine}.
    """

    def test_ok(self) -> None:
        """
        C{check_tcp}'s OK line, with the welcome in brackets (or not, with
        C{-j}), and the perfdata.
        """
        policy = NagiosPolicy(
            warning=Range.parse("1"), critical=Range.parse("2"), timeout=5
        )
        self.assertEqual(
            checkLine(WHERE, welcome(), policy, False),
            (
                OK,
                "WELCOME OK - 0.250 second response time on 127.0.0.1 port 12000 "
                "[Welcome!]|time=0.250000s;1.000000;2.000000;0.000000;5.000000",
            ),
        )
        _, line = checkLine(Where("h", 1, False), welcome(), policy, True)
        self.assertTrue(
            line.startswith("WELCOME OK - 0.250 second response time on port 1|")
        )

    def test_thresholds(self) -> None:
        """
        C{-c} before C{-w}.
        """
        both = NagiosPolicy(warning=Range.parse("0.1"), critical=Range.parse("0.2"))
        self.assertEqual(checkLine(WHERE, welcome(), both, False)[0], CRITICAL)
        warn = NagiosPolicy(warning=Range.parse("0.1"), critical=Range.parse("1"))
        self.assertEqual(checkLine(WHERE, welcome(), warn, False)[0], WARNING)

    def test_mismatch(self) -> None:
        """
        The C{-M} state unless the time is critical; the thresholds are
        left out of the perfdata, as C{check_tcp} does; C{-j} names the
        server instead of quoting the welcome.
        """
        policy = NagiosPolicy(warning=Range.parse("0.1"), mismatch=OK)
        result = welcome("mismatch", b"Go away|now\n")
        self.assertEqual(
            checkLine(WHERE, result, policy, False),
            (
                OK,
                "WELCOME OK - Unexpected response from host/socket: Go away\\x7cnow"
                "|time=0.250000s;;;0.000000;10.000000",
            ),
        )
        self.assertIn(
            "Unexpected response from host/socket on 127.0.0.1 port 12000|",
            checkLine(WHERE, result, policy, True)[1],
        )
        critical = NagiosPolicy(critical=Range.parse("0.1"), mismatch=OK)
        self.assertEqual(checkLine(WHERE, result, critical, False)[0], CRITICAL)

    def test_failures(self) -> None:
        """
        Each failure in C{check_tcp}'s words, after the service and state.
        """
        policy = NagiosPolicy(refused=WARNING, timeout=3)
        for result, where, expected in [
            (
                ProbeResult("refused"),
                WHERE,
                (
                    WARNING,
                    "connect to address 127.0.0.1 and port 12000: Connection refused",
                ),
            ),
            (
                ProbeResult("timeout"),
                WHERE,
                (CRITICAL, "Socket timeout after 3 seconds"),
            ),
            (
                ProbeResult("closed_without_welcome"),
                WHERE,
                (CRITICAL, "No data received from host"),
            ),
            (
                ProbeResult("dns"),
                Where("nowhere.invalid", 1),
                (CRITICAL, "Invalid hostname, address or socket: nowhere.invalid"),
            ),
            (
                ProbeResult("tls", reason="TLS handshake failed: x"),
                WHERE,
                (CRITICAL, "Cannot make SSL connection: TLS handshake failed: x"),
            ),
            (
                ProbeResult("unreachable", reason="no route to host"),
                WHERE,
                (
                    CRITICAL,
                    "connect to address 127.0.0.1 and port 12000: no route to host",
                ),
            ),
            (
                ProbeResult("unreachable", reason="gone"),
                Where("/s", 0, unix=True),
                (CRITICAL, "connect to file socket /s: gone"),
            ),
        ]:
            state, line = checkLine(where, result, policy, False)
            names = {WARNING: "WARNING", CRITICAL: "CRITICAL"}
            self.assertEqual(
                (state, line),
                (expected[0], f"WELCOME {names[expected[0]]} - {expected[1]}"),
            )

    def test_certificate(self) -> None:
        """
        An expiring certificate: WARNING or CRITICAL, with the perfdata.
        """
        result = ProbeResult(
            "certificate",
            "",
            "certificate expires in 2.0 days",
            "a",
            0.1,
            0.1,
            b"Hi",
            certificateLevel="warning",
        )
        state, line = checkLine(WHERE, result, NagiosPolicy(), False)
        self.assertEqual(state, WARNING)
        self.assertTrue(
            line.startswith("WELCOME WARNING - certificate expires in 2.0 days|time=")
        )

    def test_verbose(self) -> None:
        """
        C{-v}'s lines name the server, what was sent and received.
        """
        lines = verboseLines(WHERE, welcome(), b"PING")
        self.assertEqual(
            lines,
            [
                "Server: 127.0.0.1 port 12000",
                "Address: 127.0.0.1",
                "Sent: b'PING'",
                "Connected after 0.200000 s",
                "Received 10 bytes: b'Welcome!\\r\\n'",
            ],
        )
