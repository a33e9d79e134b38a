# -*- test-case-name: tests.test_metrics_service -*-
"""
C{--metrics DESCRIPTION}: the registry of the service's metrics, and the
listener that serves it.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry
from twisted.application.service import IService
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorThreads
from twisted.internet.threads import deferToThreadPool

from welcome_protocol.admission.unfinished import HandshakeGuard
from welcome_protocol.listening.builder import ListenerBuilder
from welcome_protocol.metrics.boundedhttp import MAX_SCRAPERS
from welcome_protocol.metrics.collector import WelcomeCollector
from welcome_protocol.metrics.deadline import REQUEST_DEADLINE
from welcome_protocol.metrics.resource import MetricsPage, metricsSite
from welcome_protocol.metrics.source import MetricsReactor, MetricsSource
from welcome_protocol.shared.stats import ServerStats


def processRegistry() -> CollectorRegistry:
    """
    @return: A registry of prometheus_client's C{process_*} and C{python_*}
        collectors (of this process: with C{--workers}, the parent).
    """
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def metricsPage(reactor: IReactorThreads, source: MetricsSource) -> MetricsPage:
    """
    @param reactor: Its thread pool makes the exposition.
    @param source: The service's state.
    @return: The page of the service's metrics, read from C{source}, and
        of the process's.
    """

    def inThread(
        encoder: Callable[[Collector], bytes], families: Collector
    ) -> Deferred[bytes]:
        pool = reactor.getThreadPool()
        return deferToThreadPool(reactor, pool, encoder, families)

    return MetricsPage(WelcomeCollector(source), processRegistry(), inThread)


def metricsService(
    reactor: MetricsReactor,
    description: str,
    source: MetricsSource,
    requestDeadline: float = REQUEST_DEADLINE,
) -> IService:
    """
    @param reactor: Listens and times the scrapers' connections.
    @param description: The endpoint description to serve on (checked
        already, when the options were parsed).
    @param source: The service's state.
    @param requestDeadline: Seconds from accept to the end of a scraper's
        connection, at most (C{--metrics-deadline}).
    @return: A service that serves C{/metrics} on C{description} once
        started; like the greeting listeners, it stops the service with one
        line if it cannot listen.
    """
    # Until its TLS handshake or PROXY header is complete, a connection is
    # not yet the site's: the same deadline and cap bound it, under a guard
    # of the metrics port's own, so that scrapers never compete with the
    # welcome's unfinished connections.
    unfinished = HandshakeGuard(
        requestDeadline,
        MAX_SCRAPERS,
        ServerStats(reactor.seconds()),
        reactor,
        deadlineOption="the metrics port's request deadline",
        capOption="the metrics port's connection cap",
    )
    # The builder wraps the listener, as it does every other.
    builder = ListenerBuilder(
        reactor,
        metricsSite(metricsPage(reactor, source), reactor, requestDeadline),
        unfinished=unfinished,
    )
    return builder.build(description, name=f"--metrics {description}")
