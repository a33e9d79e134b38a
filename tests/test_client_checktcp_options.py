"""
Tests for L{welcome_protocol.client.checktcp.options}: C{check_tcp}'s
command line with C{check_tcp}'s meanings.
"""

from __future__ import annotations

import io
import re
import subprocess

from twisted.trial.unittest import TestCase

from tests.support import _environment, installedScript
from welcome_protocol.client.checktcp.options import CheckTCPOptions
from welcome_protocol.client.checktcp.script import parseCheckArguments
from welcome_protocol.client.judge import CRITICAL, OK, WARNING
from welcome_protocol.client.thresholds import Range
from welcome_protocol.client.tls import CertificateDays
from welcome_protocol.shared.hostinfo import thisHostName


def parse(*argv: str) -> CheckTCPOptions:
    """
    Parse C{argv}, which must be valid.
    """
    config = parseCheckArguments(argv, io.StringIO())
    assert config is not None
    return config


def fails(*argv: str) -> str:
    """
    Parse C{argv}, which must fail; return the UNKNOWN line.
    """
    out = io.StringIO()
    assert parseCheckArguments(argv, out) is None
    return out.getvalue()


class CheckTCPOptionsTests(TestCase):
    """
    Every option C{check_tcp} shares.
    """

    def test_defaults(self) -> None:
        """
        The welcome's defaults: port 12000, 10 s, check_tcp's states.
        """
        config = parse("-H", "h")
        self.assertEqual(
            (config["port"], config["timeout"], config["refuse"], config["mismatch"]),
            (12000, 10.0, CRITICAL, WARNING),
        )
        self.assertEqual(
            (config["send"], config["quit"], config["tls"]), (b"", b"", False)
        )
        self.assertFalse(config["expectations"].any)

    def test_shortAndLong(self) -> None:
        """
        Short and long names, as check_tcp spells them.
        """
        short = parse(
            "-H",
            "h",
            "-p",
            "80",
            "-4",
            "-w",
            "0.5",
            "-c",
            "2",
            "-t",
            "3",
            "-m",
            "100",
            "-r",
            "warn",
            "-M",
            "crit",
            "-j",
            "-v",
            "-d",
            "1",
        )
        long = parse(
            "--hostname=h",
            "--port=80",
            "--use-ipv4",
            "--warning=0.5",
            "--critical=2",
            "--timeout=3",
            "--maxbytes=100",
            "--refuse=warn",
            "--mismatch=crit",
            "--jail",
            "--verbose",
            "--delay=1",
        )
        for key in (
            "hostname",
            "port",
            "family",
            "warning",
            "critical",
            "timeout",
            "maxbytes",
            "refuse",
            "mismatch",
            "jail",
            "verbose",
        ):
            self.assertEqual(short[key], long[key], key)
        self.assertEqual(short["warning"], Range.parse("0.5"))
        self.assertEqual(
            (short["family"], short["refuse"], short["mismatch"]),
            (4, WARNING, CRITICAL),
        )

    def test_stateNamesByPrefix(self) -> None:
        """
        As check_tcp, C{-r} and C{-M} read the start of the word.
        """
        config = parse("-H", "h", "-r", "okay", "-M", "warning")
        self.assertEqual((config["refuse"], config["mismatch"]), (OK, WARNING))

    def test_expectAnyOrAll(self) -> None:
        """
        Several C{-e}: any one will do, or every one with C{-A}.
        """
        anyOne = parse("-H", "h", "-e", "a", "-e", "b")["expectations"]
        self.assertTrue(anyOne.met("xb"))
        self.assertFalse(anyOne.met("x"))
        every = parse("-H", "h", "-e", "a", "-e", "b", "-A")["expectations"]
        self.assertFalse(every.met("xb"))
        self.assertTrue(every.met("ab"))
        special = parse("-H", "h", "-e", "a.b", "-e", "(")["expectations"]
        self.assertFalse(special.met("axb"))
        self.assertTrue(special.met("x(x"))

    def test_sendAndQuit(self) -> None:
        """
        C{-q} gets C{\\r\\n}; C{-E} reads escapes in the strings after it,
        and then adds nothing.
        """
        config = parse("-H", "h", "-s", "a\\n", "-q", "b")
        self.assertEqual((config["send"], config["quit"]), (b"a\\n", b"b\r\n"))
        config = parse("-H", "h", "-E", "-s", "a\\n\\t\\\\\\x", "-q", "b\\r")
        self.assertEqual((config["send"], config["quit"]), (b"a\n\t\\x", b"b\r"))

    def test_tlsImplied(self) -> None:
        """
        C{-S}, C{--sni} and C{-D} each ask for TLS, as in check_tcp.
        """
        self.assertTrue(parse("-H", "h", "-S")["tls"])
        self.assertTrue(parse("-H", "h", "--sni", "example.org")["tls"])
        config = parse("-H", "h", "-D", "30,7")
        self.assertTrue(config["tls"])
        self.assertEqual(config["certificate"], CertificateDays(30, 7))

    def test_hostAsFirstArgument(self) -> None:
        """
        As check_tcp: the host may be the first argument (the line then
        names only the port), or follow the options; C{-H} wins.
        """
        first = parse("h", "-p", "1")
        self.assertEqual((first["hostname"], first["positional"]), ("h", True))
        last = parse("-p", "1", "h")
        self.assertEqual((last["hostname"], last["port"]), ("h", 1))
        both = parse("g", "-H", "h")
        self.assertEqual((both["hostname"], both["positional"]), ("h", False))

    def test_unixSocket(self) -> None:
        """
        A path is a UNIX socket; TLS does not apply to it.
        """
        self.assertTrue(parse("-H", "/run/welcome.sock")["unix"])
        self.assertIn("-S cannot be used with a UNIX socket", fails("-H", "/s", "-S"))

    def test_noHostIsThisHost(self) -> None:
        """
        Without C{-H}, this host is checked (C{check_tcp} checks the local
        host), by its name, as C{welcome-client} does.
        """
        self.assertEqual(parse("-p", "12000")["hostname"], thisHostName())

    def test_mistakesAreUnknown(self) -> None:
        """
        Each mistake is one UNKNOWN line naming it.
        """
        for argv, message in [
            (["-H", "h", "-p", "0"], "--port must be an integer from 1 to 65535"),
            (["-H", "h", "-t", "0"], "--timeout must be"),
            (
                ["-H", "h", "-r", "maybe"],
                "-r must be one of ok, warn, crit, not 'maybe'",
            ),
            (["-H", "h", "-w", "fast"], "--warning 'fast' is not a range"),
            (["-H", "h", "-d", "0"], "--delay must be an integer"),
            (["-H", "h", "-D", "x"], "--certificate 'x' is not WARN or WARN,CRIT"),
            (["-H", "h", "-4", "-6"], "-4 and -6 cannot be combined"),
            (["-H", "::1", "-4"], "-4 cannot be used with the IPv6 address ::1"),
            (["-H", "a..b"], "-H 'a..b' is not a valid host name"),
            (["-H", "h", "--sni", "a_b"], "--sni 'a_b' is not a valid host name"),
            (["-H", "h", "--ca-file", "x"], "--ca-file needs -S"),
            (["-H", "h", "-x"], "option -x not recognized"),
        ]:
            line = fails(*argv)
            self.assertTrue(line.startswith("WELCOME UNKNOWN - "), line)
            self.assertIn(message, line)
            self.assertEqual(line.count("\n"), 1)


class HelpTests(TestCase):
    """
    C{check_welcome --help}, as the installed program prints it.
    """

    def test_tidy(self) -> None:
        """
        No line is longer than 80 characters (the usage line was about
        330), and no text has runs of spaces inside it.
        """
        result = subprocess.run(
            [installedScript("check_welcome"), "--help"],
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        lines = result.stdout.splitlines()
        self.assertTrue(lines[0].startswith("Usage: check_welcome [-H host]"))
        self.assertEqual([line for line in lines if len(line) > 80], [])
        self.assertEqual(
            [line for line in lines if re.search(r"\S {2,}\S", line[22:])], []
        )
