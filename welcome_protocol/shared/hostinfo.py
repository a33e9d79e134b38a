# -*- test-case-name: tests.test_hostinfo -*-
"""
Find this host's name and addresses without blocking the reactor.

The tutorial's server prints C{socket.gethostbyname(socket.gethostname())};
we log the same facts, resolved through the reactor's own name resolver.
"""

from __future__ import annotations

import socket

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer


def thisHostName() -> str:
    """
    @return: The name this host calls itself, as C{socket.gethostname()}.
    """
    return socket.gethostname()


@implementer(IResolutionReceiver)
class _AddressCollector:
    """
    Gather every address a resolution yields and fire once it completes.
    """

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.done: Deferred[list[str]] = Deferred()

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """
        Nothing to do until addresses arrive.
        """

    def addressResolved(self, address: IAddress) -> None:
        """
        Keep each distinct host address, in the order the resolver gives them.
        """
        host = getattr(address, "host", None)
        if isinstance(address, (IPv4Address, IPv6Address)) and (
            host not in self.addresses
        ):
            self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        """
        Deliver what was found (possibly nothing).
        """
        self.done.callback(self.addresses)


def resolveHostAddresses(
    resolver: IHostnameResolver, hostname: str
) -> Deferred[list[str]]:
    """
    Resolve C{hostname} to its IP addresses, asynchronously.

    @param resolver: The reactor's C{nameResolver}.
    @param hostname: The name to look up.
    @return: A L{Deferred} firing with the addresses as text, IPv4 first
        as the resolver orders them; empty if the name does not resolve.
    """
    collector = _AddressCollector()
    resolver.resolveHostName(collector, hostname, 0)
    return collector.done
