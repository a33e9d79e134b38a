"""
Tests for L{welcome_protocol.client.options}: every new option, and one
line for every mistake.
"""

from __future__ import annotations

import io
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests import optionranges
from tests.certificates import makeCertificate
from tests.support import temporaryPath
from welcome_protocol.client.judge import CRITICAL, OK, WARNING
from welcome_protocol.client.options import Options
from welcome_protocol.client.script import parseArguments, usageStatus
from welcome_protocol.client.thresholds import Range
from welcome_protocol.client.tls import CertificateDays


class OptionsTests(TestCase):
    """
    Parsed values, and the usage errors.
    """

    def parse(self, *argv: str) -> Options:
        """
        Parse C{argv}, which must be valid.
        """
        config = parseArguments(argv, io.StringIO())
        assert config is not None
        return config

    def fails(self, *argv: str) -> str:
        """
        Parse C{argv}, expecting one line on stderr; return it.
        """
        stderr, stdout = io.StringIO(), io.StringIO()
        self.assertIsNone(parseArguments(argv, stderr, stdout))
        return stderr.getvalue() + stdout.getvalue()

    def test_positionalTarget(self) -> None:
        """
        C{HOST:PORT}, C{[::1]:PORT} and C{HOST} are one argument.
        """
        config = self.parse("example.org:1234")
        self.assertEqual((config["host"], config["port"]), ("example.org", 1234))
        config = self.parse("[::1]:12000")
        self.assertEqual((config["host"], config["port"]), ("::1", 12000))
        config = self.parse("--port", "99", "example.org")
        self.assertEqual((config["host"], config["port"]), ("example.org", 99))

    def test_optionsAfterTarget(self) -> None:
        """
        Options may follow the target, as with C{tcping} and C{check_tcp};
        they mean what they mean before it, C{--} still ends them, and an
        unknown one after the target is still a usage error (after C{--},
        a second target, which no host name can spell).
        """
        after = self.parse("example.org:1234", "--count", "3", "-i", "0.5", "--json")
        before = self.parse("--count", "3", "-i", "0.5", "--json", "example.org:1234")
        for key in ["host", "port", "count", "interval", "json"]:
            self.assertEqual(after[key], before[key], key)
        self.assertEqual(after["count"], 3)
        self.assertEqual(
            self.parse("--expect", "a", "h:1", "--expect", "b")["expect"], ["a", "b"]
        )
        self.assertIn("option --bogus not recognized", self.fails("h:1", "--bogus"))
        self.assertIn(
            "'--json' is not a valid host name: it starts with '-'",
            self.fails("--", "h:1", "--json"),
        )

    def test_positionalConflicts(self) -> None:
        """
        The positional target cannot be given twice.
        """
        self.assertIn("cannot be combined with --host", self.fails("-H", "a", "b"))
        self.assertIn("names a port; --port cannot too", self.fails("-p", "1", "a:2"))
        self.assertIn("is not HOST", self.fails("[::1"))
        self.assertIn("--port must be", self.fails("a:http"))

    def test_repeatableExpectations(self) -> None:
        """
        C{--expect} and C{--expect-regex} collect every value.
        """
        config = self.parse("-e", "a", "--expect", "b", "--expect-regex", "c+")
        self.assertEqual(config["expect"], ["a", "b"])
        self.assertEqual(config["expectations"].texts, ("a", "b"))
        self.assertEqual([p.pattern for p in config["expectations"].patterns], ["c+"])

    def test_badRegexIsUsageError(self) -> None:
        """
        A bad regular expression is a usage error naming it.
        """
        self.assertEqual(
            self.fails("--expect-regex", "[", "a"),
            "welcome-client: --expect-regex '[' is not a valid regular expression: "
            "unterminated character set at position 0 (see --help)\n",
        )

    def test_countAndInterval(self) -> None:
        """
        C{--count} is a whole number from 0; C{--interval} above 0, default 1.
        """
        config = self.parse("-n", "0", "a")
        self.assertEqual((config["count"], config["interval"]), (0, 1.0))
        self.assertIsNone(self.parse("a")["count"])
        self.assertIn("--count must be an integer", self.fails("-n", "-1", "a"))
        self.assertIn(
            "--interval must be a number from 0.001 to 86400",
            self.fails("-i", "0", "a"),
        )

    def test_nagiosValues(self) -> None:
        """
        Thresholds are ranges; C{--mismatch}/C{--refused} are states.
        """
        config = self.parse(
            "--nagios", "-w", "1:", "--critical", "@2:3", "-M", "ok", "a"
        )
        self.assertEqual(config["warning"], Range(1.0))
        self.assertEqual(config["critical"], Range(2.0, 3.0, True))
        self.assertEqual((config["mismatch"], config["refused"]), (OK, CRITICAL))
        config = self.parse("--nagios", "-r", "warn", "a")
        self.assertEqual((config["mismatch"], config["refused"]), (WARNING, WARNING))

    def test_nagiosUsageErrorIsUnknown(self) -> None:
        """
        With C{--nagios}, a usage error is an UNKNOWN line on stdout, and
        the status is 3.
        """
        stderr, stdout = io.StringIO(), io.StringIO()
        argv = ["--nagios", "--warning", "x", "a"]
        self.assertIsNone(parseArguments(argv, stderr, stdout))
        self.assertEqual(stderr.getvalue(), "")
        self.assertEqual(
            stdout.getvalue(),
            "WELCOME UNKNOWN - --warning 'x' is not a range such as 10, 10:, ~:10 "
            "or @10:20 (see --help)\n",
        )
        self.assertEqual((usageStatus(argv), usageStatus(["-x"])), (3, 2))

    def test_combinationsRefused(self) -> None:
        """
        Options that make no sense together are each named.
        """
        cases = {
            ("--json", "--nagios", "a"): "--json and --nagios cannot be combined",
            ("--nagios", "-n", "2", "a"): "--nagios makes one check",
            ("-4", "-6", "a"): "-4 and -6 cannot be combined",
            ("-6", "127.0.0.1"): "-6 cannot be used with the IPv4 address 127.0.0.1",
            ("-4", "::1"): "-4 cannot be used with the IPv6 address ::1",
            ("--sni", "x", "a"): "--sni needs --tls",
            ("--ca-file", "x", "a"): "--ca-file needs --tls",
            ("-D", "7", "a"): "--certificate-days needs --tls",
            ("-w", "1", "a"): "--warning needs --nagios",
            ("--nagios", "-M", "maybe", "a"): "--mismatch must be ok, warn or crit",
            (
                "--tls",
                "-c",
                "tcp:host=a:port=1",
            ): "--tls cannot be combined with --connect",
            ("--tls", "-D", "7,30", "a"): "CRIT days must not be above WARN days",
        }
        for argv, message in cases.items():
            self.assertIn(message, self.fails(*argv), argv)

    def test_tlsOptions(self) -> None:
        """
        C{--tls} with a readable C{--ca-file} and C{--certificate-days}.
        """
        cert, _ = makeCertificate(Path(temporaryPath(self)))
        config = self.parse("--tls", "--ca-file", str(cert), "-D", "30,7", "a")
        self.assertEqual(config["certificate-days"], CertificateDays(30, 7))
        missing = temporaryPath(self)
        self.assertIn(
            f"--ca-file {missing}: no such file or directory",
            self.fails("--tls", "--ca-file", missing, "a"),
        )


