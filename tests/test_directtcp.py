"""
Tests for L{welcome_protocol.listening.directtcp}: data and the close go out at once,
and the transport keeps every promise of Twisted's own TCP transport: partial
writes, resets, producers, half-closes, aborts, TLS on top.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import Any, cast

from twisted.internet import reactor as globalReactor
from twisted.internet import ssl
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    connectProtocol,
)
from twisted.internet.error import (
    CannotListenError,
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
)
from twisted.internet.interfaces import (
    IAddress,
    IHalfCloseableProtocol,
    IListeningPort,
    IProtocolFactory,
    IPullProducer,
    IPushProducer,
    IReactorFDSet,
    IReactorTCP,
    ITCPTransport,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor, MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import SkipTest, TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.certificates import makeCertificate
from tests.support import temporaryPath
from welcome_protocol.listening.directtcp import (
    DirectPort,
    DirectTCP4ServerEndpoint,
    DirectTransport,
)
from welcome_protocol.listening.directtcp.pausing import AcceptPauser
from welcome_protocol.listening.directtcp.transport import BUFFER_SIZE
from welcome_protocol.listening.fdexhaustion import PausingAcceptEndpoint

reactor = cast(Any, globalReactor)
_DONE = Failure(ConnectionDone())
_PEER = IPv4Address("TCP", "127.0.0.1", 40000)


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
            reactor.callLater(0.001, self.factory.seenSoon.callback, client)

    def connectionLost(self, reason: Failure = _DONE) -> None:
        """
        Remember how the connection ended, and whether the transport was
        ever registered with the reactor.
        """
        transport = self.transport
        self.factory.registered.append(
            transport in reactor.getReaders() or transport in reactor.getWriters()
        )
        self.factory.lost.append(reason)


class _GreeterFactory(Factory):
    # _Greeter narrows its factory attribute to this class, which
    # Factory.protocol's annotation (a protocol of any factory) cannot say.
    protocol = _Greeter  # type: ignore[assignment]

    def __init__(self, data: bytes, rawClient: socket.socket | None = None) -> None:
        self.data = data
        self.rawClient = rawClient
        self.seenAtOnce: tuple[bytes, bool] | None = None
        self.seenSoon: Deferred[socket.socket] = Deferred()
        self.transports: list[object] = []
        self.lost: list[Failure] = []
        self.registered: list[bool] = []


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


class _Recorder(Protocol):
    """
    Record what the transport hands over, for tests with a scripted socket.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.lost: list[Failure] = []
        self.halfClosed = 0

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data}.
        """
        self.received.append(data)

    def connectionLost(self, reason: Failure = _DONE) -> None:
        """
        Keep C{reason}.
        """
        self.lost.append(reason)


class _ScriptedSocket:
    """
    A connected socket whose C{send} takes at most C{room} bytes (then
    raises C{EAGAIN}), or raises C{error}; C{recv} returns C{incoming}.
    """

    def __init__(self, room: int = 1 << 30) -> None:
        self.room = room
        self.sent: list[bytes] = []
        self.error: int | None = None
        self.incoming: list[bytes | int] = []
        self.closed = False
        self.shutdowns: list[int] = []

    def send(self, data: bytes) -> int:
        if self.error is not None:
            raise OSError(self.error, "scripted")
        if not self.room:
            raise BlockingIOError(errno.EAGAIN, "scripted")
        taken = bytes(data[: self.room])
        self.room -= len(taken)
        self.sent.append(taken)
        return len(taken)

    def recv(self, size: int) -> bytes:
        item = self.incoming.pop(0) if self.incoming else errno.EAGAIN
        if isinstance(item, int):
            raise OSError(item, "scripted")
        return item

    def shutdown(self, how: int) -> None:
        self.shutdowns.append(how)

    def close(self) -> None:
        self.closed = True

    def fileno(self) -> int:
        return 99

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", 12000)


def _scripted(
    protocol: Protocol, room: int = 1 << 30
) -> tuple[DirectTransport, _ScriptedSocket, MemoryReactorClock]:
    """
    Connect C{protocol} to a L{DirectTransport} over a scripted socket, the
    way the port does: C{makeConnection}, then C{settle}.
    """
    memory = MemoryReactorClock()
    skt = _ScriptedSocket(room)
    transport = DirectTransport(
        cast(socket.socket, skt), protocol, _PEER, cast(IReactorFDSet, memory)
    )
    transport.connectProtocol()
    transport.settle()
    return transport, skt, memory


class DirectTransportTests(TestCase):
    """
    L{DirectTransport} over a scripted socket, on a L{MemoryReactorClock}.
    """

    def test_providesITCPTransport(self) -> None:
        """
        The transport provides C{ITCPTransport} and reports the addresses.
        """
        transport, _, _ = _scripted(_Recorder())
        self.assertTrue(verifyObject(ITCPTransport, transport))
        self.assertIs(transport.getPeer(), _PEER)
        self.assertEqual(transport.getHost(), IPv4Address("TCP", "127.0.0.1", 12000))

    def test_writeTheKernelTakesInPartIsBuffered(self) -> None:
        """
        When C{send()} takes only part of a write, the rest (and later
        writes, in order) wait for the socket to be writable, and a close
        asked for meanwhile happens only once all of it is sent.
        """
        protocol = _Recorder()
        transport, skt, memory = _scripted(protocol, room=3)
        transport.write(b"Welcome!")
        transport.write(b" more")
        self.assertEqual(b"".join(skt.sent), b"Wel")
        self.assertIn(transport, memory.getWriters())
        transport.loseConnection()
        memory.advance(0)
        self.assertFalse(skt.closed)
        skt.room = 4
        transport.doWrite()
        self.assertEqual(b"".join(skt.sent), b"Welcome")
        self.assertFalse(skt.closed)
        skt.room = 100
        transport.doWrite()
        self.assertEqual(b"".join(skt.sent), b"Welcome! more")
        self.assertTrue(skt.closed)
        self.assertNotIn(transport, memory.getWriters())
        self.assertEqual(len(protocol.lost), 1)
        protocol.lost[0].trap(ConnectionDone)

    def test_resetWhileWritingEndsConnection(self) -> None:
        """
        A client that resets the connection while data is buffered ends it
        with C{ConnectionLost}: the socket is closed, nothing stays
        registered, and the rest of the data is dropped.
        """
        protocol = _Recorder()
        transport, skt, memory = _scripted(protocol, room=2)
        transport.write(b"Welcome!")
        skt.error = errno.ECONNRESET
        transport.doWrite()
        self.assertTrue(skt.closed)
        self.assertNotIn(transport, memory.getWriters())
        self.assertNotIn(transport, memory.getReaders())
        self.assertEqual(transport.fileno(), -1)
        [reason] = protocol.lost
        reason.trap(ConnectionLost)
        transport.write(b"ignored")
        self.assertEqual(skt.sent, [b"We"])

    def test_sendErrorAtOnceEndsConnection(self) -> None:
        """
        A write whose immediate C{send()} fails (the client already reset)
        ends the connection once the reactor reports the socket writable.
        """
        protocol = _Recorder()
        transport, skt, memory = _scripted(protocol)
        skt.error = errno.EPIPE
        transport.write(b"Welcome!")
        self.assertIn(transport, memory.getWriters())
        transport.doWrite()
        protocol.lost[0].trap(ConnectionLost)

    def test_loseConnectionOutsideDispatchClosesNextTurn(self) -> None:
        """
        C{loseConnection} called from elsewhere than the transport's own
        calls (a timer, say) closes on the next reactor turn, not inside
        the caller's call.
        """
        protocol = _Recorder()
        transport, skt, memory = _scripted(protocol)
        self.assertIn(transport, memory.getReaders())
        transport.loseConnection()
        self.assertFalse(skt.closed)
        self.assertEqual(protocol.lost, [])
        self.assertNotIn(transport, memory.getReaders())
        memory.advance(0)
        self.assertTrue(skt.closed)
        protocol.lost[0].trap(ConnectionDone)

    def test_loseConnectionInDataReceivedClosesOnReturn(self) -> None:
        """
        A protocol that closes in C{dataReceived} is closed once it has
        returned, with no delayed call.
        """

        class Closer(_Recorder):
            def dataReceived(self, data: bytes) -> None:
                super().dataReceived(data)
                assert self.transport is not None
                self.transport.loseConnection()
                self.seenOpen = not skt.closed

        protocol = Closer()
        transport, skt, memory = _scripted(protocol)
        skt.incoming.append(b"bye")
        transport.doRead()
        self.assertTrue(protocol.seenOpen)
        self.assertTrue(skt.closed)
        self.assertEqual(memory.getDelayedCalls(), [])
        self.assertEqual(protocol.received, [b"bye"])

    def test_endOfStreamAndReadErrors(self) -> None:
        """
        The end of the stream ends the connection with C{ConnectionDone}, a
        read error with C{ConnectionLost}; C{EAGAIN} is nothing.
        """
        protocol = _Recorder()
        transport, skt, _ = _scripted(protocol)
        skt.incoming += [errno.EAGAIN, b"x", b""]
        transport.doRead()
        transport.doRead()
        self.assertEqual(protocol.lost, [])
        transport.doRead()
        protocol.lost[0].trap(ConnectionDone)
        other = _Recorder()
        transport, skt, _ = _scripted(other)
        skt.incoming.append(errno.ECONNRESET)
        transport.doRead()
        other.lost[0].trap(ConnectionLost)

    def test_halfCloseableProtocolKeepsWriting(self) -> None:
        """
        A protocol providing C{IHalfCloseableProtocol} is told the client
        stopped sending, and can still write; C{loseWriteConnection} ends
        the stream without closing.
        """

        @implementer(IHalfCloseableProtocol)
        class HalfCloser(_Recorder):
            def readConnectionLost(self) -> None:
                self.halfClosed += 1
                assert self.transport is not None
                self.transport.write(b"bye")
                cast(ITCPTransport, self.transport).loseWriteConnection()

            def writeConnectionLost(self) -> None:
                pass

        protocol = HalfCloser()
        transport, skt, memory = _scripted(protocol)
        skt.incoming.append(b"")
        transport.doRead()
        self.assertEqual(protocol.halfClosed, 1)
        self.assertEqual(skt.sent, [b"bye"])
        self.assertEqual(skt.shutdowns, [socket.SHUT_WR])
        self.assertFalse(skt.closed)
        self.assertNotIn(transport, memory.getReaders())

    def test_pullProducerRegisteredInConnectionMade(self) -> None:
        """
        A pull producer registered in C{connectionMade} is asked for data
        at once and again each time the buffer has been sent; a close asked
        for before it unregisters waits for it and for the buffer.
        """

        @implementer(IPullProducer)
        class Chunks:
            def __init__(self, transport: DirectTransport) -> None:
                self.transport = transport
                self.left = 3

            def resumeProducing(self) -> None:
                self.left -= 1
                self.transport.write(b"chunk%d;" % self.left)
                if not self.left:
                    self.transport.unregisterProducer()

            def stopProducing(self) -> None:
                pass

        class Producing(_Recorder):
            def connectionMade(self) -> None:
                transport = cast(DirectTransport, self.transport)
                transport.registerProducer(Chunks(transport), False)
                transport.loseConnection()

        protocol = Producing()
        transport, skt, memory = _scripted(protocol)
        self.assertEqual(skt.sent, [])
        self.assertIn(transport, memory.getWriters())
        for _ in range(3):
            self.assertFalse(skt.closed)
            transport.doWrite()
        self.assertEqual(b"".join(skt.sent), b"chunk2;chunk1;chunk0;")
        self.assertTrue(skt.closed)
        protocol.lost[0].trap(ConnectionDone)

    def test_pushProducerPausedWhileBufferFull(self) -> None:
        """
        A push producer registered in C{connectionMade} is paused once more
        than L{BUFFER_SIZE} bytes wait, and resumed once they are sent; it
        is stopped when the connection is lost.
        """
        calls: list[str] = []

        @implementer(IPushProducer)
        class Push:
            def pauseProducing(self) -> None:
                calls.append("pause")

            def resumeProducing(self) -> None:
                calls.append("resume")

            def stopProducing(self) -> None:
                calls.append("stop")

        class Pushing(_Recorder):
            def connectionMade(self) -> None:
                assert self.transport is not None
                cast(DirectTransport, self.transport).registerProducer(Push(), True)
                self.transport.write(b"x" * (BUFFER_SIZE + 1))

        protocol = Pushing()
        transport, skt, _ = _scripted(protocol, room=0)
        self.assertEqual(calls, ["pause"])
        skt.room = 1 << 20
        transport.doWrite()
        self.assertEqual(calls, ["pause", "resume"])
        transport.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(calls, ["pause", "resume", "stop"])

    def test_pauseProducingStopsReading(self) -> None:
        """
        As an C{IPushProducer} (for TLS on top, say), the transport stops
        and starts reading the client when paused and resumed.
        """
        transport, _, memory = _scripted(_Recorder())
        transport.pauseProducing()
        self.assertNotIn(transport, memory.getReaders())
        transport.resumeProducing()
        self.assertIn(transport, memory.getReaders())

    def test_abortDropsBufferAndClosesSoon(self) -> None:
        """
        C{abortConnection} drops what is buffered and closes with
        C{ConnectionAborted} on the next turn, even after C{loseConnection}.
        """
        protocol = _Recorder()
        transport, skt, memory = _scripted(protocol, room=1)
        transport.write(b"Welcome!")
        transport.loseConnection()
        transport.abortConnection()
        self.assertNotIn(transport, memory.getWriters())
        memory.advance(0)
        self.assertTrue(skt.closed)
        protocol.lost[0].trap(ConnectionAborted)
        self.assertEqual(len(protocol.lost), 1)


def _acceptedPair(testCase: TestCase) -> tuple[int, socket.socket]:
    """
    Make a loopback TCP connection the way C{accept4()} leaves it: the
    server's end a bare descriptor, blocking.

    @return: The server's descriptor and the client's socket (closed when
        C{testCase} ends; the descriptor belongs to the transport under test).
    """
    listening = socket.socket()
    testCase.addCleanup(listening.close)
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)
    client = socket.create_connection(listening.getsockname())
    testCase.addCleanup(client.close)
    accepted, _ = listening.accept()
    return accepted.detach(), client


class _WriteAndClose(Protocol):
    """
    Write C{data} and close in C{connectionMade}, noting whether the
    descriptor was still blocking when the write returned.
    """

    def __init__(self, data: bytes, fd: int) -> None:
        self.data = data
        self.fd = fd
        self.blockingAfterWrite: bool | None = None

    def connectionMade(self) -> None:
        """
        Write, look at the descriptor, close.
        """
        assert self.transport is not None
        self.transport.write(self.data)
        self.blockingAfterWrite = os.get_blocking(self.fd)
        self.transport.loseConnection()


class BareDescriptorTests(TestCase):
    """
    L{DirectTransport} over the bare descriptor that C{accept4()} gives:
    a connection greeted and closed costs no more system calls than
    C{accept4()}, one write and C{close()}, and still never blocks.
    """

    def _connect(
        self, protocol: Protocol, fd: int
    ) -> tuple[DirectTransport, MemoryReactorClock]:
        memory = MemoryReactorClock()
        transport = DirectTransport(fd, protocol, _PEER, cast(IReactorFDSet, memory))
        transport.connectProtocol()
        transport.settle()
        return transport, memory

    def test_greetingLeavesTheDescriptorAlone(self) -> None:
        """
        A greeting written and closed in C{connectionMade} goes out without
        the descriptor ever being made non-blocking (no C{ioctl}) and
        without the reactor; the client gets it and the end of the stream.
        """
        fd, client = _acceptedPair(self)
        protocol = _WriteAndClose(b"Welcome!", fd)
        transport, memory = self._connect(protocol, fd)
        self.assertIs(protocol.blockingAfterWrite, True)
        self.assertEqual(transport.fileno(), -1)
        self.assertEqual(memory.getReaders() + memory.getWriters(), [])
        client.settimeout(5)
        self.assertEqual(client.recv(100), b"Welcome!")
        self.assertEqual(client.recv(100), b"")

    def test_writeBeyondTheBufferNeverBlocks(self) -> None:
        """
        A write larger than the kernel takes, on a descriptor that is
        still blocking, returns at once; the rest is buffered and the
        socket made non-blocking before the reactor polls it.
        """
        fd, _ = _acceptedPair(self)
        data = b"x" * (16 * 1024 * 1024)
        protocol = _WriteAndClose(data, fd)
        transport, memory = self._connect(protocol, fd)
        self.addCleanup(transport.connectionLost, _DONE)
        self.assertIs(protocol.blockingAfterWrite, False)
        self.assertEqual(memory.getWriters(), [transport])
        self.assertFalse(os.get_blocking(fd))
        self.assertFalse(transport.getHandle().getblocking())

    def test_fallsBackWhereTheKernelRefuses(self) -> None:
        """
        Where the kernel cannot write a socket with C{RWF_NOWAIT}, the
        transport sends through the socket object instead, and so does
        every transport after it.
        """
        fd, client = _acceptedPair(self)
        self.patch(DirectTransport, "sendsWithoutSocket", True)

        def refuse(*args: object) -> int:
            raise OSError(errno.EOPNOTSUPP, "scripted")

        self.patch(os, "pwritev", refuse)
        self._connect(_WriteAndClose(b"Welcome!", fd), fd)
        self.assertFalse(DirectTransport.sendsWithoutSocket)
        client.settimeout(5)
        self.assertEqual(client.recv(100), b"Welcome!")
        self.assertEqual(client.recv(100), b"")

    def test_addressesOfABareDescriptor(self) -> None:
        """
        The local address is the socket's own; asking it (as a message
        template does, in C{connectionMade}) does not make the descriptor
        non-blocking, and the welcome still goes out.
        """
        fd, client = _acceptedPair(self)
        seen: list[object] = []

        class AskThenWrite(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                seen.append(self.transport.getHost())
                seen.append(self.transport.getPeer())
                seen.append(os.get_blocking(fd))
                self.transport.write(b"Welcome!")
                self.transport.loseConnection()

        self._connect(AskThenWrite(), fd)
        self.assertEqual(seen, [IPv4Address("TCP", *client.getpeername()), _PEER, True])
        client.settimeout(5)
        self.assertEqual(client.recv(100), b"Welcome!")
        self.assertEqual(client.recv(100), b"")

    def test_writeAfterAskingTheAddressNeverBlocks(self) -> None:
        """
        A write larger than the kernel takes, after the local address was
        asked for, returns at once too; the rest waits for the reactor on a
        socket made non-blocking.
        """
        fd, _ = _acceptedPair(self)

        class AskThenFlood(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                self.transport.getHost()
                self.transport.write(b"x" * (16 * 1024 * 1024))

        transport, memory = self._connect(AskThenFlood(), fd)
        self.addCleanup(transport.connectionLost, _DONE)
        self.assertEqual(memory.getWriters(), [transport])
        self.assertFalse(os.get_blocking(fd))


class DirectServerTests(TestCase):
    """
    L{DirectTCP4ServerEndpoint} on the real reactor over loopback.
    """

    def listen(self, factory: IProtocolFactory) -> int:
        """
        Listen on a free loopback port with C{factory} until the test ends.

        @return: The port number.
        """
        endpoint = DirectTCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        ports: list[IListeningPort] = []
        endpoint.listen(factory).addCallback(ports.append)
        self.addCleanup(ports[0].stopListening)
        [port] = ports
        assert isinstance(port, DirectPort)
        return port.getHost().port

    def test_acceptsBoundedPerRead(self) -> None:
        """
        One read of the listening socket accepts at most
        C{maxAcceptsPerRead} connections, however many wait, so their
        clean-up never holds the reactor for long.
        """
        accepted: list[Protocol] = []

        class Counting(Factory):
            def buildProtocol(self, addr: object) -> Protocol:
                proto = Protocol()
                accepted.append(proto)
                return proto

        port = DirectPort.listen(reactor, Counting(), 0, 256, "127.0.0.1")
        self.addCleanup(port.stopListening)
        address = ("127.0.0.1", port.getHost().port)
        for _ in range(port.maxAcceptsPerRead + 36):
            self.addCleanup(socket.create_connection(address).close)
        port.doRead()
        self.assertEqual(len(accepted), port.maxAcceptsPerRead)
        port.doRead()
        self.assertEqual(len(accepted), port.maxAcceptsPerRead + 36)
        for proto in accepted:
            assert isinstance(proto.transport, DirectTransport)
            self.addCleanup(proto.transport.abortConnection)

    @inlineCallbacks
    def test_sentAndClosedBeforeTheNextIteration(self) -> Any:
        """
        What C{connectionMade} writes, and the end of the stream after it,
        reach the client as soon as C{connectionMade} returns, and the
        connection is never registered with the reactor.
        """
        client = socket.socket()
        self.addCleanup(client.close)
        factory = _GreeterFactory(b"Welcome!", client)
        port = self.listen(factory)
        client.connect(("127.0.0.1", port))
        client.setblocking(False)
        yield factory.seenSoon
        self.assertEqual(factory.seenAtOnce, (b"Welcome!", False))
        self.assertEqual(_drain(client), (b"", True))
        self.assertEqual(len(factory.lost), 1)
        factory.lost[0].trap(ConnectionDone)
        self.assertEqual(factory.registered, [False])
        self.assertIsInstance(factory.transports[0], DirectTransport)

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
    def test_clientResetMidWrite(self) -> Any:
        """
        A client that resets the connection while a long write is still
        buffered ends it with C{ConnectionLost} on the server, which
        unregisters it.
        """
        lost: Deferred[BaseException | None] = Deferred()
        transports: list[DirectTransport] = []

        class Flood(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                transports.append(cast(DirectTransport, self.transport))
                self.transport.write(b"x" * (32 * 1024 * 1024))

            def connectionLost(self, reason: Failure = _DONE) -> None:
                lost.callback(reason.value)

        class Resetter(Protocol):
            def dataReceived(self, data: bytes) -> None:
                assert self.transport is not None
                handle = cast(Any, self.transport).getHandle()
                handle.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0"
                )
                cast(ITCPTransport, self.transport).abortConnection()

        port = self.listen(Factory.forProtocol(Flood))
        yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", port), Resetter()
        )
        why = yield lost
        self.assertIsInstance(why, ConnectionLost)
        [transport] = transports
        self.assertNotIn(transport, reactor.getWriters())
        self.assertNotIn(transport, reactor.getReaders())

    @inlineCallbacks
    def test_tls(self) -> Any:
        """
        TLS layered over the transport still delivers the greeting and
        closes cleanly.
        """
        scratch = Path(temporaryPath(self))
        scratch.mkdir()
        certPath, keyPath = makeCertificate(scratch)
        certificate = ssl.PrivateCertificate.loadPEM(
            keyPath.read_text() + certPath.read_text()
        )
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
    def test_ipv6ConnectionStaysOpen(self) -> Any:
        """
        An IPv6 client of a port on C{::1} that stays open reads and writes
        through an IPv6 socket, and the transport reports both addresses.
        """
        if not socket.has_ipv6:
            raise SkipTest("no IPv6")
        addresses: list[tuple[IAddress, IAddress, int]] = []

        class Echo(Protocol):
            def dataReceived(self, data: bytes) -> None:
                assert isinstance(self.transport, DirectTransport)
                addresses.append(
                    (
                        self.transport.getHost(),
                        self.transport.getPeer(),
                        self.transport.getHandle().family,
                    )
                )
                self.transport.write(data)
                self.transport.loseConnection()

        try:
            port = DirectPort.listen(reactor, Factory.forProtocol(Echo), 0, 50, "::1")
        except CannotListenError as e:
            raise SkipTest(f"cannot listen on ::1: {e}") from e
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        collector = _Collector()
        client = yield connectProtocol(
            TCP6ClientEndpoint(reactor, "::1", number), collector
        )
        clientAddress = client.transport.getHost()
        client.transport.write(b"ping")
        data, reason = yield collector.done
        self.assertEqual(data, b"ping")
        reason.trap(ConnectionDone)
        [(host, peer, family)] = addresses
        self.assertEqual(host, IPv6Address("TCP", "::1", number))
        self.assertEqual(peer, clientAddress)
        self.assertEqual(family, socket.AF_INET6)

    @inlineCallbacks
    def test_abortConnection(self) -> Any:
        """
        C{abortConnection} in C{connectionMade} ends the connection with
        C{ConnectionAborted}, with nothing sent.
        """
        lost: Deferred[BaseException] = Deferred()

        class Aborter(Protocol):
            def connectionMade(self) -> None:
                assert isinstance(self.transport, DirectTransport)
                self.transport.abortConnection()

            def connectionLost(self, reason: Failure = _DONE) -> None:
                lost.callback(reason.value or Exception("no reason"))

        port = self.listen(Factory.forProtocol(Aborter))
        collector = _Collector()
        yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), collector)
        why = yield lost
        self.assertIsInstance(why, ConnectionAborted)
        received, _ = yield collector.done
        self.assertEqual(received, b"")

    @inlineCallbacks
    def test_stopListeningStopsFactory(self) -> Any:
        """
        C{stopListening} fires once the socket is closed and the factory
        stopped; the address can be listened on again.
        """
        factory = _GreeterFactory(b"")
        port = DirectPort.listen(reactor, factory, 0, 50, "127.0.0.1")
        number = port.getHost().port
        self.assertEqual(factory.numPorts, 1)
        yield port.stopListening()
        self.assertEqual(factory.numPorts, 0)
        self.assertEqual(port.fileno(), -1)
        again = DirectPort.listen(reactor, factory, number, 50, "127.0.0.1")
        yield again.stopListening()

    def test_cannotListen(self) -> None:
        """
        An address in use is reported as C{CannotListenError}, as Twisted's
        C{listenTCP} reports it.
        """
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        number = taken.getsockname()[1]
        with self.assertRaises(CannotListenError):
            DirectPort.listen(reactor, _GreeterFactory(b""), number, 50, "127.0.0.1")


class _FullListeningSocket:
    """
    A listening socket whose C{accept} fails with C{EMFILE}.
    """

    family = socket.AF_INET

    def __init__(self) -> None:
        self.accepts = 0

    def accept(self) -> tuple[socket.socket, Any]:
        self.accepts += 1
        raise OSError(errno.EMFILE, "scripted")

    def fileno(self) -> int:
        return 98

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", 12000)


class DirectPortOutOfResourcesTests(TestCase):
    """
    L{DirectPort} with the pausing of
    L{welcome_protocol.listening.directtcp.pausing}.
    """

    def test_emfilePausesAccepting(self) -> None:
        """
        EMFILE stops reading the listening socket once (no spinning) and
        reading starts again after the retry delay.
        """
        memory = MemoryReactorClock()
        listening = _FullListeningSocket()
        port = DirectPort(
            cast(IReactorFDSet, memory),
            Factory.forProtocol(Protocol),
            cast(socket.socket, listening),
        )
        port.startListening()
        pauser = AcceptPauser(port, memory, retryDelay=0.5)
        port.outOfResources = pauser.outOfResources
        port.doRead()
        self.assertEqual(listening.accepts, 1)
        self.assertTrue(pauser.paused)
        self.assertNotIn(port, memory.getReaders())
        memory.advance(0.5)
        self.assertIn(port, memory.getReaders())
        pauser.stop()

    def test_emfileWithoutPauserStillPauses(self) -> None:
        """
        A port nobody gave a pauser (as a worker's was) pauses all the same
        on EMFILE: it never returns to the reactor still reading a socket
        that stays readable.
        """
        memory = MemoryReactorClock()
        listening = _FullListeningSocket()
        port = DirectPort(
            cast(IReactorFDSet, memory),
            Factory.forProtocol(Protocol),
            cast(socket.socket, listening),
        )
        port.startListening()
        port.doRead()
        self.assertEqual(listening.accepts, 1)
        self.assertNotIn(port, memory.getReaders())
        memory.advance(0.1)
        self.assertIn(port, memory.getReaders())
        port.doRead()
        self.assertEqual(listening.accepts, 2)
        self.assertNotIn(port, memory.getReaders())
        memory.advance(0.1)

    def test_pausingEndpointGuardsDirectPort(self) -> None:
        """
        L{PausingAcceptEndpoint} attaches its pauser to a L{DirectPort}.
        """
        endpoint = PausingAcceptEndpoint(
            DirectTCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), reactor
        )
        ports: list[IListeningPort] = []
        endpoint.listen(Factory.forProtocol(Protocol)).addCallback(ports.append)
        [port] = ports
        self.addCleanup(port.stopListening)
        assert isinstance(port, DirectPort)
        assert endpoint.pauser is not None
        self.assertEqual(port.outOfResources, endpoint.pauser.outOfResources)


class EndpointTests(TestCase):
    """
    The fallback of L{DirectTCP4ServerEndpoint}.
    """

    def test_otherReactorsListenAsUsual(self) -> None:
        """
        On a reactor that is not one of Twisted's POSIX reactors (here a
        test double), the endpoint uses C{listenTCP}.
        """
        memory = MemoryReactor()
        factory = _GreeterFactory(b"")
        DirectTCP4ServerEndpoint(cast(IReactorTCP, memory), 1234, 7, "::1").listen(
            factory
        )
        self.assertEqual(memory.tcpServers, [(1234, factory, 7, "::1")])
