# -*- test-case-name: tests.test_metrics_collector -*-
"""
The service's metrics, built from its counters only when Prometheus asks.

The hot path only adds to plain integers (L{ServerStats}); at scrape time
L{WelcomeCollector} turns them into metric families, as Synapse's
collectors do.  Nothing is recorded twice, so the stats line and the
endpoint cannot disagree.

Each metric that comes straight from a L{ServerStats} field is declared once,
in L{COUNTERS} or L{GAUGES}: its name, help text, label and which field
gives the value of each label value.  Every label value is listed, so each
series exists (at 0) from the first scrape.  Adding a counter to
L{ServerStats} and a line here is all a new metric takes, and
L{welcome_protocol.metrics.workertotals} sums it over worker processes
without being told.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from attrs import frozen
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

import twisted
from welcome_protocol import __version__
from welcome_protocol.metrics.source import MetricsSource
from welcome_protocol.shared.stats import ServerStats


@frozen
class StatsMetric:
    """
    One metric read from L{ServerStats} fields.

    @ivar name: The metric's name (counters end in C{_total}).
    @ivar documentation: Its help text.
    @ivar label: The name of its one label, or L{None} for none.
    @ivar fields: For each label value (C{""} without a label), the name of
        the L{ServerStats} field that holds its value.
    @ivar countsAccepted: Whether each count is an accepted connection (one
        that ended, was refused, or is still being handled but not counted
        open), so that it adds to C{welcome_connections_accepted_total}.
    """

    name: str
    documentation: str
    label: str | None
    fields: Mapping[str, str]
    countsAccepted: bool = False


#: The counters, each from L{ServerStats} fields.
COUNTERS: tuple[StatsMetric, ...] = (
    StatsMetric(
        "welcome_connections_closed_total",
        "Admitted connections that have closed, by how they ended.",
        "outcome",
        {
            "served": "served",
            "timed_out": "timedOut",
            "shutdown": "closedAtShutdown",
            "error": "errors",
        },
        countsAccepted=True,
    ),
    StatsMetric(
        "welcome_connections_refused_total",
        "Connections closed at once because a limit was reached.",
        "reason",
        {
            "max_connections": "refusedMaxConnections",
            "max_per_ip": "refusedMaxPerIP",
            "max_handshakes": "refusedMaxHandshakes",
            "proxy_from": "refusedProxyFrom",
        },
        countsAccepted=True,
    ),
    StatsMetric(
        "welcome_handshake_timeouts_total",
        "Connections aborted at --handshake-timeout, by the phase they were still in.",
        "phase",
        {
            "proxy_header": "handshakeTimeoutsProxy",
            "tls_handshake": "handshakeTimeoutsTLS",
        },
        countsAccepted=True,
    ),
    StatsMetric(
        "welcome_invalid_proxy_headers_total",
        "Connections closed unwelcomed because their PROXY header was "
        "malformed or named impossible addresses or ports.",
        None,
        {"": "invalidProxyHeaders"},
        countsAccepted=True,
    ),
    StatsMetric(
        "welcome_sent_bytes_total",
        "Bytes of welcome (and busy) messages handed to connections.",
        None,
        {"": "bytesSent"},
    ),
    StatsMetric(
        "welcome_message_reloads_total",
        "Re-reads of the message file (on SIGHUP), by result.",
        "result",
        {"ok": "messageReloads", "failed": "messageReloadFailures"},
    ),
    StatsMetric(
        "welcome_datagrams_total",
        "UDP datagrams received, by what became of them.",
        "outcome",
        {
            "answered": "datagramsAnswered",
            "too_small": "datagramsTooSmall",
            "rate_limited": "datagramsRateLimited",
            "dropped": "datagramsDropped",
        },
    ),
    StatsMetric(
        "welcome_datagram_bytes_total",
        "Bytes of UDP datagrams received (in) and of the replies sent (out).",
        "direction",
        {"in": "datagramBytesIn", "out": "datagramBytesOut"},
    ),
)

#: Gauges held in L{ServerStats} fields (counts of what is under way now).
GAUGES: tuple[StatsMetric, ...] = ()


def gaugeFields() -> frozenset[str]:
    """
    @return: The L{ServerStats} fields that count what is under way now,
        which a worker process that has ended no longer adds to (every other
        field is a counter).
    """
    return frozenset(field for metric in GAUGES for field in metric.fields.values())


_Family = CounterMetricFamily | GaugeMetricFamily


def _family(metric: StatsMetric, stats: ServerStats, kind: type[_Family]) -> _Family:
    labels = [] if metric.label is None else [metric.label]
    family = kind(metric.name, metric.documentation, labels=labels)
    for value, field in metric.fields.items():
        family.add_metric(
            [] if metric.label is None else [value], getattr(stats, field)
        )
    return family


class WelcomeCollector(Collector):
    """
    Build the service's metric families from a L{MetricsSource} at each
    scrape.  The work does not depend on how many connections are open.
    """

    def __init__(self, source: MetricsSource) -> None:
        self._source = source

    def collect(self) -> Iterable[Metric]:
        """
        @return: Every metric of the service, with every label value.
        """
        source = self._source
        stats = source.stats
        openNow = source.openConnections()
        accepted = openNow
        for metric in COUNTERS:
            yield _family(metric, stats, CounterMetricFamily)
            if metric.countsAccepted:
                accepted += sum(getattr(stats, f) for f in metric.fields.values())
        for metric in GAUGES:
            yield _family(metric, stats, GaugeMetricFamily)
            if metric.countsAccepted:
                accepted += sum(getattr(stats, f) for f in metric.fields.values())
        yield CounterMetricFamily(
            "welcome_connections_accepted_total",
            "Connections accepted: those closed, refused, and open now.",
            value=accepted,
        )
        yield GaugeMetricFamily(
            "welcome_connections_open",
            "Connections admitted and not yet closed, unfinished ones included.",
            value=openNow,
        )
        yield GaugeMetricFamily(
            "welcome_connections_unfinished",
            "Open connections still waiting for their PROXY header or TLS "
            "handshake to complete (--max-handshakes caps them).",
            value=source.unfinishedConnections(),
        )
        pauses = CounterMetricFamily(
            "welcome_accept_pauses_total",
            "Times accepting paused for lack of file descriptors, by listener.",
            labels=["listener"],
        )
        for description, count in source.acceptPauses:
            pauses.add_metric([description], count())
        yield pauses
        yield self._durations(stats)
        yield GaugeMetricFamily(
            "welcome_max_connections",
            "Connections that may be open at once (--max-connections, "
            "times the workers).",
            value=source.maxConnections,
        )
        yield GaugeMetricFamily(
            "welcome_workers",
            "Worker processes running (0 when serving in-process).",
            value=source.workers(),
        )
        yield CounterMetricFamily(
            "welcome_worker_restarts_total",
            "Worker processes that ended and were started again.",
            value=source.workerRestarts(),
        )
        info = GaugeMetricFamily(
            "welcome_build_info",
            "The versions running, as labels; the value is always 1.",
            labels=["version", "twisted_version"],
        )
        info.add_metric([__version__, twisted.__version__], 1)
        yield info

    @staticmethod
    def _durations(stats: ServerStats) -> HistogramMetricFamily:
        histogram = stats.durations
        buckets: list[tuple[str, float]] = []
        cumulative = 0
        for bound, count in zip(histogram.bounds, histogram.counts[:-1], strict=True):
            cumulative += count
            # prometheus_client's floatToGoString is unannotated.
            buckets.append((floatToGoString(bound), cumulative))  # type: ignore[no-untyped-call]
        cumulative += histogram.counts[-1]
        buckets.append(("+Inf", cumulative))
        family = HistogramMetricFamily(
            "welcome_connection_duration_seconds",
            "Time from admitting a connection (after its TLS handshake or PROXY "
            "header, if any) to its close.",
            labels=[],
        )
        family.add_metric([], buckets, histogram.total)
        return family