class OptionRangeTests(TestCase):
    """
    Every numeric option has a range; a value outside it is one line on
    stderr naming the option, the range and the value.
    """

    def test_withinRange(self) -> None:
        """
        The bounds of each range are accepted.
        """
        for entry in optionranges.CLIENT:
            for value in entry.accepted():
                stderr = io.StringIO()
                config = parseArguments([f"--{entry.option}", value, "a"], stderr)
                self.assertIsNotNone(config, stderr.getvalue())

    def test_outsideRange(self) -> None:
        """
        Values past either bound, absurd ones (1e308, NaN, infinity) and
        numbers not written in plain decimal are refused in one line.
        """
        for entry in optionranges.CLIENT:
            for value in entry.refused():
                stderr, stdout = io.StringIO(), io.StringIO()
                self.assertIsNone(
                    parseArguments([f"--{entry.option}", value, "a"], stderr, stdout)
                )
                self.assertEqual(
                    stderr.getvalue(),
                    f"welcome-client: {entry.error(value)} (see --help)\n",
                )


class CheckTCPCriticalTests(TestCase):
    """
    C{-c} stays C{--connect}; check_tcp's C{-c TIME} gets a line pointing to
    C{--critical} and C{check_welcome}.
    """

    def test_numberIsNotAnEndpoint(self) -> None:
        """
        C{welcome-client --nagios host -w 0.5 -c 1}, as a check_tcp user
        writes it: UNKNOWN, naming the way out.
        """
        stderr, stdout = io.StringIO(), io.StringIO()
        argv = ["--nagios", "host", "-w", "0.5", "-c", "1"]
        self.assertIsNone(parseArguments(argv, stderr, stdout))
        self.assertEqual(
            stdout.getvalue(),
            "WELCOME UNKNOWN - -c is --connect (an endpoint description), not a "
            "time: '1'; the critical time is --critical, or use check_welcome, "
            "which takes check_tcp's options (see --help)\n",
        )
        self.assertEqual(usageStatus(argv), 3)


class EpilogTests(TestCase):
    """
    The help's closing text names every mode and its exit statuses.
    """

    def test_manyPortsAndStatuses(self) -> None:
        """
        The many-ports mode and the interrupted runs' status are described.
        """
        text = " ".join(Options.longdesc.split())
        self.assertIn("Many ports (--ports, HOST:PORTS", text)
        self.assertIn("exit 0 only when every port was as expected", text)
        self.assertIn("exit 1 if one failed, or when interrupted", text)
