"""
Tests for L{welcome_protocol.eagertcp}: data and the close go out at once,
everything else behaves as Twisted's own TCP transport, TLS included.
"""

from __future__ import annotations

import socket
from typing import Any, cast

from twisted.internet import reactor as globalReactor
from twisted.internet import ssl
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    connectProtocol,
    serverFromString,
)
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.interfaces import IListeningPort, IProtocolFactory, IReactorTCP
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from welcome_protocol.eagertcp import (
    EagerPort,
    EagerServer,
    EagerTCP4ServerEndpoint,
    eagerIfTCP,
)

reactor = cast(Any, globalReactor)
_DONE = Failure(ConnectionDone())


class _Greeter(Protocol):
    """
    Write C{factory.data}, close, and note what a raw client saw meanwhile.
    """

    factory: _GreeterFactory

    def connectionMade(self) -> None:
        """
        Write and close; then read the client's socket before returning to
        the reactor, and once more when the reactor runs delayed calls.
        """
        assert self.transport is not None
        self.factory.transports.append(self.transport)
        self.transport.write(self.factory.data)
        self.transport.loseConnection()
        client = self.factory.rawClient
        if client is not None:
            self.factory.seenAtOnce = _drain(client)
            self.factory.waitingForWritable = self.transport in reactor.getWriters()
            reactor.callLater(0.001, self.factory.seenSoon.callback, client)

    def connectionLost(self, reason: Failure = _DONE) -> None:
        """
        Remember how the connection ended.
        """
        self.factory.lost.append(reason)


class _GreeterFactory(Factory):
    protocol = _Greeter  # type: ignore[assignment]

    def __init__(self, data: bytes, rawClient: socket.socket | None = None) -> None:
        self.data = data
        self.rawClient = rawClient
        self.seenAtOnce: tuple[bytes, bool] | None = None
        self.seenSoon: Deferred[socket.socket] = Deferred()
        self.waitingForWritable: bool | None = None
        self.transports: list[object] = []
        self.lost: list[Failure] = []


def _drain(client: socket.socket) -> tuple[bytes, bool]:
    """
    Read what a non-blocking socket already has.

    @return: The bytes, and whether the end of the stream was seen.
    """
    chunks: list[bytes] = []
    while True:
        try:
            chunk = client.recv(65536)
        except BlockingIOError:
            return b"".join(chunks), False
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


class _Collector(Protocol):
    """
    Collect everything received; fire C{done} with it when the server closes.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.done: Deferred[tuple[bytes, Failure]] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data}.
        """
        self.received.append(data)

    def connectionLost(self, reason: Failure = _DONE) -> None:
        """
        Report everything received and why the connection ended.
        """
        self.done.callback((b"".join(self.received), reason))


