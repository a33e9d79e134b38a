# -*- test-case-name: tests.test_client_target -*-
"""
The server a run names: C{HOST:PORT} arguments, address families, and
the label the output uses.

The endpoints are made in L{welcome_protocol.client.connecting}.
"""

from __future__ import annotations

import ipaddress

import attrs
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress

FAMILIES: dict[int, type[IAddress]] = {4: IPv4Address, 6: IPv6Address}


def splitHostPort(text: str) -> tuple[str, str | None]:
    """
    Split a positional C{HOST:PORT}, C{[::1]:12000}, C{[::1]} or C{HOST}.

    A bare IPv6 address (more than one colon, no brackets) is a host.

    @return: The host and the port's text (L{None} if not given).
    @raise ValueError: For an unclosed bracket or text after it.
    """
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not HOST, HOST:PORT or [ADDRESS]:PORT")
        return host, rest[1:] if rest else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def addressFamily(host: str) -> int | None:
    """
    @return: 4 or 6 if C{host} is an IP address of that version, else L{None}.
    """
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return None


@attrs.frozen
class Target:
    """
    The server, as the output names it.

    @ivar label: C{host:port}, or the C{--connect} description.
    @ivar host: The host name or address, or L{None} with C{--connect}.
    @ivar port: The port, or L{None} with C{--connect}.
    @ivar transport: C{tcp}, or C{udp} with C{--udp}.
    """

    label: str
    host: str | None = None
    port: int | None = None
    transport: str = "tcp"


def describeTarget(host: str, port: int) -> str:
    """
    @return: C{host:port}, with an IPv6 address in brackets.
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
