"""
Tests for L{welcome_protocol.shared.hostinfo}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.shared.hostinfo import resolveHostAddresses


@implementer(IHostResolution)
class Resolution:
    """
    A finished resolution of C{name}.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        """
        Too late to cancel: it is done.
        """


@implementer(IHostnameResolver)
class FixedResolver:
    """
    A resolver that knows a fixed list of addresses for any name.
    """

    def __init__(self, addresses: list[IPv4Address | IPv6Address]) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: object = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        Deliver the fixed addresses at once.
        """
        self.asked.append(hostName)
        resolution = Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        for address in self.addresses:
            resolutionReceiver.addressResolved(address)
        resolutionReceiver.resolutionComplete()
        return resolution


class ResolveHostAddressesTests(TestCase):
    """
    L{resolveHostAddresses} collects distinct addresses in order.
    """

    def test_distinctInOrder(self) -> None:
        """
        Each address once (resolvers repeat them per socket type), in order.
        """
        resolver = FixedResolver(
            [
                IPv4Address("TCP", "192.0.2.1", 0),
                IPv4Address("TCP", "192.0.2.1", 0),
                IPv6Address("TCP", "2001:db8::1", 0),
            ]
        )
        d = resolveHostAddresses(resolver, "example")
        self.assertEqual(self.successResultOf(d), ["192.0.2.1", "2001:db8::1"])
        self.assertEqual(resolver.asked, ["example"])

    def test_nothingFound(self) -> None:
        """
        A name without addresses gives an empty list, not a failure.
        """
        d = resolveHostAddresses(FixedResolver([]), "nowhere")
        self.assertEqual(self.successResultOf(d), [])
