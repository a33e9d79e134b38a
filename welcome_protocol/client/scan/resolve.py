# -*- test-case-name: tests.test_client_scan_resolve -*-
"""
Resolve each host of a scan once, without blocking.

A scan checks one address per host, as nmap does: the first IPv4 address
the resolver gives, else the first IPv6 one (C{-4} and C{-6} choose the
family); so a thousand ports cost one name lookup, not a thousand.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IAddress,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
)
from zope.interface import implementer

from welcome_protocol.client.target import FAMILIES, addressFamily


@implementer(IResolutionReceiver)
class _FirstAddress:
    """
    Collect the addresses of one resolution; fire with the one to check.
    """

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.done: Deferred[str | None] = Deferred()

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """
        Nothing to do until the addresses come.
        """

    def addressResolved(self, address: IAddress) -> None:
        """
        Keep an IPv4 or IPv6 address.
        """
        if isinstance(address, (IPv4Address, IPv6Address)):
            self.addresses.append(address.host)

    def resolutionComplete(self) -> None:
        """
        Fire with the first IPv4 address, else the first IPv6 one, or
        L{None} if there was none.
        """
        ranked = sorted(self.addresses, key=lambda a: addressFamily(a) != 4)
        self.done.callback(ranked[0] if ranked else None)


def resolveHost(
    reactor: IReactorPluggableNameResolver, host: str, family: int | None = None
) -> Deferred[str | None]:
    """
    @param family: 4 or 6 to ask for that family only.
    @return: Fires with the address to check (C{host} itself if it is an
        address), or L{None} if the name does not resolve.
    """
    if addressFamily(host) is not None:
        return succeed(host)
    receiver = _FirstAddress()
    types: Sequence[type[IAddress]] | None = (
        None if family is None else [FAMILIES[family]]
    )
    reactor.nameResolver.resolveHostName(receiver, host, 0, types)
    return receiver.done
