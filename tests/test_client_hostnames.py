"""
Tests for L{welcome_protocol.client.hostnames}, and for the one line a name
that cannot be encoded gives in each of the client's modes.
"""

from __future__ import annotations

import io
import json

from twisted.trial.unittest import TestCase

from welcome_protocol.client.hostnames import (
    checkHostName,
    checkServerName,
    hostNameProblem,
)
from welcome_protocol.client.script import parseArguments, usageStatus

BAD_NAMES = ["a..b", ".a", "a" * 64 + ".example", "\udcff"]
"""
Names IDNA rejects: empty labels, a label over 63 characters, and the lone
surrogate a C{\\xff} byte on the command line becomes.
"""


class CheckHostNameTests(TestCase):
    """
    L{checkHostName} and L{checkServerName}.
    """

    def test_goodNamesPass(self) -> None:
        """
        Names, internationalized names, trailing dots and IP addresses pass.
        """
        for name in ["example.org", "bücher.de", "a.b.", "127.0.0.1", "::1"]:
            self.assertIsNone(checkHostName(name), name)
        for name in ["example.org", "bücher.de", "127.0.0.1", "::1"]:
            self.assertIsNone(checkServerName(name), name)

    def test_badNamesSayWhy(self) -> None:
        """
        Every bad name is refused with the encoder's reason, in one line.
        """
        for name in BAD_NAMES:
            for check in (checkHostName, checkServerName):
                reason = check(name)
                assert reason is not None, (check, name)
                self.assertNotIn("\n", reason)
        self.assertEqual(checkHostName("a..b"), "label empty or too long")
        self.assertEqual(checkHostName("  "), "it is empty")

    def test_serverNameIsStricter(self) -> None:
        """
        The TLS server name is checked as Twisted's TLS options encode it,
        which refuses C{_}, unlike the resolver's encoding.
        """
        self.assertIsNone(checkHostName("my_host"))
        self.assertIsNotNone(checkServerName("my_host"))

    def test_problemNamesOption(self) -> None:
        """
        The usage error names the option and quotes the name.
        """
        self.assertEqual(
            hostNameProblem("--host", "a..b"),
            "--host 'a..b' is not a valid host name: label empty or too long",
        )
        self.assertIsNone(hostNameProblem("--host", "example.org"))


class ModesTests(TestCase):
    """
    A bad name is a usage error in every mode: one line, the mode's status.
    """

    def parse(self, *argv: str) -> tuple[str, str]:
        """
        Parse C{argv}, which must fail; return stdout and stderr.
        """
        stdout, stderr = io.StringIO(), io.StringIO()
        self.assertIsNone(parseArguments(argv, stderr, stdout))
        return stdout.getvalue(), stderr.getvalue()

    def test_default(self) -> None:
        """
        The default mode: one line on stderr, status 2.
        """
        for name in BAD_NAMES:
            for argv in ([f"{name}:12000"], ["--tls", "--sni", name, "127.0.0.1"]):
                stdout, stderr = self.parse(*argv)
                self.assertEqual(stdout, "")
                self.assertEqual(stderr.count("\n"), 1, stderr)
                self.assertIn("is not a valid host name", stderr)
                self.assertEqual(usageStatus(argv), 2)

    def test_nagios(self) -> None:
        """
        C{--nagios}: an UNKNOWN line on stdout, status 3.
        """
        for name in BAD_NAMES:
            argv = ["--nagios", f"{name}:12000"]
            stdout, stderr = self.parse(*argv)
            self.assertEqual(stderr, "")
            self.assertTrue(stdout.startswith("WELCOME UNKNOWN - --host "), stdout)
            self.assertEqual(stdout.count("\n"), 1)
            self.assertEqual(usageStatus(argv), 3)

    def test_json(self) -> None:
        """
        C{--json}: a JSON line on stdout as well as the line on stderr.
        """
        for name in BAD_NAMES:
            stdout, stderr = self.parse("--json", "--host", name)
            self.assertEqual(stderr.count("\n"), 1)
            obj = json.loads(stdout)
            self.assertEqual(
                (obj["type"], obj["kind"], obj["exit_status"]), ("error", "usage", 2)
            )
            self.assertIn("is not a valid host name", obj["reason"])
