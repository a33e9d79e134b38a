# -*- test-case-name: tests.test_metrics_resource -*-
"""
The web site behind C{--metrics}: C{GET /metrics} and nothing else.

The body is prometheus_client's own exposition (C{choose_encoder} picks the
Prometheus text format, or OpenMetrics when the scraper's C{Accept} asks for
it), gzipped when the scraper accepts that.  Another path answers 404, and a
method other than C{GET} or C{HEAD} 405.

prometheus_client's C{prometheus_client.twisted.MetricsResource} renders in
a thread of the global reactor's pool; rendering here takes a millisecond or
two whatever the load (the collector reads counters, never connections), so
it is done in the reactor thread, as Synapse's resource does.
"""

from __future__ import annotations

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.web import http
from twisted.web.resource import EncodingResourceWrapper, Resource
from twisted.web.server import GzipEncoderFactory, Request, Site

#: Seconds a scraper's connection may stay silent before it is closed (and
#: aborted 15 s later if it does not read); Prometheus reconnects.
IDLE_TIMEOUT = 30.0

#: Scrapers' connections open at once, at most; more are closed at once.
MAX_SCRAPERS = 16


class MetricsPage(Resource):
    """
    The exposition of a registry's metrics, made afresh for each request.
    """

    def __init__(self, registry: Collector) -> None:
        """
        @param registry: What to expose, usually a C{CollectorRegistry}.
        """
        super().__init__()  # type: ignore[no-untyped-call]
        self._registry = registry

    def render(self, request: Request) -> bytes:
        """
        Answer C{GET} and C{HEAD}; any other method gets 405.  (Left to
        itself, twisted.web would answer 501 to methods it does not know,
        such as C{PUT}.)
        """
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(http.NOT_ALLOWED)
            request.setHeader(b"allow", b"GET, HEAD")
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"Method Not Allowed: use GET or HEAD\n"
        body: bytes = super().render(request)  # type: ignore[no-untyped-call]
        return body

    def render_GET(self, request: Request) -> bytes:
        """
        @return: The metrics, in the format the C{Accept} header asks for
            (C{HEAD} is answered from this too, without the body).
        """
        accept = request.getHeader("accept")
        encoder, contentType = choose_encoder(accept or "")
        output = encoder(self._registry)
        request.setHeader(b"content-type", contentType.encode("ascii"))
        return output


def metricsRoot(registry: Collector) -> Resource:
    """
    @return: The site's root: C{/metrics} is L{MetricsPage}, every other
        path answers 404.
    """
    root = Resource()
    page = EncodingResourceWrapper(MetricsPage(registry), [GzipEncoderFactory()])
    root.putChild(b"metrics", page)
    return root


class MetricsSite(Site):
    """
    A L{Site} that does not log every scrape (one line every few seconds,
    for months, would bury the service's own log).
    """

    noisy = False

    def log(self, request: http.Request) -> None:
        """
        Log nothing.
        """


class AtMostFactory(WrappingFactory):
    """
    Build the wrapped factory's protocols while fewer than C{limit}
    connections are open; close any more at once.
    """

    noisy = False

    def __init__(self, wrappedFactory: Site, limit: int = MAX_SCRAPERS) -> None:
        super().__init__(wrappedFactory)  # type: ignore[no-untyped-call]
        self._limit = limit

    # IProtocolFactory allows None, which closes the connection.
    def buildProtocol(  # type: ignore[override]
        self, addr: IAddress | None
    ) -> ProtocolWrapper | None:
        """
        @return: A protocol, or L{None} (closing the connection) when
            C{limit} are open already.
        """
        if len(self.protocols) >= self._limit:
            return None
        return super().buildProtocol(addr)


def metricsSite(registry: Collector, reactor: IReactorTime) -> AtMostFactory:
    """
    @param registry: What C{/metrics} exposes.
    @param reactor: Times idle connections.
    @return: The factory to listen with.
    """
    site = MetricsSite(  # type: ignore[no-untyped-call]
        metricsRoot(registry), timeout=IDLE_TIMEOUT, reactor=reactor
    )
    return AtMostFactory(site)
