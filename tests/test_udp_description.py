"""
Tests for L{welcome_protocol.udp.description}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.shared.descriptions import DescriptionError
from welcome_protocol.udp.description import (
    UDPDescription,
    isUDP,
    parseUDPDescription,
)


class ParseUDPDescriptionTests(TestCase):
    """
    L{parseUDPDescription} reads C{udp:PORT[:interface=ADDRESS]}.
    """

    def test_portOnly(self) -> None:
        """
        C{udp:PORT} listens on every IPv4 address.
        """
        parsed = parseUDPDescription("udp:12000")
        self.assertEqual(parsed, UDPDescription(12000, ""))
        self.assertFalse(parsed.ipv6)

    def test_ipv4Interface(self) -> None:
        """
        An IPv4 interface makes an IPv4 listener on that address.
        """
        parsed = parseUDPDescription("udp:0:interface=127.0.0.1")
        self.assertEqual(parsed, UDPDescription(0, "127.0.0.1"))
        self.assertFalse(parsed.ipv6)

    def test_ipv6InterfaceEscapedOrNot(self) -> None:
        """
        An IPv6 interface, its colons escaped as in C{tcp6:} or not, makes
        an IPv6 listener.
        """
        for description in ("udp:12000:interface=\\:\\:1", "udp:12000:interface=::1"):
            parsed = parseUDPDescription(description)
            self.assertEqual(parsed, UDPDescription(12000, "::1"))
            self.assertTrue(parsed.ipv6)

    def test_caseOfTypeIgnored(self) -> None:
        """
        C{UDP:} is C{udp:}, as endpoint types are case-insensitive.
        """
        self.assertTrue(isUDP("UDP:1"))
        self.assertEqual(parseUDPDescription("UDP:1").port, 1)

    def test_isUDP(self) -> None:
        """
        Only C{udp:} descriptions are UDP ones.
        """
        self.assertTrue(isUDP("udp:12000"))
        self.assertFalse(isUDP("tcp:12000"))
        self.assertFalse(isUDP("udp6:12000"))

    def test_badPort(self) -> None:
        """
        A port that is not 0 to 65535 is named in the error.
        """
        for port in ("", "x", "65536", "-1", "١٢"):
            with self.assertRaises(DescriptionError) as caught:
                parseUDPDescription(f"udp:{port}")
            self.assertIn(repr(port), str(caught.exception))

    def test_unknownParameter(self) -> None:
        """
        A parameter other than C{tproxy=} and C{interface=} is named in the
        error.
        """
        with self.assertRaises(DescriptionError) as caught:
            parseUDPDescription("udp:1:backlog=5")
        self.assertEqual(
            str(caught.exception),
            "unknown parameter 'backlog' (a UDP listener takes only tproxy= and "
            "interface=)",
        )

    def test_interfaceNotAnAddress(self) -> None:
        """
        A host name as interface is refused: C{listenUDP} takes addresses.
        """
        with self.assertRaises(DescriptionError) as caught:
            parseUDPDescription("udp:1:interface=localhost")
        self.assertEqual(
            str(caught.exception),
            "interface must be an IP address, not 'localhost'",
        )
