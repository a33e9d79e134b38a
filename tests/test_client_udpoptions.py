"""
Tests for L{welcome_protocol.client.udpoptions}: C{--udp}, C{--retries} and
C{--pad} on the client's command line.
"""

from __future__ import annotations

import io

from twisted.trial.unittest import TestCase

from welcome_protocol.client.options import Options
from welcome_protocol.client.script import parseArguments, usageStatus


class UDPOptionsTests(TestCase):
    """
    The UDP options are checked with the others, in one line each.
    """

    def parse(self, *argv: str) -> tuple[Options | None, str]:
        """
        @return: The parsed options (or L{None}) and what went to stderr.
        """
        err = io.StringIO()
        return parseArguments(list(argv), err), err.getvalue()

    def test_defaults(self) -> None:
        """
        C{--udp} alone: two retries, a 1,200-byte probe, the default port.
        """
        config, _ = self.parse("--udp", "127.0.0.1")
        assert config is not None
        self.assertEqual(
            (config["udp"], config["retries"], config["pad"], config["port"]),
            (True, 2, 1200, 12000),
        )

    def test_values(self) -> None:
        """
        C{--retries} and C{--pad} take whole numbers, after the target too.
        """
        config, _ = self.parse("-u", "127.0.0.1:53", "--retries", "0", "--pad", "512")
        assert config is not None
        self.assertEqual(
            (config["retries"], config["pad"], config["port"]), (0, 512, 53)
        )

    def test_badValues(self) -> None:
        """
        Values out of range are named.
        """
        for argv, message in [
            (("--pad", "0"), "--pad must be an integer from 1 to 65507, not '0'"),
            (("--pad", "70000"), "--pad must be an integer from 1 to 65507"),
            (("--retries", "-1"), "--retries must be an integer from 0 to 100"),
        ]:
            config, err = self.parse("--udp", *argv, "127.0.0.1")
            self.assertIsNone(config)
            self.assertIn(message, err)

    def test_checkedWithoutUDP(self) -> None:
        """
        Without C{--udp}, C{--retries} and C{--pad} are still checked (they
        have no effect over TCP).
        """
        config, err = self.parse("--pad", "0", "127.0.0.1")
        self.assertIsNone(config)
        self.assertIn("--pad must be an integer from 1 to 65507", err)
        config, _ = self.parse("--pad", "100", "127.0.0.1")
        self.assertIsNotNone(config)

    def test_notWithTCPOptions(self) -> None:
        """
        TLS and endpoint descriptions are TCP's; with C{--udp} they are a
        usage error (status 2, or 3 with C{--nagios}).
        """
        for argv in (("--tls",), ("--connect", "tcp:host=a:port=1")):
            config, err = self.parse("--udp", *argv)
            self.assertIsNone(config)
            self.assertIn("cannot be combined with --udp", err)
        self.assertEqual(usageStatus(["--udp", "--tls"]), 2)
