"""
Tests for L{welcome_protocol.client.connecting}: the one place the client's
endpoints and TLS are set up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    UNIXClientEndpoint,
)
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

from welcome_protocol.client.connecting import Connector, TLSSettings
from welcome_protocol.client.options import Options
from welcome_protocol.client.reactors import ConnectingReactor
from welcome_protocol.shared.descriptions import DescriptionError


@implementer(IHostResolution)
class _Resolution:
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
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        resolutionReceiver.addressResolved(IPv4Address("TCP", "127.0.0.1", portNumber))
        resolutionReceiver.resolutionComplete()
        return resolution


class ToHostTests(TestCase):
    """
    L{Connector.toHost} resolves through the reactor's resolver.
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
        connector = Connector(cast(ConnectingReactor, reactor), 5, family)
        endpoint = connector.toHost("example.org", 12000)
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


class ConnectorTests(TestCase):
    """
    Every endpoint of a run is made by one L{Connector}, with its timeout
    and TLS settings.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()

    def connector(self, tls: TLSSettings | None = None) -> Connector:
        """
        A connector on the test's reactor, with a 5 s timeout.
        """
        return Connector(cast(ConnectingReactor, self.reactor), 5, tls=tls)

    def test_plain(self) -> None:
        """
        Without TLS, C{toHost} is a L{HostnameEndpoint}, C{toAddress} a
        TCP endpoint of the address's family, C{toUNIX} a UNIX one.
        """
        connector = self.connector()
        self.assertIsInstance(connector.toHost("example.org", 1), HostnameEndpoint)
        self.assertIsInstance(
            connector.toAddress("example.org", "127.0.0.1", 1), TCP4ClientEndpoint
        )
        self.assertIsInstance(
            connector.toAddress("example.org", "::1", 1), TCP6ClientEndpoint
        )
        self.assertIsInstance(connector.toUNIX("/run/w.sock"), UNIXClientEndpoint)

    def test_timeout(self) -> None:
        """
        The connector's timeout is the connection's.
        """
        self.connector().toAddress("h", "127.0.0.1", 12000).connect(
            Factory.forProtocol(Protocol)
        )
        [(host, port, _, timeout, _)] = self.reactor.tcpClients
        self.assertEqual((host, port, timeout), ("127.0.0.1", 12000, 5))

    def test_tlsWrapsEveryHostEndpoint(self) -> None:
        """
        With TLS, host and address endpoints are wrapped (not the UNIX
        one); one connection creator serves every endpoint of a name.
        """
        connector = self.connector(TLSSettings())
        first = connector.toAddress("localhost", "127.0.0.1", 1)
        second = connector.toHost("localhost", 2)
        self.assertNotIsInstance(first, TCP4ClientEndpoint)
        self.assertNotIsInstance(second, HostnameEndpoint)
        self.assertIsInstance(connector.toUNIX("/run/w.sock"), UNIXClientEndpoint)
        self.assertEqual(len(connector._creators), 1)
        connector.toAddress("other.example", "127.0.0.1", 1)
        self.assertEqual(sorted(connector._creators), ["localhost", "other.example"])

    def test_sniNamesTheCreator(self) -> None:
        """
        With C{--sni}, that name is verified whatever the host.
        """
        connector = self.connector(TLSSettings(sni="welcome.example"))
        connector.toAddress("localhost", "127.0.0.1", 1)
        self.assertEqual(list(connector._creators), ["welcome.example"])

    def test_description(self) -> None:
        """
        C{toDescription} builds what a C{--connect} description names, and
        refuses a bad one.
        """
        endpoint = self.connector().toDescription("tcp:host=127.0.0.1:port=1")
        self.assertIsInstance(endpoint, TCP4ClientEndpoint)
        self.assertRaises(DescriptionError, self.connector().toDescription, "bogus:1")

    def test_fromOptions(self) -> None:
        """
        The options' C{--timeout}, C{-4}/C{-6}, C{--tls} and C{--sni} make
        the connector.
        """
        config = Options()
        config.parseOptions(
            ["--tls", "--sni", "welcome.example", "-4", "-t", "3", "localhost:1"]
        )
        connector = Connector.fromOptions(cast(ConnectingReactor, self.reactor), config)
        self.assertEqual(connector.timeout, 3)
        connector.toHost("localhost", 1)
        self.assertEqual(list(connector._creators), ["welcome.example"])