class EagerServerTests(TestCase):
    """
    L{EagerTCP4ServerEndpoint} on the real reactor over loopback.
    """

    def listen(self, factory: IProtocolFactory) -> int:
        """
        Listen on a free loopback port with C{factory} until the test ends.

        @return: The port number.
        """
        endpoint = EagerTCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        ports: list[IListeningPort] = []
        endpoint.listen(factory).addCallback(ports.append)
        self.addCleanup(ports[0].stopListening)
        port: int = ports[0].getHost().port  # type: ignore[attr-defined]
        return port

    def test_acceptsBoundedPerRead(self) -> None:
        """
        One read of the listening socket accepts at most
        C{maxAcceptsPerRead} connections, however many wait and however
        often the limit was reached before (Twisted's own grows without
        bound), so their clean-up never holds the reactor for long.
        """
        accepted: list[Protocol] = []

        class Counting(Factory):
            def buildProtocol(self, addr: object) -> Protocol:
                proto = Protocol()
                accepted.append(proto)
                return proto

        endpoint = EagerTCP4ServerEndpoint(
            reactor, 0, backlog=256, interface="127.0.0.1"
        )
        ports: list[IListeningPort] = []
        endpoint.listen(Counting()).addCallback(ports.append)
        [port] = ports
        assert isinstance(port, EagerPort)
        self.addCleanup(port.stopListening)
        port.numberAccepts = 10_000
        address = ("127.0.0.1", port.getHost().port)
        for _ in range(port.maxAcceptsPerRead + 36):
            self.addCleanup(socket.create_connection(address).close)
        port.doRead()
        self.assertEqual(len(accepted), port.maxAcceptsPerRead)
        port.doRead()
        self.assertEqual(len(accepted), port.maxAcceptsPerRead + 36)
        for proto in accepted:
            assert isinstance(proto.transport, EagerServer)
            self.addCleanup(proto.transport.abortConnection)

    @inlineCallbacks
    def test_sentAndClosedBeforeTheNextIteration(self) -> Any:
        """
        What C{connectionMade} writes, and the end of the stream after it,
        have reached the client by the time C{connectionMade} returns; the
        socket is closed without waiting for a poll to report it writable.
        """
        client = socket.socket()
        self.addCleanup(client.close)
        factory = _GreeterFactory(b"Welcome!", client)
        port = self.listen(factory)
        client.connect(("127.0.0.1", port))
        client.setblocking(False)
        yield factory.seenSoon
        self.assertEqual(factory.seenAtOnce, (b"Welcome!", True))
        self.assertIs(factory.waitingForWritable, False)
        self.assertEqual(len(factory.lost), 1)
        factory.lost[0].trap(ConnectionDone)
        self.assertIsInstance(factory.transports[0], EagerServer)
        self.assertEqual(len(factory.lost), 1)
        factory.lost[0].trap(ConnectionDone)

    @inlineCallbacks
    def test_largeWriteArrivesWhole(self) -> Any:
        """
        A write larger than the socket takes at once is sent in part and the
        rest buffered; the client gets every byte in order, then the close.
        """
        data = bytes(range(256)) * 40000
        port = self.listen(_GreeterFactory(data))
        collector = _Collector()
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), collector)
        received, reason = yield collector.done
        self.assertEqual(len(received), len(data))
        self.assertTrue(received == data)
        reason.trap(ConnectionDone)

    @inlineCallbacks
    def test_tls(self) -> Any:
        """
        TLS layered over the eager transport still delivers the greeting and
        closes cleanly.
        """
        key = ssl.KeyPair.generate(size=2048)
        certificate = key.selfSignedCert(1, CN="localhost")
        serverFactory = TLSMemoryBIOFactory(
            certificate.options(), False, _GreeterFactory(b"Welcome!")
        )
        port = self.listen(serverFactory)
        collector = _Collector()
        clientFactory = TLSMemoryBIOFactory(
            ssl.CertificateOptions(), True, Factory.forProtocol(lambda: collector)
        )
        yield TCP4ClientEndpoint(reactor, "127.0.0.1", port).connect(clientFactory)
        received, reason = yield collector.done
        self.assertEqual(received, b"Welcome!")
        reason.trap(ConnectionDone)

    @inlineCallbacks
    def test_openConnectionReads(self) -> Any:
        """
        A connection that stays open is registered for reading after it is
        set up, and receives what the client sends.
        """

        class Echo(Protocol):
            def dataReceived(self, data: bytes) -> None:
                assert self.transport is not None
                self.transport.write(data)
                self.transport.loseConnection()

        port = self.listen(Factory.forProtocol(Echo))
        collector = _Collector()
        client = yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", port), collector
        )
        client.transport.write(b"ping")
        data, reason = yield collector.done
        self.assertEqual(data, b"ping")
        reason.trap(ConnectionDone)

    @inlineCallbacks
    def test_abortConnection(self) -> Any:
        """
        C{abortConnection} in C{connectionMade} resets the connection, as on
        Twisted's own transport.
        """
        lost: Deferred[BaseException] = Deferred()

        class Aborter(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                self.transport.abortConnection()  # type: ignore[attr-defined]

            def connectionLost(self, reason: Failure = _DONE) -> None:
                lost.callback(reason.value or Exception("no reason"))

        port = self.listen(Factory.forProtocol(Aborter))
        collector = _Collector()
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), collector)
        why = yield lost
        self.assertIsInstance(why, ConnectionAborted)
        received, _ = yield collector.done
        self.assertEqual(received, b"")

    def test_eagerIfTCP(self) -> None:
        """
        L{eagerIfTCP} swaps the endpoint a C{tcp:} description makes for an
        eager one with the same port, backlog and interface, and leaves any
        other endpoint as it is.
        """
        reactor = MemoryReactor()
        plain = serverFromString(reactor, "tcp:1234:backlog=7:interface=127.0.0.1")
        eager = eagerIfTCP(plain)
        self.assertIsInstance(eager, EagerTCP4ServerEndpoint)
        eager.listen(Factory.forProtocol(Protocol))
        [(port, _, backlog, interface)] = reactor.tcpServers
        self.assertEqual((port, backlog, interface), (1234, 7, "127.0.0.1"))
        unix = serverFromString(reactor, "unix:welcome-test.sock")
        self.assertIs(eagerIfTCP(unix), unix)
        six = serverFromString(reactor, "tcp6:1234")
        self.assertIs(eagerIfTCP(six), six)

    def test_otherReactorsListenAsUsual(self) -> None:
        """
        On a reactor that is not one of Twisted's POSIX reactors (here a
        test double), the endpoint uses C{listenTCP}.
        """
        memory = MemoryReactor()
        factory = _GreeterFactory(b"")
        EagerTCP4ServerEndpoint(cast(IReactorTCP, memory), 1234, 7, "::1").listen(
            factory
        )
        self.assertEqual(memory.tcpServers, [(1234, factory, 7, "::1")])


def _later() -> Deferred[None]:
    """
    @return: A L{Deferred} that fires on a later reactor iteration.
    """
    d: Deferred[None] = Deferred()
    reactor.callLater(0.001, d.callback, None)
    return d
