# -*- test-case-name: tests.test_exporter_site -*-
"""
The exporter's web site: C{/probe}, C{/metrics} and an index at C{/}.

It is served by the metrics port's bounded site
(L{welcome_protocol.metrics.boundedhttp}): one request per connection
without a body, bounded headers, an absolute deadline, a cap on
connections that evicts drippers.  Here the deadline is the longest scrape
a module allows plus L{ANSWER_SECONDS}, and the cap is C{--max-scrapes}.

Every answer is text (or the static index), and whatever a request says
is quoted escaped (L{welcome_protocol.exporter.targets.quoted}), never
reflected as it came.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping

import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import CollectorRegistry
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.pages import notFound
from twisted.web.resource import IResource, Resource
from twisted.web.server import NOT_DONE_YET, Request

from welcome_protocol.exporter.counters import ExporterCounters
from welcome_protocol.exporter.handler import BadRequest, Scrape, parseRequest
from welcome_protocol.exporter.modules import Module
from welcome_protocol.exporter.portlist import ProbeSlots
from welcome_protocol.exporter.reactors import ExporterReactor
from welcome_protocol.exporter.targets import AllowedTargets
from welcome_protocol.metrics.boundedhttp import BoundedSite
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog

_log = Logger()

ANSWER_SECONDS = 5.0
"""
Seconds a connection is given beyond the longest scrape, to send its
request and read the answer.
"""

_TEXT = b"text/plain; charset=utf-8"


def _plain(request: Request, code: int, line: str) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"content-type", _TEXT)
    request.setHeader(b"x-content-type-options", b"nosniff")
    return (line + "\n").encode("utf-8")


class _Page(Resource):
    """
    A leaf that answers C{GET} and C{HEAD} only (405 otherwise), and 404
    below it.
    """

    isLeaf = True

    def render(self, request: Request) -> bytes | int:
        """
        Answer C{GET} and C{HEAD}; any other method gets 405.
        """
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return _plain(
                request, http.NOT_ALLOWED, "Method Not Allowed: use GET or HEAD"
            )
        if request.postpath not in ([], [b""]):
            page: bytes | int = notFound().render(request)
            return page
        return self.answer(request)

    def answer(self, request: Request) -> bytes | int:
        """
        @return: The page's body, or L{NOT_DONE_YET}.
        """
        raise NotImplementedError()


class ProbePage(_Page):
    """
    C{/probe}: one scrape per request.
    """

    def __init__(
        self,
        reactor: ExporterReactor,
        modules: Mapping[str, Module],
        allowed: AllowedTargets | None,
        slots: ProbeSlots,
        counters: ExporterCounters,
        maxPorts: int,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        # twisted.web's Resource is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        self._reactor = reactor
        self._modules = modules
        self._allowed = allowed
        self._slots = slots
        self._counters = counters
        self._maxPorts = maxPorts
        self._now = now
        self._failures = RateLimitedLog(
            _log, reactor, "Exporter: {count} more probe errors in {interval:g} s"
        )

    def answer(self, request: Request) -> bytes | int:
        """
        Check the parameters, probe, and answer the metrics (and the log
        with C{debug=true}) once the probes are done or the deadline is.
        """
        header = request.getHeader("x-prometheus-scrape-timeout-seconds")
        try:
            scrape = parseRequest(
                request.args or {},
                header,
                self._modules,
                self._allowed,
                self._maxPorts,
            )
        except BadRequest as e:
            self._counters.refusedRequest(
                "forbidden" if e.code == http.FORBIDDEN else "bad_request"
            )
            return _plain(request, e.code, str(e))
        running = Scrape(
            self._reactor,
            scrape,
            self._slots,
            self._counters,
            self._now,
            failures=self._failures,
        )
        done = running.run()
        gone: list[Failure] = []

        def clientGone(reason: Failure) -> None:
            gone.append(reason)
            done.cancel()

        request.notifyFinish().addErrback(clientGone)

        def write(_: object) -> None:
            if gone:
                return
            metrics = generate_latest(running.registry)
            if scrape.debug:
                body = _debugText(running, scrape.module, metrics)
                request.setHeader(b"content-type", _TEXT)
            else:
                body = metrics
                request.setHeader(
                    b"content-type", CONTENT_TYPE_PLAIN_0_0_4.encode("ascii")
                )
            request.setHeader(b"content-length", b"%d" % (len(body),))
            if request.method != b"HEAD":
                request.write(body)
            request.finish()

        done.addCallback(write).addErrback(request.processingFailed)
        return NOT_DONE_YET


def _debugText(scrape: Scrape, module: Module, metrics: bytes) -> bytes:
    """
    The page C{debug=true} answers, laid out as blackbox_exporter's.
    """
    configuration = str(yaml.safe_dump(dict(module.settings), default_flow_style=False))
    return (
        "Logs for the probe:\n"
        + scrape.log.text()
        + "\n\n\nMetrics that would have been returned:\n"
        + metrics.decode("utf-8", "replace")
        + "\n\n\nModule configuration:\n"
        + configuration
    ).encode("utf-8")


class MetricsPage(_Page):
    """
    C{/metrics}: the exporter's own metrics and its process's.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        # twisted.web's Resource is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        self._registry = registry

    def answer(self, request: Request) -> bytes:
        """
        @return: The exposition, in Prometheus' text format.
        """
        request.setHeader(b"content-type", CONTENT_TYPE_PLAIN_0_0_4.encode("ascii"))
        body: bytes = generate_latest(self._registry)
        return b"" if request.method == b"HEAD" else body


class IndexPage(_Page):
    """
    C{/}: what this is, its pages and its modules.
    """

    def __init__(self, modules: Mapping[str, Module]) -> None:
        # twisted.web's Resource is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        items = "".join(
            f"<li><code>{html.escape(name)}</code> ({html.escape(m.prober)})</li>"
            for name, m in sorted(modules.items())
        )
        self._body = (
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            "<title>welcome-exporter</title></head><body>"
            "<h1>welcome-exporter</h1>"
            "<p>A probe exporter for Prometheus, with blackbox_exporter's "
            "<code>/probe</code>.</p><ul>"
            "<li><a href='probe?target=127.0.0.1:12000&amp;module=welcome"
            "&amp;debug=true'>/probe?target=HOST:PORT&amp;module=NAME</a> (add "
            "<code>&amp;debug=true</code> for the probe's log)</li>"
            "<li><a href='metrics'>/metrics</a>: the exporter's own metrics</li>"
            f"</ul><h2>Modules</h2><ul>{items}</ul></body></html>\n"
        ).encode()

    def answer(self, request: Request) -> bytes:
        """
        @return: The page.
        """
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return b"" if request.method == b"HEAD" else self._body


class _Root(Resource):
    """
    The index at C{/}, the named pages, 404 for anything else.
    """

    def __init__(self, index: Resource) -> None:
        # twisted.web's Resource is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        self._index = index

    def getChild(self, path: bytes, request: Request) -> IResource:
        """
        @return: The index for C{/}, else a 404 page.
        """
        if path == b"":
            return self._index
        return notFound()


def exporterSite(
    reactor: ExporterReactor,
    probePage: ProbePage,
    metricsPage: MetricsPage,
    indexPage: IndexPage,
    limit: int,
    deadline: float,
) -> BoundedSite:
    """
    @param limit: Connections at once, at most (C{--max-scrapes}).
    @param deadline: Seconds from accept to close, at most.
    @return: The bounded site serving the three pages.
    """
    root = _Root(indexPage)
    root.putChild(b"probe", probePage)
    root.putChild(b"metrics", metricsPage)
    return BoundedSite(root, reactor, limit, deadline)
