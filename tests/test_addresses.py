"""
Tests for L{welcome_protocol.addresses}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import TestCase

from welcome_protocol.addresses import describeAddress, printable


class DescribeAddressTests(TestCase):
    """
    L{describeAddress} writes addresses as people do.
    """

    def test_ipv4(self) -> None:
        """
        IPv4: C{host:port}.
        """
        self.assertEqual(
            describeAddress(IPv4Address("TCP", "127.0.0.1", 12000)), "127.0.0.1:12000"
        )

    def test_ipv6(self) -> None:
        """
        IPv6: the host in brackets, so the port stays unambiguous.
        """
        self.assertEqual(describeAddress(IPv6Address("TCP", "::1", 80)), "[::1]:80")

    def test_unix(self) -> None:
        """
        UNIX sockets: C{unix:PATH}, or C{unix:(unnamed)} for a client's.
        """
        self.assertEqual(
            describeAddress(UNIXAddress(b"/run/welcome.sock")), "unix:/run/welcome.sock"
        )
        self.assertEqual(describeAddress(UNIXAddress(None)), "unix:(unnamed)")


class PrintableTests(TestCase):
    """
    L{printable} keeps control characters out of logs and messages.
    """

    def test_printableUnchanged(self) -> None:
        """
        Printable text is returned as it is.
        """
        self.assertEqual(printable("192.0.2.7 é"), "192.0.2.7 é")

    def test_controlEscaped(self) -> None:
        """
        Newlines, escapes, DEL and C1 controls are written as escapes.
        """
        self.assertEqual(printable("a\nb\x1b[31m\x7f\x85"), "a\\nb\\x1b[31m\\x7f\\x85")

    def test_unixAddressDescribed(self) -> None:
        """
        A UNIX socket path with a newline is described on one line.
        """
        self.assertEqual(describeAddress(UNIXAddress(b"/run/a\nb")), "unix:/run/a\\nb")
