"""
Tests for L{welcome_protocol.addresses}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import TestCase

from welcome_protocol.addresses import describeAddress


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
