"""
Tests for L{welcome_protocol.client.scan.resolve}.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
)
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.client.scan.resolve import resolveHost


@implementer(IHostResolution)
class FakeResolution:
    """
    A resolution already complete: nothing to cancel.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        """
        Nothing is in progress.
        """


@implementer(IHostnameResolver)
class FakeResolver:
    """
    Answer every name with C{addresses}, keeping what was asked.
    """

    def __init__(self, addresses: list[IAddress]) -> None:
        self.addresses = addresses
        self.asked: list[tuple[str, Sequence[type[IAddress]] | None]] = []

    def resolveHostName(
        self,
        receiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        Deliver the addresses at once.
        """
        self.asked.append((hostName, addressTypes))
        resolution = FakeResolution(hostName)
        receiver.resolutionBegan(resolution)
        for address in self.addresses:
            receiver.addressResolved(address)
        receiver.resolutionComplete()
        return resolution


@implementer(IReactorPluggableNameResolver)
class FakeReactor:
    """
    A reactor with only a name resolver.
    """

    def __init__(self, resolver: IHostnameResolver) -> None:
        self.nameResolver = resolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """
        Replace the resolver.
        """
        previous, self.nameResolver = self.nameResolver, resolver
        return previous


V6 = IPv6Address("TCP", "2001:db8::1", 0)
V4 = IPv4Address("TCP", "192.0.2.1", 0)


class ResolveHostTests(TestCase):
    """
    L{resolveHost}.
    """

    def test_addressIsItself(self) -> None:
        """
        An IP address needs no lookup.
        """
        resolver = FakeResolver([V4])
        reactor = FakeReactor(resolver)
        self.assertEqual(self.successResultOf(resolveHost(reactor, "::1")), "::1")
        self.assertEqual(resolver.asked, [])

    def test_ipv4First(self) -> None:
        """
        The first IPv4 address, even if an IPv6 one came first.
        """
        reactor = FakeReactor(FakeResolver([V6, V4]))
        self.assertEqual(self.successResultOf(resolveHost(reactor, "h")), "192.0.2.1")
        reactor = FakeReactor(FakeResolver([V6]))
        self.assertEqual(self.successResultOf(resolveHost(reactor, "h")), "2001:db8::1")

    def test_family(self) -> None:
        """
        C{-6} asks the resolver for IPv6 addresses only.
        """
        resolver = FakeResolver([V6])
        resolveHost(FakeReactor(resolver), "h", 6)
        self.assertEqual(resolver.asked, [("h", [IPv6Address])])

    def test_nothing(self) -> None:
        """
        A name without addresses resolves to L{None}.
        """
        reactor = FakeReactor(FakeResolver([]))
        self.assertIsNone(self.successResultOf(resolveHost(reactor, "h")))
