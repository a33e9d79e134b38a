"""
Tests for L{welcome_protocol.shared.addresses}.
"""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import TestCase

from welcome_protocol.shared.addresses import describeAddress, printable


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


class ShortIPv6Tests(TestCase):
    """
    IPv6 hosts are written as C{ipaddress} writes them, however the address
    came (in full from a PROXY v2 header, mapped from IPv4, compatible).
    """

    @given(
        st.integers(0, 2**128 - 1),
        st.sampled_from([0, 0xFFFF << 32, 0]),
        st.booleans(),
        st.booleans(),
    )
    def test_sameAsIpaddress(
        self, number: int, prefix: int, small: bool, exploded: bool
    ) -> None:
        """
        Any address, in full or short, mapped or compatible, is written as
        C{ip_address(host).compressed}.
        """
        if small:
            number = (number & 0xFFFFFFFF) | prefix
        address = ipaddress.IPv6Address(number)
        host = address.exploded if exploded else address.compressed
        self.assertEqual(
            describeAddress(IPv6Address("TCP", host, 1)), f"[{address.compressed}]:1"
        )


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
