# -*- test-case-name: tests.test_udp_description -*-
"""
C{udp:PORT[:tproxy=yes][:interface=ADDRESS]}: the description of a UDP
listener.

Twisted's endpoint descriptions are for streams only (C{serverFromString}
returns an C{IStreamServerEndpoint}); a UDP port is opened with the
reactor's C{listenUDP}.  This module reads the same syntax (colons
separate fields, C{\\:} is a literal colon) for the one endpoint type it
adds.  The interface is an IP address, as C{listenUDP} takes it; an IPv6
address makes an IPv6 listener.
"""

from __future__ import annotations

import re
from ipaddress import ip_address

from attrs import frozen

from welcome_protocol.shared.descriptions import DescriptionError

_PREFIX = "udp"


@frozen
class UDPDescription:
    """
    A parsed C{udp:} description.

    @ivar port: The port, 0 for one the kernel picks.
    @ivar interface: The address to listen on: C{""} for every IPv4
        address, C{::} for every IPv6 one (and IPv4, as the system allows).
    @ivar tproxy: Whether the socket is transparent, for the datagrams of
        every port a TPROXY rule sends to it (C{tproxy=yes}).
    """

    port: int
    interface: str = ""
    tproxy: bool = False

    @property
    def ipv6(self) -> bool:
        """
        Whether the listener is an IPv6 one.
        """
        return ":" in self.interface


def isUDP(description: str) -> bool:
    """
    @return: Whether C{description} names a UDP listener.
    """
    return re.split(r"(?<!\\):", description, maxsplit=1)[0].lower() == _PREFIX


def parseUDPDescription(description: str) -> UDPDescription:
    """
    Read C{udp:PORT[:tproxy=yes][:interface=ADDRESS]}.

    The IPv6 address may have its colons escaped (C{interface=\\:\\:1}), as
    in C{tcp6:} descriptions, or not (C{interface=::1}): the interface is
    the last field.

    @raise DescriptionError: Saying what is wrong.
    """
    head, sep, rest = description.partition(":")
    if head.lower() != _PREFIX or not sep:
        raise DescriptionError("a UDP listener is udp:PORT[:interface=ADDRESS]")
    portText, sep, options = rest.partition(":")
    if not (portText.isascii() and portText.isdigit() and int(portText) <= 65535):
        raise DescriptionError(
            f"the port must be an integer from 0 to 65535, not {portText!r}"
        )
    interface = ""
    tproxy = False
    if options.startswith("tproxy="):
        flag, sep, options = options.partition(":")
        if flag not in ("tproxy=yes", "tproxy=no"):
            raise DescriptionError(f"tproxy must be yes or no, not {flag[7:]!r}")
        tproxy = flag == "tproxy=yes"
    if sep:
        name, equals, value = options.partition("=")
        if name != "interface" or not equals:
            raise DescriptionError(
                f"unknown parameter {name!r} (a UDP listener takes only tproxy= "
                "and interface=)"
            )
        interface = value.replace("\\:", ":")
        try:
            ip_address(interface)
        except ValueError:
            raise DescriptionError(
                f"interface must be an IP address, not {interface!r}"
            ) from None
    return UDPDescription(int(portText), interface, tproxy)
