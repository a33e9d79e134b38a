"""
Tests for L{welcome_protocol.handshaking.handshakes}: the deadline and the cap for
connections that have not reached their welcome, and TLS greeting only once
the handshake is done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twisted.internet import ssl
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import temporaryPath
from welcome_protocol.admission.admission import Admission
from welcome_protocol.admission.limits import ConnectionLimits
from welcome_protocol.admission.unfinished import (
    PROXY_HEADER,
    TLS_HANDSHAKE,
    HandshakeGuard,
)
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.handshaking.handshakes import (
    HandshakeFirstWrapper,
    HandshakeFirstWrappingFactory,
)
from welcome_protocol.shared.stats import ServerStats


def _peer(host: str = "192.0.2.7", port: int = 40000) -> IPv4Address:
    return IPv4Address("TCP", host, port)


class _Connection:
    """
    An unfinished connection that only records being aborted.
    """

    def __init__(self, phase: str = TLS_HANDSHAKE, port: int = 40000) -> None:
        self.phase = phase
        self.rawPeer: IAddress = _peer(port=port)
        self.aborted = False

    def abortUnfinished(self) -> None:
        """
        Note the abort.
        """
        self.aborted = True


def _guard(
    timeout: float | None = 10.0, cap: int = 100, limits: ConnectionLimits | None = None
) -> tuple[HandshakeGuard, Clock, ServerStats]:
    clock = Clock()
    stats = ServerStats(0)
    return HandshakeGuard(timeout, cap, stats, clock, limits), clock, stats


class HandshakeGuardTests(TestCase):
    """
    L{HandshakeGuard} aborts unfinished connections at their deadline and
    beyond its cap, with one timer.
    """

    def test_openUntilDeadlineAbortedAfter(self) -> None:
        """
        A connection that never finishes is open just before the deadline
        and aborted just after it, counted by its phase.
        """
        guard, clock, stats = _guard(10.0)
        connection = _Connection(TLS_HANDSHAKE)
        self.assertTrue(guard.start(connection, None))
        clock.advance(9.999)
        self.assertFalse(connection.aborted)
        self.assertEqual(guard.unfinished, 1)
        clock.advance(0.002)
        self.assertTrue(connection.aborted)
        self.assertEqual((stats.handshakeTimeoutsTLS, guard.unfinished), (1, 0))
        # Only the log's interval is left; the deadline timer is gone.
        self.assertEqual(len(clock.getDelayedCalls()), 1)

    def test_phaseCounted(self) -> None:
        """
        A connection waiting for its PROXY header counts as a PROXY header
        timeout, not a TLS one.
        """
        guard, clock, stats = _guard(1.0)
        guard.start(_Connection(PROXY_HEADER), None)
        clock.advance(1)
        self.assertEqual(
            (stats.handshakeTimeoutsProxy, stats.handshakeTimeoutsTLS), (1, 0)
        )

    def test_deadlinesInAcceptOrder(self) -> None:
        """
        Each connection's deadline counts from its own accept.
        """
        guard, clock, _ = _guard(10.0)
        first, second = _Connection(), _Connection()
        guard.start(first, None)
        clock.advance(5)
        guard.start(second, None)
        clock.advance(5)
        self.assertEqual((first.aborted, second.aborted), (True, False))
        clock.advance(4.9)
        self.assertFalse(second.aborted)
        clock.advance(0.1)
        self.assertTrue(second.aborted)

    def test_oneTimerForAll(self) -> None:
        """
        However many connections are unfinished, one timer is pending.
        """
        guard, clock, _ = _guard(10.0, cap=1000)
        for port in range(500):
            guard.start(_Connection(port=port), None)
            clock.advance(0.01)
        self.assertEqual(len(clock.getDelayedCalls()), 1)

    def test_finishedNotAborted(self) -> None:
        """
        A connection that finishes in time is forgotten: never aborted nor
        counted, and its place under the limits is given back.
        """
        stats = ServerStats(0)
        limits = ConnectionLimits(10, 10, stats, Clock())
        guard, clock, _ = _guard(10.0, limits=limits)
        guard.stats = stats
        connection = _Connection()
        guard.start(connection, connection.rawPeer)
        self.assertEqual((limits.open, limits.perHost), (1, {"192.0.2.7": 1}))
        self.assertTrue(guard.finish(connection))
        clock.advance(20)
        self.assertFalse(connection.aborted)
        self.assertEqual((stats.handshakeTimeoutsTLS, limits.open), (0, 0))
        self.assertEqual(limits.perHost, {})
        self.assertFalse(guard.finish(connection))

    def test_noDeadline(self) -> None:
        """
        With no timeout, unfinished connections wait for ever, and no timer
        is set.
        """
        guard, clock, _ = _guard(None)
        connection = _Connection()
        guard.start(connection, None)
        self.assertEqual(clock.getDelayedCalls(), [])
        clock.advance(10**6)
        self.assertFalse(connection.aborted)

    def test_capClosesOldest(self) -> None:
        """
        Beyond the cap, the oldest unfinished connection is aborted to make
        room, and counted.
        """
        guard, _, stats = _guard(10.0, cap=3)
        connections = [_Connection(port=port) for port in range(4)]
        for connection in connections:
            self.assertTrue(guard.start(connection, None))
        self.assertEqual([c.aborted for c in connections], [True, False, False, False])
        self.assertEqual((stats.refusedMaxHandshakes, guard.unfinished), (1, 3))

    def test_limitsRefuseAtAccept(self) -> None:
        """
        A connection over C{--max-connections}, with every place held by
        connections past their welcome, is refused at accept: the limits
        count it, the guard never holds it.
        """
        stats = ServerStats(0)
        limits = ConnectionLimits(2, None, stats, Clock())
        guard, _, _ = _guard(10.0, limits=limits)
        limits.admit(_peer(port=1))
        limits.admit(_peer(port=2))
        self.assertFalse(guard.start(_Connection(), None))
        self.assertEqual((stats.refusedMaxConnections, guard.unfinished), (1, 0))

    def test_fullLimitsCloseOldestUnfinished(self) -> None:
        """
        When every place under C{--max-connections} is taken and some are
        held by unfinished connections, a new connection (of any listener)
        closes the oldest unfinished one instead of being refused, counted
        under C{--max-connections}.
        """
        stats = ServerStats(0)
        admission = Admission(
            ServerSettings(maxConnections=2, handshakeTimeout=10.0, maxHandshakes=100),
            stats,
            Clock(),
        )
        limits, guard = admission.limits, admission.unfinished
        first, second = _Connection(port=1), _Connection(port=2)
        guard.start(first, None)
        guard.start(second, None)
        self.assertIsNone(limits.admit(_peer(port=3)))
        self.assertEqual((first.aborted, second.aborted), (True, False))
        self.assertEqual((stats.refusedMaxConnections, limits.open), (1, 2))
        self.assertIsNone(limits.admit(_peer(port=4)))
        self.assertEqual(limits.admit(_peer(port=5)), "max-connections")
        self.assertEqual(stats.refusedMaxConnections, 3)

    def test_lostCountsError(self) -> None:
        """
        A connection that ends before it is finished counts as an error, once.
        """
        guard, _, stats = _guard()
        connection = _Connection()
        guard.start(connection, None)
        guard.lost(connection)
        guard.lost(connection)
        self.assertEqual((stats.errors, guard.unfinished), (1, 0))

    def test_stopAbortsAll(self) -> None:
        """
        Stopping aborts every unfinished connection, counted as closed at
        shutdown, and leaves no timer behind.
        """
        guard, clock, stats = _guard()
        connections = [_Connection(port=port) for port in range(3)]
        for connection in connections:
            guard.start(connection, None)
        self.assertEqual(guard.stop(), 3)
        self.assertTrue(all(c.aborted for c in connections))
        self.assertEqual((stats.closedAtShutdown, clock.getDelayedCalls()), (3, []))

    def test_timeoutsLoggedOncePerInterval(self) -> None:
        """
        A flood of silent clients logs one line naming the phase and the
        deadline, then one summary with the count, never a line each.
        """
        guard, clock, _ = _guard(2.0, cap=1000)
        with capturedLogs() as events:
            for port in range(300):
                guard.start(_Connection(PROXY_HEADER, port), None)
            clock.advance(2)
            clock.advance(10)
        self.assertEqual(
            [formatEvent(e) for e in events],
            [
                "Closed a connection from 192.0.2.7:0: its PROXY header was not "
                "complete 2 s after accept (--handshake-timeout)",
                "Closed 299 more connections in the last 10 s whose PROXY header "
                "was not complete 2 s after accept (--handshake-timeout)",
            ],
        )

    def test_capLoggedOncePerInterval(self) -> None:
        """
        Evictions by the cap are logged once, then summed up.
        """
        guard, clock, _ = _guard(None, cap=1)
        with capturedLogs() as events:
            for port in range(101):
                guard.start(_Connection(TLS_HANDSHAKE, port), None)
            clock.advance(10)
        self.assertEqual(
            [formatEvent(e) for e in events],
            [
                "Closed the oldest unfinished connection, from 192.0.2.7:0 (TLS "
                "handshake pending for 0.0 s), to make room: 1 unfinished "
                "(--max-handshakes)",
                "Closed 99 more unfinished connections in the last 10 s to make "
                "room: 1 unfinished (--max-handshakes)",
            ],
        )


def _factory(clock: Clock, **settings: Any) -> WelcomeFactory:
    return WelcomeFactory(
        ServerSettings(logConnections=False, **settings),
        clock=clock,
    )


def _tlsConnect(
    factory: WelcomeFactory, port: int = 40000
) -> tuple[HandshakeFirstWrapper, StringTransport]:
    wrapping = HandshakeFirstWrappingFactory(factory, factory.handshakes)
    peer = _peer(port=port)
    wrapper = wrapping.buildProtocol(peer)
    assert isinstance(wrapper, HandshakeFirstWrapper)
    transport = StringTransport(peerAddress=peer)
    wrapper.makeConnection(transport)
    return wrapper, transport


class HandshakeFirstWrapperTests(TestCase):
    """
    L{HandshakeFirstWrapper} greets only after the TLS handshake, and bounds
    the wait for it.
    """

    def test_nothingBeforeHandshake(self) -> None:
        """
        Until the handshake completes, nothing is written, nobody is
        welcomed or served, but the connection holds its place.
        """
        clock = Clock()
        factory = _factory(clock)
        _, transport = _tlsConnect(factory)
        self.assertEqual(transport.value(), b"")
        self.assertEqual((factory.stats.bytesSent, factory.limits.open), (0, 1))
        self.assertEqual(factory.handshakes.unfinished, 1)

    def test_silentClientAbortedAtDeadline(self) -> None:
        """
        A client that never completes the handshake is aborted at the
        deadline, unwelcomed, and counted as a TLS handshake timeout.
        """
        clock = Clock()
        factory = _factory(clock, handshakeTimeout=5.0)
        wrapper, transport = _tlsConnect(factory)
        clock.advance(4.99)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.02)
        self.assertTrue(transport.disconnected)
        wrapper.connectionLost(Failure(Exception("aborted")))
        stats = factory.stats
        self.assertEqual((stats.handshakeTimeoutsTLS, stats.served), (1, 0))
        self.assertEqual((stats.errors, factory.limits.open), (0, 0))

    def test_handshakeCompletedGreets(self) -> None:
        """
        Once the handshake completes, the deadline no longer applies and
        the welcome goes out.
        """
        clock = Clock()
        factory = _factory(clock, handshakeTimeout=5.0)
        wrapper, transport = _tlsConnect(factory)
        clock.advance(1)
        wrapper.handshakeCompleted()
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertEqual(factory.handshakes.unfinished, 0)
        self.assertEqual(factory.limits.open, 1)
        # The deadline's timer is gone; only the close's is left.
        self.assertEqual(len(factory.closeDeadline), 1)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(10)
        self.assertFalse(transport.disconnected)
        self.assertEqual(factory.stats.handshakeTimeoutsTLS, 0)

    def test_renegotiationDoesNothing(self) -> None:
        """
        A second C{handshakeCompleted} (a renegotiation) sends nothing more
        and starts no timer.
        """
        clock = Clock()
        factory = _factory(clock, keepOpen=True, idleTimeout=None)
        wrapper, transport = _tlsConnect(factory)
        wrapper.handshakeCompleted()
        transport.clear()
        wrapper.handshakeCompleted()
        self.assertEqual(transport.value(), b"")
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual((factory.stats.bytesSent, factory.limits.open), (8, 1))

    def test_capFullRealClientGreeted(self) -> None:
        """
        With the cap full of silent clients, one more that completes its
        handshake is still greeted; the oldest silent one made room.
        """
        clock = Clock()
        factory = _factory(clock, maxHandshakes=10)
        silent = [_tlsConnect(factory, port) for port in range(10)]
        wrapper, transport = _tlsConnect(factory, 50000)
        self.assertTrue(silent[0][1].disconnected)
        self.assertFalse(any(t.disconnected for _, t in silent[1:]))
        wrapper.handshakeCompleted()
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertEqual(factory.stats.refusedMaxHandshakes, 1)

    def test_refusedByLimitsAtAccept(self) -> None:
        """
        A TLS connection over C{--max-per-ip} is refused at accept, before
        any handshake.
        """
        clock = Clock()
        factory = _factory(clock, maxPerIP=1)
        _tlsConnect(factory, 1)
        _, transport = _tlsConnect(factory, 2)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(factory.stats.refusedMaxPerIP, 1)
        self.assertEqual(factory.handshakes.unfinished, 1)

    def test_factoryStopAbortsUnfinished(self) -> None:
        """
        Once every listener has stopped, connections still in their
        handshake are dropped, not left for the deadline.
        """
        factory = _factory(Clock())
        factory.doStart()
        _, transport = _tlsConnect(factory)
        factory.doStop()
        self.assertTrue(transport.disconnected)
        self.assertEqual(factory.stats.closedAtShutdown, 1)

    def test_logPrefixIsTheService(self) -> None:
        """
        The wrapping factory logs as the factory it wraps.
        """
        factory = _factory(Clock())
        wrapping = HandshakeFirstWrappingFactory(factory, factory.handshakes)
        self.assertEqual(wrapping.logPrefix(), "WelcomeFactory")

    def test_lostDuringHandshake(self) -> None:
        """
        A client that goes away mid-handshake is an error, and its place is
        given back.
        """
        clock = Clock()
        factory = _factory(clock)
        wrapper, _ = _tlsConnect(factory)
        wrapper.connectionLost(Failure(Exception("reset")))
        self.assertEqual((factory.stats.errors, factory.limits.open), (1, 0))
        self.assertEqual(factory.handshakes.unfinished, 0)


class _Receiver(Protocol):
    """
    A client that keeps what it receives.
    """

    def __init__(self) -> None:
        self.received = b""

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data}.
        """
        self.received += data


