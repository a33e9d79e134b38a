# -*- test-case-name: tests.test_addresses -*-
"""
Render Twisted address objects the way people write them, for logs and errors.
"""

from __future__ import annotations

from ipaddress import ip_address

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress


def describeAddress(address: IAddress) -> str:
    """
    Format an address as C{host:port}, C{[host]:port} or a UNIX socket path.

    @param address: An address from a transport's C{getPeer} or C{getHost}.
    @return: A short, unambiguous text form, as used in log lines.
    """
    if isinstance(address, IPv6Address):
        try:
            # A PROXY v2 header gives IPv6 addresses in full; write them short.
            host = ip_address(address.host).compressed
        except ValueError:
            host = address.host
        return f"[{host}]:{address.port}"
    if isinstance(address, IPv4Address):
        return f"{address.host}:{address.port}"
    if isinstance(address, UNIXAddress):
        name = address.name
        if name is None:
            return "unix:(unnamed)"
        path = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        return f"unix:{path}"
    return str(address)
