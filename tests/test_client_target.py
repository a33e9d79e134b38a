"""
Tests for L{welcome_protocol.client.target}: positional addresses and the
address family.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.client.target import (
    addressFamily,
    describeTarget,
    splitHostPort,
)


class SplitHostPortTests(TestCase):
    """
    One argument names the host and maybe the port.
    """

    def test_forms(self) -> None:
        """
        C{HOST}, C{HOST:PORT}, C{[ADDRESS]:PORT}, C{[ADDRESS]} and a bare
        IPv6 address.
        """
        self.assertEqual(splitHostPort("example.org"), ("example.org", None))
        self.assertEqual(splitHostPort("example.org:12000"), ("example.org", "12000"))
        self.assertEqual(splitHostPort("[::1]:12000"), ("::1", "12000"))
        self.assertEqual(splitHostPort("[::1]"), ("::1", None))
        self.assertEqual(splitHostPort("::1"), ("::1", None))

    def test_badBrackets(self) -> None:
        """
        An unclosed bracket, or text after it that is not a port, is refused.
        """
        for bad in ["[::1", "[::1]12000", "[::1]x"]:
            self.assertRaises(ValueError, splitHostPort, bad)

    def test_describe(self) -> None:
        """
        Messages put IPv6 addresses in brackets.
        """
        self.assertEqual(describeTarget("::1", 1), "[::1]:1")
        self.assertEqual(describeTarget("a", 1), "a:1")
        self.assertEqual((addressFamily("::1"), addressFamily("1.2.3.4")), (6, 4))
        self.assertIsNone(addressFamily("localhost"))
