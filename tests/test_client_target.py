"""
Tests for L{welcome_protocol.client.target}: positional addresses and the
address family.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.client.target import (
    addressFamily,
    describeTarget,
    hostEndpoint,
    splitHostPort,
)


class SplitHostPortTests(TestCase):
    """
    One argument names the host and maybe the port.
    """

    def test_forms(self) -> None:
        """
        C{HOST}, C{HOST:PORT}, C{[ADDRESS]:PORT}, C{[ADDRESS]} and a bare
        IPv6 address.
        """
        self.assertEqual(splitHostPort("example.org"), ("example.org", None))
        self.assertEqual(splitHostPort("example.org:12000"), ("example.org", "12000"))
        self.assertEqual(splitHostPort("[::1]:12000"), ("::1", "12000"))
        self.assertEqual(splitHostPort("[::1]"), ("::1", None))
        self.assertEqual(splitHostPort("::1"), ("::1", None))

    def test_badBrackets(self) -> None:
        """
        An unclosed bracket, or text after it that is not a port, is refused.
        """
        for bad in ["[::1", "[::1]12000", "[::1]x"]:
            self.assertRaises(ValueError, splitHostPort, bad)

    def test_describe(self) -> None:
        """
        Messages put IPv6 addresses in brackets.
        """
        self.assertEqual(describeTarget("::1", 1), "[::1]:1")
        self.assertEqual(describeTarget("a", 1), "a:1")
        self.assertEqual((addressFamily("::1"), addressFamily("1.2.3.4")), (6, 4))
        self.assertIsNone(addressFamily("localhost"))


@implementer(IHostnameResolver)
class RecordingResolver:
    """
    Record what is asked, and resolve to C{127.0.0.1}.
    """

    def __init__(self) -> None:
        self.asked: list[tuple[str, Sequence[type[IAddress]] | None]] = []

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        Record the request; deliver one IPv4 address.
        """
        self.asked.append((hostName, addressTypes))
        resolutionReceiver.resolutionBegan(None)  # type: ignore[arg-type]
        resolutionReceiver.addressResolved(IPv4Address("TCP", "127.0.0.1", portNumber))
        resolutionReceiver.resolutionComplete()
        return None  # type: ignore[return-value]


class HostEndpointTests(TestCase):
    """
    L{hostEndpoint} resolves through the reactor's resolver.
    """

    def connect(
        self, family: int | None
    ) -> tuple[MemoryReactorClock, RecordingResolver]:
        """
        Connect to C{example.org:12000} with a fake reactor and resolver.
        """
        reactor = MemoryReactorClock()
        resolver = RecordingResolver()
        reactor.installNameResolver(resolver)
        endpoint = hostEndpoint(reactor, "example.org", 12000, 5, family)
        endpoint.connect(Factory.forProtocol(Protocol))
        return reactor, resolver

    def test_anyFamily(self) -> None:
        """
        Without C{-4}/C{-6} every family is asked for, and the address found
        is connected to.
        """
        reactor, resolver = self.connect(None)
        self.assertEqual(resolver.asked, [("example.org", None)])
        self.assertEqual(reactor.tcpClients[0][:2], ("127.0.0.1", 12000))

    def test_oneFamily(self) -> None:
        """
        C{-6} and C{-4} ask the resolver for that family only.
        """
        _, resolver = self.connect(6)
        self.assertEqual(resolver.asked, [("example.org", [IPv6Address])])
        _, resolver = self.connect(4)
        self.assertEqual(resolver.asked, [("example.org", [IPv4Address])])
