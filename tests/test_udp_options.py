"""
Tests for L{welcome_protocol.udp.options} and L{welcome_protocol.udp.settings}.
"""

from __future__ import annotations

from typing import Any

from twisted.python import usage
from twisted.trial.unittest import TestCase

from welcome_protocol.udp.options import PARAMETERS, datagramSettings
from welcome_protocol.udp.ratelimit import RateLimit
from welcome_protocol.udp.settings import DatagramSettings


class _Options(usage.Options):
    optParameters = PARAMETERS


def parse(*argv: str) -> DatagramSettings:
    """
    @return: The settings C{argv} gives.
    """
    options = _Options()
    options.parseOptions(list(argv))
    values: dict[str, Any] = dict(options)
    return datagramSettings(values)


class DatagramSettingsTests(TestCase):
    """
    The UDP options give L{DatagramSettings}, with documented defaults.
    """

    def test_defaults(self) -> None:
        """
        By default: 100 replies a second per prefix, bursts of 200; 1,000 a
        second in all, bursts of 2,000; /24 and /56 prefixes.
        """
        settings = parse()
        self.assertEqual(settings, DatagramSettings())
        self.assertEqual(settings.perPrefix, RateLimit(100.0, 200))
        self.assertEqual(settings.overall, RateLimit(1000.0, 2000))
        self.assertEqual((settings.ipv4Prefix, settings.ipv6Prefix), (24, 56))
        self.assertEqual(settings.tableSize, 16384)

    def test_everyOption(self) -> None:
        """
        Each option sets its limit.
        """
        settings = parse(
            "--udp-rate=2.5",
            "--udp-burst=3",
            "--udp-global-rate=40",
            "--udp-global-burst=50",
            "--udp-ipv4-prefix=32",
            "--udp-ipv6-prefix=64",
        )
        self.assertEqual(settings.perPrefix, RateLimit(2.5, 3))
        self.assertEqual(settings.overall, RateLimit(40.0, 50))
        self.assertEqual((settings.ipv4Prefix, settings.ipv6Prefix), (32, 64))

    def test_badValuesNamed(self) -> None:
        """
        A bad value is a usage error naming the option and the value.
        """
        cases = [
            (
                "--udp-rate=0",
                "--udp-rate must be a number from 0.001 to 1000000, not '0'",
            ),
            ("--udp-burst=0", "--udp-burst must be an integer from 1"),
            ("--udp-global-rate=x", "--udp-global-rate must be a number from 0.001"),
            (
                "--udp-ipv4-prefix=33",
                "--udp-ipv4-prefix must be an integer from 0 to 32",
            ),
            (
                "--udp-ipv6-prefix=129",
                "--udp-ipv6-prefix must be an integer from 0 to 128",
            ),
        ]
        for argument, message in cases:
            with self.assertRaises(usage.UsageError) as caught:
                parse(argument)
            self.assertIn(message, str(caught.exception))
