# -*- test-case-name: tests.test_addresses -*-
"""
Render Twisted address objects the way people write them, for logs and errors.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address as IPv4Addr
from ipaddress import IPv6Address as IPv6Addr
from ipaddress import ip_address

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress


def printable(text: str) -> str:
    """
    Escape the characters of C{text} that are not printable.

    Addresses can come from the network (a PROXY header's UNIX socket path)
    or the file system (a socket's name); a newline in one would forge a
    second line in the service's log, an escape sequence would drive the
    operator's terminal.  Such characters are written as C{\\xNN} (or
    C{\\uNNNN}), the way Python's C{repr} does.

    @param text: Text about to go into a log line or a message.
    @return: C{text} itself if all printable, else with those escaped.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def clientIP(host: str) -> IPv4Addr | IPv6Addr | None:
    """
    The IP address a host string names, with an IPv4 address mapped into
    IPv6 (C{::ffff:192.0.2.7}, as a dual-stack C{tcp6:} listener or a PROXY
    header may give it) taken as the IPv4 address it is: one client is one
    address, whichever way it arrived.

    @param host: The C{host} of a Twisted IPv4 or IPv6 address.
    @return: The address, or L{None} if C{host} is not an IP address.
    """
    try:
        address = ip_address(host)
    except ValueError:
        return None
    if isinstance(address, IPv6Addr) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_MAPPED = bytes(10) + b"\xff\xff"


def _shortIPv6(host: str) -> str:
    """
    Write an IPv6 address short, as C{ipaddress} does (RFC 5952), with the
    C functions where they give the same text: a PROXY v2 header gives
    addresses in full, and C{ipaddress} costs more than the rest of a
    greeting on a dual-stack listener.

    @return: The short form, or C{host} made printable if it is not an IPv6
        address (a scope, C{%eth0}, goes the slow way).
    """
    try:
        packed = socket.inet_pton(socket.AF_INET6, host)
    except (OSError, ValueError):
        try:
            return ip_address(host).compressed
        except ValueError:
            return printable(host)
    if packed[:12] == _MAPPED:
        # ipaddress writes the IPv4 part in hex: ::ffff:7f00:1.
        high, low = (
            int.from_bytes(packed[12:14], "big"),
            int.from_bytes(packed[14:], "big"),
        )
        return f"::ffff:{high:x}:{low:x}"
    text = socket.inet_ntop(socket.AF_INET6, packed)
    if "." in text:
        # An IPv4-compatible address, which ipaddress writes in hex too.
        return ip_address(host).compressed
    return text


def describeAddress(address: IAddress) -> str:
    """
    Format an address as C{host:port}, C{[host]:port} or a UNIX socket path.

    @param address: An address from a transport's C{getPeer} or C{getHost}.
    @return: A short, unambiguous text form, as used in log lines, with
        nothing unprintable in it.
    """
    if isinstance(address, IPv6Address):
        return f"[{_shortIPv6(address.host)}]:{address.port}"
    if isinstance(address, IPv4Address):
        return f"{printable(address.host)}:{address.port}"
    if isinstance(address, UNIXAddress):
        name = address.name
        if name is None:
            return "unix:(unnamed)"
        path = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        return f"unix:{printable(path)}"
    return printable(str(address))
