"""
Tests for L{welcome_protocol.metrics.resource}: C{GET /metrics} over HTTP,
in memory, and everything else refused.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable

from prometheus_client.registry import Collector
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from tests.metricshelpers import SCRAPER, request, samples, value
from welcome_protocol.metrics.boundedhttp import BoundedSite
from welcome_protocol.metrics.collector import WelcomeCollector
from welcome_protocol.metrics.resource import InThread, MetricsPage, metricsSite
from welcome_protocol.metrics.service import processRegistry
from welcome_protocol.metrics.source import MetricsSource
from welcome_protocol.shared.stats import ServerStats


def _atOnce(
    encoder: Callable[[Collector], bytes], families: Collector
) -> Deferred[bytes]:
    return succeed(encoder(families))


def _site(
    clock: Clock | None = None,
    stats: ServerStats | None = None,
    inThread: InThread = _atOnce,
) -> BoundedSite:
    source = MetricsSource(stats or ServerStats(0.0, served=4), lambda: 1, 10)
    page = MetricsPage(WelcomeCollector(source), processRegistry(), inThread)
    return metricsSite(page, clock or Clock())


class MetricsPageTests(TestCase):
    """
    The site answers C{GET} and C{HEAD} on C{/metrics}, in the format asked.
    """

    def test_getServesTextFormat(self) -> None:
        """
        Without an C{Accept} header, the body is the Prometheus text format.
        """
        _, response = request(_site(), b"GET /metrics HTTP/1.0\r\n\r\n")
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200 OK"), head)
        self.assertIn(b"Content-Type: text/plain; version=0.0.4; charset=utf-8", head)
        found = samples(body.decode("utf-8"))
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="served"), 4
        )

    def test_processMetrics(self) -> None:
        """
        prometheus_client's process and Python collectors are served too.
        """
        _, response = request(_site(), b"GET /metrics HTTP/1.0\r\n\r\n")
        found = samples(response.partition(b"\r\n\r\n")[2].decode("utf-8"))
        names = {name for name, _ in found}
        for name in [
            "process_open_fds",
            "process_resident_memory_bytes",
            "python_info",
            "python_gc_collections_total",
        ]:
            self.assertIn(name, names)

    def test_serviceCollectedBeforeThread(self) -> None:
        """
        The service's metrics are read when the request arrives, all at
        once, in the reactor thread; the answer is written once the thread
        has encoded them.
        """
        stats = ServerStats(0.0, served=4)
        pending: list[tuple[Deferred[bytes], Callable[[], bytes]]] = []

        def later(
            encoder: Callable[[Collector], bytes], families: Collector
        ) -> Deferred[bytes]:
            d: Deferred[bytes] = Deferred()
            pending.append((d, lambda: encoder(families)))
            return d

        transport, response = request(
            _site(stats=stats, inThread=later), b"GET /metrics HTTP/1.0\r\n\r\n"
        )
        self.assertEqual(response, b"")
        stats.served = 99
        [(d, encode)] = pending
        d.callback(encode())
        found = samples(transport.value().partition(b"\r\n\r\n")[2].decode())
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="served"), 4
        )

    def test_scraperGoneBeforeAnswer(self) -> None:
        """
        A scraper that disconnects while its answer is being made is not
        written to.
        """
        pending: list[Deferred[bytes]] = []

        def later(
            encoder: Callable[[Collector], bytes], families: Collector
        ) -> Deferred[bytes]:
            d: Deferred[bytes] = Deferred()
            pending.append(d)
            return d

        site = _site(inThread=later)
        protocol = site.buildProtocol(SCRAPER)
        assert protocol is not None
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(b"GET /metrics HTTP/1.0\r\n\r\n")
        protocol.connectionLost(Failure(ConnectionDone()))
        pending[0].callback(b"late")
        self.assertEqual(transport.value(), b"")

    def test_openMetricsWhenAsked(self) -> None:
        """
        A scraper that accepts OpenMetrics gets it, ending in C{# EOF}.
        """
        _, response = request(
            _site(),
            b"GET /metrics HTTP/1.0\r\n"
            b"Accept: application/openmetrics-text; version=1.0.0\r\n\r\n",
        )
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Type: application/openmetrics-text", head)
        self.assertTrue(body.endswith(b"# EOF\n"), body[-50:])
        self.assertIn(b'welcome_connections_closed_total{outcome="served"} 4.0', body)

    def test_badAcceptGetsDefaultFormat(self) -> None:
        """
        An C{Accept} header whose version prometheus_client cannot compare
        (it raises) gets the default text format, not 500.
        """
        for accept in [
            b"text/plain; version=x",
            b"application/openmetrics-text; version=1.x",
            b"application/openmetrics-text; version=a, text/plain; version=1.0.0",
        ]:
            _, response = request(
                _site(), b"GET /metrics HTTP/1.0\r\nAccept: " + accept + b"\r\n\r\n"
            )
            head, _, body = response.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.0 200 OK"), (accept, head))
            self.assertIn(
                b"Content-Type: text/plain; version=0.0.4; charset=utf-8", head
            )
            found = samples(body.decode("utf-8"))
            self.assertEqual(
                value(found, "welcome_connections_closed_total", outcome="served"), 4
            )

    def test_gzipWhenAccepted(self) -> None:
        """
        A scraper that accepts gzip (Prometheus does) gets the body gzipped.
        """
        _, response = request(
            _site(),
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n",
        )
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Encoding: gzip", head)
        self.assertIn(b"Transfer-Encoding: chunked", head)
        chunks = b""
        while True:
            size, _, rest = body.partition(b"\r\n")
            length = int(size, 16)
            if not length:
                break
            chunks += rest[:length]
            body = rest[length + 2 :]
        self.assertIn(b"welcome_connections_open 1.0", gzip.decompress(chunks))

    def test_headHasNoBody(self) -> None:
        """
        C{HEAD} answers 200 with the headers and no body.
        """
        _, response = request(_site(), b"HEAD /metrics HTTP/1.0\r\n\r\n")
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200 OK"), head)
        self.assertEqual(body, b"")

    def test_otherPathsNotFound(self) -> None:
        """
        Every other path answers 404.
        """
        for path in [b"/", b"/metric", b"/metrics/", b"/metrics/x", b"/favicon.ico"]:
            _, response = request(_site(), b"GET " + path + b" HTTP/1.0\r\n\r\n")
            self.assertTrue(response.startswith(b"HTTP/1.0 404 "), (path, response))

    def test_otherMethodsNotAllowed(self) -> None:
        """
        A method other than C{GET} or C{HEAD} answers 405, naming those.
        """
        for method in [b"POST", b"PUT", b"DELETE", b"BREW"]:
            _, response = request(
                _site(),
                method + b" /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
            )
            self.assertTrue(response.startswith(b"HTTP/1.0 405 "), (method, response))
            self.assertIn(b"\r\nAllow: GET, HEAD\r\n", response)
