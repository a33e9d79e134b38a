# -*- test-case-name: tests.test_exporter_tcpprober -*-
"""
What a prober found on one port, before it becomes metrics.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.exporter.modules import Module
from welcome_protocol.exporter.probing import ProbeResult
from welcome_protocol.exporter.scrapelog import ScrapeLog


@attrs.frozen
class PortOutcome:
    """
    One port's probe.

    @ivar success: Whether the probe succeeded as the module asks.
    @ivar state: The port's state (L{welcome_protocol.exporter.probing.portState}),
        C{connected} for a connect-only probe that connected.
    @ivar result: The client's result.
    @ivar regexFailed: Whether a C{query_response} expectation failed;
        L{None} if none was checked.
    @ivar expectLabels: C{probe_expect_info}'s labels, from the matches.
    """

    success: bool
    state: str
    result: ProbeResult
    regexFailed: bool | None = None
    expectLabels: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class ProbeContext:
    """
    What every prober needs for one scrape.

    @ivar reactor: Connects, listens, resolves and keeps time.
    @ivar module: The module asked for.
    @ivar timeout: Seconds each probe may take.
    @ivar log: The scrape's log.
    @ivar now: A monotonic clock.
    """

    reactor: ClientReactor
    module: Module
    timeout: float
    log: ScrapeLog
    now: Callable[[], float]