class RealTLSTests(TestCase):
    """
    Over real TLS in memory (L{iosim}), the welcome arrives after the
    handshake and is logged and counted once.
    """

    def test_welcomedAfterHandshake(self) -> None:
        """
        A client that does the handshake receives the welcome; the server
        logs exactly one "Welcomed" line and counts it served.
        """
        certPath, keyPath = makeCertificate(Path(temporaryPath(self)))
        certificate = ssl.PrivateCertificate.loadPEM(
            certPath.read_text() + keyPath.read_text()
        )
        clock = Clock()
        factory = WelcomeFactory(ServerSettings(handshakeTimeout=5.0), clock=clock)
        server = TLSMemoryBIOFactory(
            certificate.options(),
            False,
            HandshakeFirstWrappingFactory(factory, factory.handshakes),
        )
        receiver = _Receiver()
        client = TLSMemoryBIOFactory(
            ssl.CertificateOptions(), True, Factory.forProtocol(lambda: receiver)
        )
        with capturedLogs() as events:
            _, _, pump = iosim.connectedServerAndClient(
                lambda: server.buildProtocol(_peer()),
                lambda: client.buildProtocol(_peer("127.0.0.1", 12443)),
                clock=clock,
            )
            pump.flush()
        self.assertEqual(receiver.received, b"Welcome!")
        welcomed = [formatEvent(e) for e in events if "Welcomed" in formatEvent(e)]
        self.assertEqual(len(welcomed), 1, welcomed)
        self.assertEqual(factory.stats.served, 1)
        self.assertEqual(factory.stats.bytesSent, 8)
        self.assertEqual(factory.handshakes.unfinished, 0)
