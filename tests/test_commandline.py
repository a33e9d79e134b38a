"""
Tests for L{welcome_protocol.shared.commandline}: option values both commands share.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twisted.python.usage import UsageError
from twisted.trial.unittest import TestCase

from twisted import __version__ as twistedVersion
from welcome_protocol import __version__
from welcome_protocol.shared.commandline import (
    LONGEST_COUNT,
    SHORTEST_SECONDS,
    parseCount,
    parsePort,
    parsePositive,
    parseSeconds,
    versionText,
)


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


NOT_PLAIN_DECIMAL = [
    "nan",
    "inf",
    "-inf",
    "+2",
    "1_0",
    "0x10",
    "ten",
    "",
    "\u0661",
    "2s",
]
"""
Text that Python's C{float()} or C{int()} may read, but that is not a number
written in plain ASCII decimal: refused by every numeric option.
"""


class ParsePositiveTests(TestCase):
    """
    L{parsePositive} takes numbers from the shortest duration (or 1) up to a
    maximum.
    """

    def test_accepted(self) -> None:
        """
        Decimal and fractional values in range are read as given, the
        bounds included.
        """
        for text, kind, value in [
            ("0.5", float, 0.5),
            ("1e1", float, 10.0),
            ("0.001", float, SHORTEST_SECONDS),
            ("60", float, 60.0),
            ("10", int, 10),
            ("1", int, 1),
            ("100", int, 100),
        ]:
            self.assertEqual(parsePositive("--x", text, kind, 100), value)

    def test_rejected(self) -> None:
        """
        Zero, negatives, values past either bound, NaN, infinity and words
        are usage errors naming the option, the range and the value.
        """
        for bad in ["0", "-2", "0.0009", "61", "1e308", *NOT_PLAIN_DECIMAL]:
            with self.assertRaises(UsageError) as caught:
                parsePositive("--timeout", bad, float, 60)
            self.assertEqual(
                str(caught.exception),
                f"--timeout must be a number from 0.001 to 60, not {bad!r}",
            )
        for bad in ["0", "1.5", "1025", *NOT_PLAIN_DECIMAL]:
            with self.assertRaises(UsageError) as caught:
                parsePositive("--max-bytes", bad, int, 1024)
            self.assertEqual(
                str(caught.exception),
                f"--max-bytes must be an integer from 1 to 1024, not {bad!r}",
            )

    @given(st.text())
    def test_anythingElseRejected(self, text: str) -> None:
        """
        Any text gives a finite number within the range, or a usage error;
        never another exception.
        """
        try:
            value = parsePositive("--x", text, float, 86400)
        except UsageError:
            return
        self.assertTrue(SHORTEST_SECONDS <= value <= 86400, value)


class ParseSecondsTests(TestCase):
    """
    L{parseSeconds} takes 0, or a duration from a millisecond to a maximum.
    """

    def test_accepted(self) -> None:
        """
        0 and the values in range are read as given.
        """
        for text, value in [("0", 0.0), ("0.0", 0.0), ("0.001", 0.001), ("2.5", 2.5)]:
            self.assertEqual(parseSeconds("idle-timeout", text, 3600), value)
        self.assertEqual(parseSeconds("idle-timeout", "3600", 3600), 3600.0)

    def test_rejected(self) -> None:
        """
        Negatives, values between 0 and a millisecond, past the maximum
        (1e308 among them), and anything not plain decimal are usage errors
        naming the option, the range and the value.
        """
        for bad in ["-1", "1e-9", "3600.5", "1e308", "1e400", *NOT_PLAIN_DECIMAL]:
            with self.assertRaises(UsageError) as caught:
                parseSeconds("idle-timeout", bad, 3600)
            self.assertEqual(
                str(caught.exception),
                "--idle-timeout must be 0 or a number of seconds from 0.001 to "
                f"3600, not {bad!r}",
            )


class ParseCountTests(TestCase):
    """
    L{parseCount} takes whole numbers in a range.
    """

    def test_bounds(self) -> None:
        """
        Both bounds are in range; one past either is refused, as are
        signs, underscores and non-ASCII digits.
        """
        self.assertEqual(parseCount("workers", "0", 0, LONGEST_COUNT), 0)
        self.assertEqual(
            parseCount("workers", str(LONGEST_COUNT), 0, LONGEST_COUNT), LONGEST_COUNT
        )
        for bad in ["-1", str(LONGEST_COUNT + 1), "1.0", *NOT_PLAIN_DECIMAL]:
            with self.assertRaises(UsageError) as caught:
                parseCount("workers", bad, 0, LONGEST_COUNT)
            self.assertEqual(
                str(caught.exception),
                f"--workers must be an integer from 0 to {LONGEST_COUNT}, not {bad!r}",
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
