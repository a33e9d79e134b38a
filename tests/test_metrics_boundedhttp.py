"""
Tests for L{welcome_protocol.metrics.boundedhttp}: every phase of a metrics
connection bounded, in memory (L{StringTransport}, L{Clock}).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client.registry import Collector
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, inlineCallbacks, succeed
from twisted.internet.endpoints import clientFromString, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.logger import LogEvent, capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.metricshelpers import SCRAPER
from tests.support import temporaryPath
from welcome_protocol.listening.builder import serverEndpoint
from welcome_protocol.metrics.boundedhttp import (
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_SCRAPERS,
    BoundedSite,
    OneRequestChannel,
)
from welcome_protocol.metrics.collector import WelcomeCollector
from welcome_protocol.metrics.deadline import REQUEST_DEADLINE
from welcome_protocol.metrics.resource import (
    InThread,
    MetricsPage,
    metricsRoot,
    metricsSite,
)
from welcome_protocol.metrics.service import processRegistry
from welcome_protocol.metrics.source import MetricsSource
from welcome_protocol.shared.stats import ServerStats

SCRAPE = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"


def _atOnce(
    encoder: Callable[[Collector], bytes], families: Collector
) -> Deferred[bytes]:
    return succeed(encoder(families))


class _Later:
    """
    A stand-in for the thread that answers only when told.
    """

    def __init__(self) -> None:
        self.pending: list[Deferred[bytes]] = []

    def __call__(
        self, encoder: Callable[[Collector], bytes], families: Collector
    ) -> Deferred[bytes]:
        d: Deferred[bytes] = Deferred()
        self.pending.append(d)
        return d


def _site(clock: Clock, inThread: InThread = _atOnce) -> BoundedSite:
    source = MetricsSource(ServerStats(0.0, served=4), lambda: 1, 10)
    page = MetricsPage(WelcomeCollector(source), processRegistry(), inThread)
    return metricsSite(page, clock)


def _connect(site: BoundedSite) -> tuple[OneRequestChannel, StringTransport]:
    channel = site.buildProtocol(SCRAPER)
    assert isinstance(channel, OneRequestChannel)
    transport = StringTransport(peerAddress=SCRAPER)
    channel.makeConnection(transport)
    return channel, transport


def _lose(channel: OneRequestChannel) -> None:
    channel.connectionLost(Failure(ConnectionDone()))


class BodyTests(TestCase):
    """
    A request with a body is refused before any of the body is read.
    """

    def test_bodyRefusedUnread(self) -> None:
        """
        A C{Content-Length} above 0 or a chunked body, whatever the method,
        gets 413 and the connection closed as soon as the headers are in;
        the request gets no length (twisted.web would create its body's
        file then) and is not rendered.
        """
        for head in [
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n",
            b"POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        ]:
            channel, transport = _connect(_site(Clock()))
            channel.dataReceived(head)
            response = transport.value()
            self.assertTrue(
                response.startswith(b"HTTP/1.1 413 Content Too Large\r\n"), response
            )
            self.assertIn(b"\r\nConnection: close\r\n", response)
            self.assertTrue(transport.disconnecting)
            [request] = channel.requests
            self.assertIsNone(request.content)
            channel.dataReceived(b"x" * 100_000)
            self.assertEqual(transport.value(), response)
            self.assertIsNone(request.content)

    def test_bodyInSameReadDropped(self) -> None:
        """
        Body bytes that arrive with the headers are dropped, not read, and
        reading stops.
        """
        channel, transport = _connect(_site(Clock()))
        transport.disconnecting = False
        transport.loseConnection = lambda: None  # type: ignore[method-assign]
        channel.dataReceived(
            b"POST /metrics HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000
        )
        self.assertIsNone(channel.requests[0].content)
        self.assertEqual(transport.producerState, "paused")

    def test_emptyBodyServed(self) -> None:
        """
        C{Content-Length: 0} is no body: the scrape is answered.
        """
        channel, transport = _connect(_site(Clock()))
        channel.dataReceived(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        )
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 OK\r\n"))


class HeaderTests(TestCase):
    """
    The request line and headers are bounded in size and count.
    """

    def assertBadRequest(self, data: bytes) -> None:
        """
        C{data} gets 400 (or nothing) and the connection closed.
        """
        channel, transport = _connect(_site(Clock()))
        channel.dataReceived(data)
        self.assertTrue(transport.disconnecting)
        self.assertNotIn(b" 200 OK", transport.value())

    def test_headersTooLarge(self) -> None:
        """
        Headers adding up to more than L{MAX_HEADER_BYTES} are refused.
        """
        header = b"X-A: " + b"a" * 1000 + b"\r\n"
        count = MAX_HEADER_BYTES // len(header) + 1
        self.assertLess(count, MAX_HEADERS)
        self.assertBadRequest(b"GET /metrics HTTP/1.1\r\n" + header * count)

    def test_tooManyHeaders(self) -> None:
        """
        More than L{MAX_HEADERS} headers are refused.
        """
        self.assertBadRequest(b"GET /metrics HTTP/1.1\r\n" + b"X: y\r\n" * 40)

    def test_endlessLine(self) -> None:
        """
        A line longer than L{MAX_HEADER_BYTES} with no end is refused before
        it ends.
        """
        self.assertBadRequest(b"GET /" + b"a" * MAX_HEADER_BYTES)

    def test_largestAllowed(self) -> None:
        """
        A head just under the bounds is served.
        """
        header = b"X-A: " + b"a" * 200 + b"\r\n"
        channel, transport = _connect(_site(Clock()))
        channel.dataReceived(b"GET /metrics HTTP/1.1\r\n" + header * 30 + b"\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 OK\r\n"))


class DeadlineTests(TestCase):
    """
    L{REQUEST_DEADLINE} from accept, a connection is aborted, whatever it
    sends or reads.
    """

    def test_drippingDoesNotExtend(self) -> None:
        """
        A byte a second does not extend the deadline.
        """
        clock = Clock()
        channel, transport = _connect(_site(clock))
        for byte in SCRAPE[: int(REQUEST_DEADLINE) - 1]:
            channel.dataReceived(bytes([byte]))
            clock.advance(1)
        self.assertFalse(transport.disconnected)
        clock.advance(1)
        self.assertTrue(transport.disconnected)

    def test_unreadAnswerAborted(self) -> None:
        """
        A client that never reads its answer is aborted at the deadline.
        """
        clock = Clock()
        channel, transport = _connect(_site(clock))
        channel.dataReceived(SCRAPE)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)
        clock.advance(REQUEST_DEADLINE)
        self.assertTrue(transport.disconnected)

    def test_closedBeforeDeadline(self) -> None:
        """
        A connection closed in time leaves no timer behind, and no place
        taken under the cap.
        """
        clock = Clock()
        site = _site(clock)
        channel, _ = _connect(site)
        channel.dataReceived(SCRAPE)
        _lose(channel)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(site.openConnections, 0)


class PipeliningTests(TestCase):
    """
    A connection serves one request; what follows is not read.
    """

    def test_oneAnswerPerConnection(self) -> None:
        """
        Of pipelined requests, the first is answered with
        C{Connection: close}; the others are not.
        """
        channel, transport = _connect(_site(Clock()))
        channel.dataReceived(SCRAPE * 100)
        response = transport.value()
        self.assertEqual(response.count(b"HTTP/1.1 "), 1)
        self.assertIn(b"\r\nConnection: close\r\n", response)
        self.assertTrue(transport.disconnecting)

    def test_readingStopsWhileAnswering(self) -> None:
        """
        While the answer is being made, what follows the request is dropped
        and the transport paused.
        """
        later = _Later()
        channel, transport = _connect(_site(Clock(), later))
        channel.dataReceived(SCRAPE)
        self.assertEqual(transport.producerState, "producing")
        channel.dataReceived(SCRAPE * 100)
        self.assertEqual(transport.producerState, "paused")
        self.assertEqual(transport.value(), b"")
        later.pending[0].callback(b"answer\n")
        self.assertEqual(transport.value().count(b"HTTP/1.1 "), 1)
        self.assertTrue(transport.disconnecting)


class CapTests(TestCase):
    """
    At most L{MAX_SCRAPERS} connections; the oldest unanswered one makes
    room for a new one.
    """

    def test_oldestUnansweredEvicted(self) -> None:
        """
        At the cap, a new connection aborts the oldest connection that is
        not being answered, and is served.
        """
        later = _Later()
        site = _site(Clock(), later)
        answering, answeringTransport = _connect(site)
        answering.dataReceived(SCRAPE)
        drippers = [_connect(site) for _ in range(MAX_SCRAPERS - 1)]
        for channel, _ in drippers:
            channel.dataReceived(b"G")
        self.assertEqual(site.openConnections, MAX_SCRAPERS)
        scraper, transport = _connect(site)
        self.assertTrue(drippers[0][1].disconnected)
        self.assertEqual(
            [t.disconnected for _, t in drippers[1:]], [False] * (MAX_SCRAPERS - 2)
        )
        self.assertFalse(answeringTransport.disconnected)
        self.assertEqual(site.openConnections, MAX_SCRAPERS)
        # The evicted one's loss, when it comes, frees nothing more.
        _lose(drippers[0][0])
        self.assertEqual(site.openConnections, MAX_SCRAPERS)
        scraper.dataReceived(SCRAPE)
        later.pending[1].callback(b"answer\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 200 OK\r\n"))

    def test_unreadAnswerEvicted(self) -> None:
        """
        A connection whose answer is written but not read is evicted too.
        """
        site = _site(Clock())
        opened = [_connect(site) for _ in range(MAX_SCRAPERS)]
        for channel, _ in opened:
            channel.dataReceived(SCRAPE)
        _connect(site)
        self.assertTrue(opened[0][1].disconnected)

    def test_allAnsweringRefused(self) -> None:
        """
        When every connection is being answered, a new one is refused
        (its protocol is L{None}) until one closes.
        """
        site = _site(Clock(), _Later())
        opened = [_connect(site) for _ in range(MAX_SCRAPERS)]
        for channel, _ in opened:
            channel.dataReceived(SCRAPE)
        self.assertIsNone(site.buildProtocol(SCRAPER))
        _lose(opened[0][0])
        self.assertIsNotNone(site.buildProtocol(SCRAPER))


def _siteLines(events: Sequence[LogEvent]) -> list[str]:
    return [
        formatEvent(event)
        for event in events
        if event.get("log_namespace", "").startswith(BoundedSite.__module__)
    ]


class ErrorTests(TestCase):
    """
    An error while answering is answered 500 and logged by the incident.
    """

    def test_errorsLoggedOncePerInterval(self) -> None:
        """
        Fifty failed scrapes get 500 each, no traceback, and one logged
        failure; the rest are summed up in one line when the interval ends.
        """

        def failing(
            encoder: Callable[[Collector], bytes], families: Collector
        ) -> Deferred[bytes]:
            return fail(ZeroDivisionError("boom"))

        clock = Clock()
        site = _site(clock, failing)
        with capturedLogs() as events:
            for _ in range(50):
                channel, transport = _connect(site)
                channel.dataReceived(SCRAPE)
                response = transport.value()
                self.assertTrue(response.startswith(b"HTTP/1.1 500 "), response)
                self.assertNotIn(b"Traceback", response)
                _lose(channel)
            clock.advance(10)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(
            _siteLines(events),
            [
                "Metrics port: cannot answer b'GET' b'/metrics': boom",
                "Metrics port: 49 more errors answering in 10 s",
            ],
        )

    def test_scraperGoneStillLogged(self) -> None:
        """
        An error after the scraper left is logged, and nothing is written.
        """
        later = _Later()
        site = _site(Clock(), later)
        channel, transport = _connect(site)
        channel.dataReceived(SCRAPE)
        _lose(channel)
        with capturedLogs() as events:
            later.pending[0].errback(ZeroDivisionError("late"))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(len(_siteLines(events)), 1)
        self.assertEqual(transport.value(), b"")


class EvictionLogTests(TestCase):
    """
    Evictions are logged by the incident.
    """

    def test_evictionsLoggedOncePerInterval(self) -> None:
        """
        Thirty evictions make one line naming the evicted peer, and one
        summing up the rest.
        """
        clock = Clock()
        site = _site(clock)
        with capturedLogs() as events:
            for _ in range(MAX_SCRAPERS + 30):
                _connect(site)
            clock.advance(10)
        self.assertEqual(
            _siteLines(events),
            [
                f"Metrics port: {MAX_SCRAPERS} connections open; closed the "
                "oldest unanswered one, from 127.0.0.1:45678, for a new one",
                "Metrics port: 29 more connections evicted in 10 s",
            ],
        )


class _Client(Protocol):
    """
    A client that sends C{first} on connecting and keeps what it receives;
    C{closed} fires with it when the connection ends.
    """

    def __init__(self, first: bytes) -> None:
        self.first = first
        self.received = b""
        self.closed: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(self.first)

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed.callback(self.received)


def _holds(site: BoundedSite, count: int) -> bool:
    return site.openConnections == count


#: The kinds of listener the metrics port is tested on.
KINDS = ("tcp", "unix", "ssl", "haproxy")


class LoopbackTests(TestCase):
    """
    The bounds hold on real listeners of each kind the metrics port may use,
    on loopback.
    """

    def listen(
        self, kind: str, requestDeadline: float = REQUEST_DEADLINE
    ) -> Generator[Deferred[Any], Any, tuple[BoundedSite, str, bytes]]:
        """
        Serve the metrics site on a listener of C{kind}.

        @return: (Through C{yield from}.)  The site, the client endpoint
            description to reach it, and what a client sends first (a PROXY
            header for C{haproxy:}).
        """
        scratch = Path(temporaryPath(self))
        source = MetricsSource(ServerStats(0.0, served=4), lambda: 1, 10)
        page = MetricsPage(WelcomeCollector(source), processRegistry(), _atOnce)
        site = BoundedSite(metricsRoot(page), reactor, requestDeadline=requestDeadline)
        cert, key = makeCertificate(scratch)
        socketPath = scratch / "m.sock"
        description = {
            "tcp": "tcp:0:interface=127.0.0.1",
            "unix": f"unix:{socketPath}",
            "ssl": f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
            "haproxy": "haproxy:tcp:0:interface=127.0.0.1",
        }[kind]
        port = yield serverEndpoint(reactor, description).listen(site)
        self.addCleanup(port.stopListening)
        number = getattr(port.getHost(), "port", 0)
        client = {
            "tcp": f"tcp:127.0.0.1:{number}",
            "unix": f"unix:{socketPath}",
            "ssl": f"ssl:127.0.0.1:{number}",
            "haproxy": f"tcp:127.0.0.1:{number}",
        }[kind]
        prefix = b""
        if kind == "haproxy":
            prefix = b"PROXY TCP4 192.0.2.1 127.0.0.1 5000 9112\r\n"
        return site, client, prefix

    def connect(self, client: str, first: bytes) -> Deferred[_Client]:
        """
        Connect a L{_Client} sending C{first}; it is closed at cleanup.
        """
        protocol = _Client(first)
        d = connectProtocol(clientFromString(reactor, client), protocol)

        def connected(p: object) -> _Client:
            def close() -> Deferred[bytes]:
                assert protocol.transport is not None
                protocol.transport.loseConnection()
                return protocol.closed

            self.addCleanup(close)
            return protocol

        opened: Deferred[_Client] = d.addCallback(connected)
        return opened

    @inlineCallbacks
    def waitFor(self, condition: Callable[[], bool]) -> Generator[Any, Any, None]:
        """
        Wait until C{condition} holds (at most 10 s).
        """
        for _ in range(1000):
            if condition():
                return
            yield deferLater(reactor, 0.01)
        self.fail("condition never held")

    @inlineCallbacks
    def test_scrapeWhileDrippersHoldCap(self) -> Generator[Any, Any, None]:
        """
        With L{MAX_SCRAPERS} clients dripping unfinished requests, a
        scrape is answered: it evicts the oldest dripper, and only it.
        """
        for kind in KINDS:
            site, client, prefix = yield from self.listen(kind)
            drippers = []
            for _ in range(MAX_SCRAPERS):
                drippers.append((yield self.connect(client, prefix + b"GET /met")))
            yield self.waitFor(partial(_holds, site, MAX_SCRAPERS))
            scraper = yield self.connect(client, prefix + SCRAPE)
            response = yield scraper.closed
            self.assertTrue(response.startswith(b"HTTP/1.1 200 OK\r\n"), kind)
            self.assertIn(b"welcome_connections_open 1.0", response)
            yield drippers[0].closed
            self.assertEqual(
                [d.closed.called for d in drippers[1:]],
                [False] * (MAX_SCRAPERS - 1),
                kind,
            )

    @inlineCallbacks
    def test_bodyRefusedBeforeSent(self) -> Generator[Any, Any, None]:
        """
        A client that announces a body gets 413 and the connection closed
        without sending a byte of it.
        """
        for kind in KINDS:
            _, client, prefix = yield from self.listen(kind)
            poster = yield self.connect(
                client,
                prefix + b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n",
            )
            response = yield poster.closed
            self.assertTrue(response.startswith(b"HTTP/1.1 413 "), (kind, response))

    @inlineCallbacks
    def test_dripperClosedAtDeadline(self) -> Generator[Any, Any, None]:
        """
        A client dripping a byte every 50 ms is closed at the deadline.
        """
        for kind in KINDS:
            _, client, prefix = yield from self.listen(kind, requestDeadline=0.5)
            dripper = yield self.connect(client, prefix + b"G")
            started = reactor.seconds()
            while not dripper.closed.called:
                self.assertLess(reactor.seconds() - started, 10, kind)
                assert dripper.transport is not None
                dripper.transport.write(b"E")
                yield deferLater(reactor, 0.05)
            self.assertEqual(dripper.received, b"", kind)
