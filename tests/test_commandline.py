"""
Tests for L{welcome_protocol.commandline}: option values both commands share.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.python.usage import UsageError
from twisted.trial.unittest import TestCase

from twisted import __version__ as twistedVersion
from welcome_protocol import __version__
from welcome_protocol.commandline import parsePort, parsePositive, versionText


class ParsePortTests(TestCase):
    """
    L{parsePort} accepts exactly the decimal port numbers.
    """

    @given(st.integers(min_value=0, max_value=65535))
    def test_validPorts(self, port: int) -> None:
        """
        Every decimal number from 0 to 65535 is its own port.
        """
        self.assertEqual(parsePort(str(port)), port)

    @given(st.text())
    def test_anythingElseRejected(self, text: str) -> None:
        """
        Any text is either a port in range written in ASCII digits, or a
        usage error; never another exception.
        """
        try:
            port = parsePort(text)
        except UsageError:
            return
        self.assertTrue(text.strip().isascii() and text.strip().isdigit())
        self.assertTrue(0 <= port <= 65535)

    def test_clientMinimum(self) -> None:
        """
        With C{minimum=1}, port 0 is refused (a client cannot connect to it).
        """
        with self.assertRaises(UsageError):
            parsePort("0", minimum=1)


class ParsePositiveTests(TestCase):
    """
    L{parsePositive} takes finite numbers above 0.
    """

    def test_accepted(self) -> None:
        """
        Decimal and fractional values above 0 are read as given.
        """
        self.assertEqual(parsePositive("--timeout", "0.5", float), 0.5)
        self.assertEqual(parsePositive("--max-bytes", "10", int), 10)

    def test_rejected(self) -> None:
        """
        Zero, negatives, NaN, infinity and words are usage errors naming
        the option and the value.
        """
        for bad in ["0", "-2", "nan", "inf", "-inf", "ten", ""]:
            with self.assertRaises(UsageError) as caught:
                parsePositive("--timeout", bad, float)
            self.assertEqual(
                str(caught.exception),
                f"--timeout must be a number above 0, not {bad!r}",
            )
        with self.assertRaises(UsageError) as caught:
            parsePositive("--max-bytes", "1.5", int)
        self.assertEqual(
            str(caught.exception),
            "--max-bytes must be a whole number above 0, not '1.5'",
        )


class VersionTextTests(TestCase):
    """
    L{versionText} names both versions.
    """

    def test_versions(self) -> None:
        """
        This project's version and Twisted's.
        """
        self.assertEqual(
            versionText(), f"welcome-protocol {__version__} (Twisted {twistedVersion})"
        )
