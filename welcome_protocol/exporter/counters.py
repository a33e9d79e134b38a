# -*- test-case-name: tests.test_exporter_counters -*-
"""
The exporter's own metrics, for its C{/metrics} page: scrapes by module and
result, probes started, requests refused, probes in flight.

Counted with an integer increment per event and turned into metric
families only when Prometheus scrapes (a prometheus_client collector), as the server's
own metrics are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class ExporterCounters(Collector):
    """
    Counters of what the exporter did.

    @ivar scrapes: C{(module, result)}: scrapes answered.
    @ivar refused: C{reason}: requests refused (C{bad_request},
        C{forbidden}).
    @ivar probes: Probes started.
    """

    def __init__(self, inFlight: Callable[[], int] = lambda: 0) -> None:
        """
        @param inFlight: Reads the probes in flight now.
        """
        self.scrapes: Counter[tuple[str, str]] = Counter()
        self.refused: Counter[str] = Counter()
        self.probes = 0
        self._inFlight = inFlight

    def scraped(self, module: str, success: bool) -> None:
        """
        Count a scrape answered.
        """
        self.scrapes[module, "success" if success else "failure"] += 1

    def refusedRequest(self, reason: str) -> None:
        """
        Count a request refused for C{reason}.
        """
        self.refused[reason] += 1

    def probeStarted(self) -> None:
        """
        Count a probe (one port of a scrape).
        """
        self.probes += 1

    def collect(self) -> Iterable[Metric]:
        """
        @return: The metric families, read now.
        """
        scrapes = CounterMetricFamily(
            "welcome_exporter_scrapes",
            "Scrapes of /probe answered, by module and result",
            labels=["module", "result"],
        )
        for (module, result), count in sorted(self.scrapes.items()):
            scrapes.add_metric([module, result], count)
        yield scrapes
        refused = CounterMetricFamily(
            "welcome_exporter_refused_requests",
            "Requests to /probe refused, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(self.refused.items()):
            refused.add_metric([reason], count)
        yield refused
        yield CounterMetricFamily(
            "welcome_exporter_probes", "Probes started (one per port)", self.probes
        )
        yield GaugeMetricFamily(
            "welcome_exporter_probes_in_flight",
            "Probes holding a slot under --max-probes now",
            self._inFlight(),
        )
