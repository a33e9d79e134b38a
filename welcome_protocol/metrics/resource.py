"""
The web site behind C{--metrics}: C{GET /metrics} and nothing else.

The body is prometheus_client's own exposition (C{choose_encoder} picks the
Prometheus text format, or OpenMetrics when the scraper's C{Accept} asks for
it; an C{Accept} it cannot parse gets the default text format), gzipped
when the scraper accepts that.  Another path answers 404, and a method other
than C{GET} or C{HEAD} 405.  The site it is served by
(L{welcome_protocol.metrics.boundedhttp}) bounds each connection; an error
making the exposition is answered and logged there.

A scrape is done in two parts.  The service's own metrics are collected in
the reactor thread, all at once, so that they are consistent with each other
(a connection is never counted both open and closed) and take microseconds.
The rest, prometheus_client's C{process_*} and C{python_*} collectors and
the encoding, runs in a thread of the reactor's pool, as
C{prometheus_client.twisted.MetricsResource} runs all of it: the process
collector lists C{/proc/self/fd}, which takes about 8 ms with 10,000
connections open, time the reactor keeps for greeting meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client.exposition import (
    CONTENT_TYPE_PLAIN_0_0_4,
    choose_encoder,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.pages import notFound
from twisted.web.resource import EncodingResourceWrapper, IResource, Resource
from twisted.web.server import NOT_DONE_YET, GzipEncoderFactory, Request

from welcome_protocol.metrics.boundedhttp import BoundedSite
from welcome_protocol.metrics.deadline import REQUEST_DEADLINE

#: Runs C{encoder(collector)} away from the reactor thread: the result, in
#: a L{Deferred} that fires in the reactor thread.
InThread = Callable[[Callable[[Collector], bytes], Collector], "Deferred[bytes]"]


class _Families(Collector):
    """
    The metric families of several collectors, or already collected.
    """

    def __init__(self, *sources: Collector | list[Metric]) -> None:
        self._sources = sources

    def collect(self) -> Iterable[Metric]:
        for source in self._sources:
            yield from source if isinstance(source, list) else source.collect()


class _NoChildren(Resource):
    """
    A resource under which every path answers 404, with twisted.web's
    escaping page (C{Resource}'s own default is deprecated).
    """

    def getChild(self, path: bytes, request: Request) -> IResource:
        """
        @return: A 404 page.
        """
        return notFound()


class MetricsPage(_NoChildren):
    """
    The exposition of the service's metrics, made afresh for each request.
    """

    def __init__(
        self, service: Collector, process: Collector, inThread: InThread
    ) -> None:
        """
        @param service: The service's own metrics, collected in the reactor
            thread.
        @param process: The other metrics, collected in a thread.
        @param inThread: Runs the encoder in a thread.
        """
        # twisted.web's Resource is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        self._service = service
        self._process = process
        self._inThread = inThread

    def render(self, request: Request) -> bytes | int:
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
        # twisted.web's Resource is unannotated.
        body: bytes | int = super().render(request)  # type: ignore[no-untyped-call]
        return body

    def _encoder(self, request: Request) -> Callable[[Collector], bytes]:
        accept = request.getHeader("accept")
        try:
            encoder, contentType = choose_encoder(accept or "")
        except Exception:
            # choose_encoder raises TypeError on a version it cannot compare
            # (text/plain; version=x): serve the default format, which every
            # scraper reads, rather than refuse the scrape.
            encoder, contentType = generate_latest, CONTENT_TYPE_PLAIN_0_0_4
        request.setHeader(b"content-type", contentType.encode("ascii"))
        return encoder

    def render_HEAD(self, request: Request) -> bytes:
        """
        @return: No body; the headers a C{GET} would have.
        """
        self._encoder(request)
        return b""

    def render_GET(self, request: Request) -> int:
        """
        Collect the service's metrics now, and write the exposition, in the
        format the C{Accept} header asks for, once the thread has made it.

        @return: L{NOT_DONE_YET}.
        """
        encoder = self._encoder(request)
        families = _Families(list(self._service.collect()), self._process)
        gone: list[Failure] = []
        request.notifyFinish().addErrback(gone.append)

        def write(body: bytes) -> None:
            if not gone:
                request.write(body)
                request.finish()

        def failed(reason: Failure) -> None:
            # Logged by the incident; answered 500 if the scraper is there.
            request.processingFailed(reason)

        self._inThread(encoder, families).addCallbacks(write, failed)
        return NOT_DONE_YET


def metricsRoot(page: MetricsPage) -> Resource:
    """
    @return: The site's root: C{/metrics} is C{page}, every other path
        answers 404.
    """
    # twisted.web's Resource is unannotated.
    root = _NoChildren()  # type: ignore[no-untyped-call]
    page = EncodingResourceWrapper(page, [GzipEncoderFactory()])
    root.putChild(b"metrics", page)
    return root


def metricsSite(
    page: MetricsPage,
    reactor: IReactorTime,
    requestDeadline: float = REQUEST_DEADLINE,
) -> BoundedSite:
    """
    @param page: What C{/metrics} serves.
    @param reactor: Times the connections' deadlines.
    @param requestDeadline: Seconds from accept to the end of a
        connection, at most (C{--metrics-deadline}).
    @return: The factory to listen with, every connection bounded (see
        L{welcome_protocol.metrics.boundedhttp}).
    """
    return BoundedSite(metricsRoot(page), reactor, requestDeadline=requestDeadline)
