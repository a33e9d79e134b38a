"""
Tests for L{welcome_protocol.greeting.server}: what a client is sent, and nothing more.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.address import IPv4Address, UNIXAddress
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.logger import capturedLogs, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.messageproducer import CHUNK_SIZE
from welcome_protocol.greeting.server import (
    CLOSE_GRACE,
    DIRECT_WRITE_LIMIT,
    WelcomeFactory,
    WelcomeProtocol,
)
from welcome_protocol.handshaking.proxyheader import HeaderFirstWrappingFactory

PEER = IPv4Address("TCP", "192.0.2.7", 40123)


def connect(
    settings: ServerSettings | None = None,
) -> tuple[WelcomeProtocol, StringTransport]:
    """
    Build a protocol from a factory and connect it to a L{StringTransport}.
    """
    factory = WelcomeFactory(settings or ServerSettings(), clock=Clock())
    proto = factory.buildProtocol(PEER)
    assert isinstance(proto, WelcomeProtocol)
    transport = StringTransport(peerAddress=PEER)
    proto.makeConnection(transport)
    return proto, transport


class WelcomeProtocolTests(TestCase):
    """
    L{WelcomeProtocol} greets and hangs up.
    """

    def test_connectionMadeWritesWelcome(self) -> None:
        """
        The default welcome is exactly the 8 bytes C{Welcome!}, no newline.
        """
        _, transport = connect()
        self.assertEqual(transport.value(), b"Welcome!")

    def test_connectionMadeCloses(self) -> None:
        """
        The connection is closed (after the buffered welcome is written).
        """
        _, transport = connect()
        self.assertTrue(transport.disconnecting)

    def test_inputDiscarded(self) -> None:
        """
        What the client sends is neither answered nor kept.
        """
        proto, transport = connect()
        transport.clear()
        marker = b"unique-client-bytes-7f3a"
        proto.dataReceived(marker * 1000)
        self.assertEqual(transport.value(), b"")
        self.assertNotIn(repr(marker)[2:-1], repr(vars(proto)))

    def test_messageFromSettings(self) -> None:
        """
        The welcome is the settings' message, byte for byte.
        """
        _, transport = connect(ServerSettings(message=b"caf\xc3\xa9\n"))
        self.assertEqual(transport.value(), b"caf\xc3\xa9\n")


class WelcomeFactoryTests(TestCase):
    """
    L{WelcomeFactory} holds the configuration and logs each client.
    """

    def test_welcomeEncodedOnce(self) -> None:
        """
        Every protocol sends the very same bytes object the factory made.
        """
        factory = WelcomeFactory(ServerSettings(), clock=Clock())
        sent: list[bytes] = []
        for _ in range(3):
            transport = StringTransport(peerAddress=PEER)
            # Record each write on the double itself: the point is which
            # object is written, which StringTransport's buffer would hide.
            transport.write = sent.append  # type: ignore[method-assign]
            proto = factory.buildProtocol(PEER)
            assert proto is not None
            proto.makeConnection(transport)
        self.assertEqual(len(sent), 3)
        self.assertTrue(all(chunk is factory.source.welcome for chunk in sent))

    def test_connectionLogged(self) -> None:
        """
        Each connection is logged with the client's address and port.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        connect()
        welcomed = [e for e in events if e.get("log_format") == "Welcomed {peer}"]
        self.assertEqual([e["peer"] for e in welcomed], ["192.0.2.7:40123"])

    def test_connectionLogOff(self) -> None:
        """
        With connection logging off, nothing is logged per connection.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        connect(ServerSettings(logConnections=False))
        self.assertEqual(list(events), [])


def _peer(host: str = "192.0.2.7", port: int = 40000) -> IPv4Address:
    return IPv4Address("TCP", host, port)


def _produce(transport: StringTransport) -> None:
    """
    Ask the registered pull producer for more, as a drained transport does.
    """
    assert transport.producer is not None
    transport.producer.resumeProducing()


class _Server:
    """
    A factory on a L{Clock}, and helpers to connect clients to it in memory.
    """

    def __init__(self, **settings: Any) -> None:
        self.clock = Clock()
        self.factory = WelcomeFactory(
            ServerSettings(logConnections=False, **settings),
            clock=self.clock,
        )

    def connect(
        self, host: str = "192.0.2.7", port: int = 40000
    ) -> tuple[WelcomeProtocol, StringTransport]:
        """
        Build a protocol for a client and connect it to a L{StringTransport}.
        """
        peer = _peer(host, port)
        protocol = self.factory.buildProtocol(peer)
        assert isinstance(protocol, WelcomeProtocol)
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        return protocol, transport

    def welcomed(self) -> tuple[WelcomeProtocol, StringTransport]:
        """
        Connect a client that is admitted.
        """
        protocol, transport = self.connect()
        assert not protocol.refused
        return protocol, transport


class KeepOpenAndTimeoutTests(TestCase):
    """
    L{WelcomeProtocol} greets, closes or keeps open, times out, and sends
    long welcomes with flow control.
    """

    def test_connectionMadeWritesWelcomeAndCloses(self) -> None:
        """
        By default the welcome is written and the connection closed at once;
        the close is timed, even for a short welcome, and the timer goes with
        the connection.
        """
        server = _Server()
        protocol, transport = server.welcomed()
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(len(server.factory.closeDeadline), 1)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(server.factory.closeDeadline), 0)
        server.clock.advance(CLOSE_GRACE + 300)
        self.assertFalse(transport.disconnected)
        self.assertEqual(server.clock.getDelayedCalls(), [])

    def test_closeThatDoesNotEndIsAborted(self) -> None:
        """
        A close that has not ended within the idle timeout (a TLS client
        that never sends its C{close_notify}, a client that does not read) is
        aborted, whatever the welcome's size.
        """
        server = _Server(idleTimeout=2.0)
        _protocol, transport = server.welcomed()
        self.assertTrue(transport.disconnecting)
        server.clock.advance(3)
        self.assertTrue(transport.disconnected)

    def test_closeWithoutIdleTimeoutIsBounded(self) -> None:
        """
        Without an idle timeout, a close that does not end is aborted after
        L{CLOSE_GRACE} seconds.
        """
        server = _Server(idleTimeout=None)
        _protocol, transport = server.welcomed()
        server.clock.advance(CLOSE_GRACE - 0.5)
        self.assertFalse(transport.disconnected)
        server.clock.advance(1.5)
        self.assertTrue(transport.disconnected)

    def test_inputIsDiscarded(self) -> None:
        """
        Data from the client is neither echoed nor kept.
        """
        server = _Server(keepOpen=True)
        protocol, transport = server.welcomed()
        protocol.dataReceived(b"x" * 100000)
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertFalse(hasattr(protocol, "buffer"))

    def test_keepOpenKeepsConnection(self) -> None:
        """
        With C{keepOpen}, the connection stays open after the welcome.
        """
        server = _Server(keepOpen=True)
        _protocol, transport = server.welcomed()
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertFalse(transport.disconnecting)

    def test_idleTimeoutClosesSilentConnection(self) -> None:
        """
        A kept-open connection silent for C{idleTimeout} is closed
        gracefully and counted as timed out.
        """
        server = _Server(keepOpen=True, idleTimeout=30.0)
        protocol, transport = server.welcomed()
        server.clock.advance(29.9)
        self.assertFalse(transport.disconnecting)
        server.clock.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(server.factory.stats.timedOut, 1)
        self.assertEqual(server.factory.stats.served, 0)
        self.assertEqual(server.clock.getDelayedCalls(), [])

    def test_idleTimeoutAbortsIfCloseHangs(self) -> None:
        """
        If the graceful close has not finished another C{idleTimeout}
        later, the connection is aborted.
        """
        server = _Server(keepOpen=True, idleTimeout=30.0)
        _protocol, transport = server.welcomed()
        server.clock.advance(30)
        self.assertFalse(transport.disconnected)
        server.clock.advance(30)
        self.assertTrue(transport.disconnected)

    def test_dataRestartsIdleTimer(self) -> None:
        """
        Each byte from the client restarts the idle timer.
        """
        server = _Server(keepOpen=True, idleTimeout=30.0)
        protocol, transport = server.welcomed()
        for _ in range(5):
            server.clock.advance(20)
            protocol.dataReceived(b"ping")
        self.assertFalse(transport.disconnecting)
        server.clock.advance(30)
        self.assertTrue(transport.disconnecting)

    def test_noIdleTimeout(self) -> None:
        """
        With no idle timeout, a kept-open connection is never closed by us.
        """
        server = _Server(keepOpen=True, idleTimeout=None)
        _protocol, transport = server.welcomed()
        self.assertEqual(server.clock.getDelayedCalls(), [])
        server.clock.advance(10**6)
        self.assertFalse(transport.disconnecting)

    def test_longWelcomeIsProducedInChunks(self) -> None:
        """
        A welcome longer than L{DIRECT_WRITE_LIMIT} is written through a pull
        producer, a chunk each time the transport asks, then the connection
        closes.
        """
        message = bytes(range(256)) * (3 * CHUNK_SIZE // 256 + 1)
        server = _Server(message=message)
        protocol, transport = server.welcomed()
        self.assertIsNotNone(transport.producer)
        self.assertFalse(transport.streaming)
        self.assertEqual(transport.value(), b"")
        chunks = 0
        while transport.producer is not None:
            _produce(transport)
            chunks += 1
            self.assertLessEqual(len(transport.value()), chunks * CHUNK_SIZE)
        self.assertEqual(chunks, 4)
        self.assertEqual(transport.value(), message)
        self.assertTrue(transport.disconnecting)
        self.assertTrue(protocol.greeted)
        self.assertEqual(server.factory.stats.bytesSent, len(message))

    def test_longWelcomeToNonReaderTimesOut(self) -> None:
        """
        Without C{keepOpen}, a long welcome the client does not read is
        aborted after C{idleTimeout} without progress.
        """
        server = _Server(message=b"x" * (DIRECT_WRITE_LIMIT + 1), idleTimeout=10.0)
        protocol, transport = server.welcomed()
        _produce(transport)
        server.clock.advance(10)
        self.assertTrue(transport.disconnected)
        protocol.connectionLost(Failure(ConnectionAborted()))
        self.assertEqual(server.factory.stats.timedOut, 1)

    def test_progressRestartsIdleTimer(self) -> None:
        """
        A slow reader that keeps taking chunks is not timed out.
        """
        message = b"x" * (5 * CHUNK_SIZE)
        server = _Server(message=message, idleTimeout=10.0)
        _protocol, transport = server.welcomed()
        for _ in range(4):
            server.clock.advance(9)
            _produce(transport)
        self.assertFalse(transport.disconnecting)

    def test_connectionLostStopsProducer(self) -> None:
        """
        A connection lost while the welcome is being produced stops the
        producer and its timer, and counts an error.
        """
        server = _Server(message=b"x" * (5 * CHUNK_SIZE))
        protocol, transport = server.welcomed()
        producer = transport.producer
        assert producer is not None
        producer.resumeProducing()
        protocol.connectionLost(Failure(ConnectionLost()))
        producer.resumeProducing()
        self.assertEqual(len(transport.value()), CHUNK_SIZE)
        self.assertEqual(server.clock.getDelayedCalls(), [])
        self.assertEqual(server.factory.stats.errors, 1)


class LimitsAndShutdownTests(TestCase):
    """
    L{WelcomeFactory} admits within the limits, keeps the counters and
    finishes connections at shutdown.
    """

    def test_cleanCloseCountsServed(self) -> None:
        """
        A greeted connection that closes cleanly counts as served and frees
        its place.
        """
        server = _Server()
        protocol, _transport = server.welcomed()
        self.assertEqual(server.factory.limits.open, 1)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(server.factory.stats.served, 1)
        self.assertEqual(server.factory.stats.bytesSent, len(b"Welcome!"))
        self.assertEqual(server.factory.limits.open, 0)
        self.assertEqual(server.factory.openProtocols, set())

    def test_resetCountsError(self) -> None:
        """
        A connection that ends with an error counts as an error, not served.
        """
        server = _Server()
        protocol, _transport = server.welcomed()
        protocol.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(
            (server.factory.stats.served, server.factory.stats.errors), (0, 1)
        )

    def test_overMaxConnectionsRefused(self) -> None:
        """
        The connection after C{maxConnections} is closed without a welcome
        and not counted as open; one is admitted again once a place is free.
        """
        server = _Server(maxConnections=2)
        first, _ = server.welcomed()
        server.welcomed()
        refused, transport = server.connect()
        self.assertTrue(refused.refused)
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        refused.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(server.factory.stats.refusedMaxConnections, 1)
        self.assertEqual(server.factory.limits.open, 2)
        self.assertEqual(server.factory.stats.served, 0)
        first.connectionLost(Failure(ConnectionDone()))
        again, _ = server.connect()
        self.assertFalse(again.refused)

    def test_busyMessage(self) -> None:
        """
        With a busy message, a refused client gets it, then the close.
        """
        server = _Server(maxConnections=1, busyMessage=b"Busy, try later\n")
        server.welcomed()
        refused, transport = server.connect()
        self.assertTrue(refused.refused)
        self.assertEqual(transport.value(), b"Busy, try later\n")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(server.factory.limits.open, 1)

    def test_overMaxPerIPRefused(self) -> None:
        """
        C{maxPerIP} refuses the next connection from the same address only.
        """
        server = _Server(maxPerIP=2)
        server.connect("192.0.2.1", 1)
        server.connect("192.0.2.1", 2)
        refused, _ = server.connect("192.0.2.1", 3)
        other, _ = server.connect("192.0.2.2", 1)
        self.assertTrue(refused.refused)
        self.assertFalse(other.refused)
        self.assertEqual(server.factory.stats.refusedMaxPerIP, 1)

    def test_unixPeersHaveNoPerIPLimit(self) -> None:
        """
        Clients without an IP address (UNIX sockets) count only in the total.
        """
        server = _Server(maxPerIP=1)
        for _ in range(3):
            protocol = server.factory.buildProtocol(UNIXAddress(None))
            assert isinstance(protocol, WelcomeProtocol)
            protocol.makeConnection(StringTransport(peerAddress=UNIXAddress(None)))
            self.assertFalse(protocol.refused)

    def test_clientLogged(self) -> None:
        """
        Each admitted client is logged with its address when connections
        are logged.
        """
        factory = WelcomeFactory(ServerSettings(), clock=Clock())
        protocol = factory.buildProtocol(_peer())
        assert protocol is not None
        with capturedLogs() as events:
            protocol.makeConnection(StringTransport(peerAddress=_peer()))
        self.assertIn("Welcomed 192.0.2.7:40000", [formatEvent(e) for e in events])

    def test_finishGreetingsClosesIdleKeptOpen(self) -> None:
        """
        At shutdown greeted kept-open connections close now, those still
        being greeted once their welcome is written.
        """
        server = _Server(keepOpen=True)
        _idle, idleTransport = server.welcomed()
        server.factory.source.welcome = b"x" * (2 * CHUNK_SIZE)
        _busy, busyTransport = server.welcomed()
        self.assertEqual(server.factory.finishGreetings(), 1)
        self.assertTrue(idleTransport.disconnecting)
        self.assertFalse(busyTransport.disconnecting)
        while busyTransport.producer is not None:
            _produce(busyTransport)
        self.assertTrue(busyTransport.disconnecting)

    def test_neverConnectedProtocolNotCounted(self) -> None:
        """
        A protocol built but never connected (as the PROXY header parser
        does for a client that leaves before its header) takes no place.
        """
        server = _Server(maxConnections=1)
        server.factory.buildProtocol(_peer())
        self.assertEqual(server.factory.limits.open, 0)
        protocol, _ = server.connect()
        self.assertFalse(protocol.refused)

    def test_perIPBehindProxyCountsRealClient(self) -> None:
        """
        Behind the PROXY header parser, the per-address limit counts the
        client the header names, and a connection closed before its header
        takes no place.
        """
        server = _Server(maxPerIP=1)
        wrapping = HeaderFirstWrappingFactory(server.factory)
        proxy = _peer("192.0.2.99", 1)

        def viaProxy(client: str) -> StringTransport:
            wrapper = wrapping.buildProtocol(proxy)
            transport = StringTransport(peerAddress=proxy)
            wrapper.makeConnection(transport)
            wrapper.dataReceived(
                f"PROXY TCP4 {client} 192.0.2.1 5000 12000\r\n".encode()
            )
            return transport

        self.assertEqual(viaProxy("198.51.100.1").value(), b"Welcome!")
        self.assertEqual(viaProxy("198.51.100.2").value(), b"Welcome!")
        self.assertEqual(viaProxy("198.51.100.1").value(), b"")
        self.assertEqual(
            server.factory.limits.perHost, {"198.51.100.1": 1, "198.51.100.2": 1}
        )
        leaving = wrapping.buildProtocol(proxy)
        leaving.makeConnection(StringTransport(peerAddress=proxy))
        leaving.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(server.factory.limits.open, 2)

    def test_whenAllClosedAndAbortAll(self) -> None:
        """
        L{WelcomeFactory.whenAllClosed} fires once the last connection has
        closed; L{WelcomeFactory.abortAll} aborts them, counted as closed
        at shutdown.
        """
        server = _Server(keepOpen=True)
        self.assertIsNone(self.successResultOf(server.factory.whenAllClosed()))
        pairs = [server.welcomed() for _ in range(3)]
        closed = server.factory.whenAllClosed()
        self.assertNoResult(closed)
        self.assertEqual(server.factory.abortAll(), 3)
        for protocol, transport in pairs:
            self.assertTrue(transport.disconnected)
            protocol.connectionLost(Failure(ConnectionAborted()))
        self.successResultOf(closed)
        self.assertEqual(server.factory.stats.closedAtShutdown, 3)
