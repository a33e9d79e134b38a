# -*- test-case-name: tests.test_stats -*-
"""
The service's counters: what it has done since it started.

Every stage counts here (a plain integer increment on the hot path); the
stats line (L{welcome_protocol.observing.statsline}), the metrics page and
the workers' snapshots read them.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from itertools import pairwise

from attrs import define, field

#: Upper bounds, in seconds, of the connection duration histogram's buckets:
#: from a greeting on loopback to the longest C{--keep-open} client.
DURATION_BOUNDS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
)


def durationBounds(idleTimeout: float | None) -> tuple[float, ...]:
    """
    @param idleTimeout: The C{--idle-timeout}, or L{None} for none.
    @return: L{DURATION_BOUNDS}, with one more bound at twice the idle
        timeout when none lies past it, so connections ended by the timeout
        land in a bucket of their own rather than in C{+Inf}.  Whatever the
        timeout, every bound is finite and above the one before: C{+Inf}
        is the collector's to add, once.
    """
    if idleTimeout is None or not idleTimeout >= DURATION_BOUNDS[-1]:
        return DURATION_BOUNDS
    extra = 2 * idleTimeout
    if not math.isfinite(extra):
        return DURATION_BOUNDS
    return (*DURATION_BOUNDS, extra)


@define
class DurationHistogram:
    """
    How long connections lasted, counted into buckets as they close.

    Plain integers, like every counter here: a scrape turns them into a
    Prometheus histogram (cumulative buckets) only when it is asked for.

    @ivar bounds: The buckets' upper bounds, in seconds, ascending.
    @ivar counts: Connections per bucket (not cumulative); the last one is
        for durations past every bound.
    @ivar total: The sum of all durations, in seconds.
    """

    bounds: tuple[float, ...] = field(default=DURATION_BOUNDS)
    counts: list[int] = field()

    @bounds.validator
    def _ascendingFinite(self, attribute: object, bounds: tuple[float, ...]) -> None:
        if not all(math.isfinite(bound) for bound in bounds) or any(
            low >= high for low, high in pairwise(bounds)
        ):
            raise ValueError(f"bounds must be finite and ascending, not {bounds!r}")

    total: float = 0.0

    @counts.default
    def _zeros(self) -> list[int]:
        return [0] * (len(self.bounds) + 1)

    def observe(self, seconds: float) -> None:
        """
        Count one connection that lasted C{seconds}.
        """
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def add(self, counts: Sequence[int], total: float) -> None:
        """
        Add another histogram's C{counts} and C{total} (same bounds) to this.
        """
        for index, count in enumerate(counts):
            self.counts[index] += count
        self.total += total


@define
class ServerStats:
    """
    Counters of connections since start-up, updated in place as they happen.

    @ivar started: When the service started, in the clock's seconds.
    @ivar served: Connections that got the whole welcome and ended cleanly.
    @ivar refusedMaxConnections: Refused because of C{--max-connections}.
    @ivar refusedMaxPerIP: Refused because of C{--max-per-ip}.
    @ivar timedOut: Closed by C{--idle-timeout}.
    @ivar closedAtShutdown: Still open when C{--shutdown-timeout} ran out.
    @ivar errors: Ended by an error, such as a reset from the client.
    @ivar acceptPauses: Times accepting paused for lack of file descriptors.
    @ivar bytesSent: Bytes handed to the connections' transports.
    @ivar handshakeTimeoutsProxy: Aborted at C{--handshake-timeout} before
        their whole PROXY header had arrived.
    @ivar handshakeTimeoutsTLS: Aborted at C{--handshake-timeout} before
        their TLS handshake had completed.
    @ivar refusedMaxHandshakes: Unfinished connections closed because
        C{--max-handshakes} others were (the oldest make room).
    @ivar refusedProxyFrom: Closed unread: from an address outside every
        C{--proxy-from} network.
    @ivar invalidProxyHeaders: Closed unwelcomed: their PROXY header was
        malformed or named impossible addresses or ports.
    @ivar messageReloads: Times the message file was read again and used.
    @ivar messageReloadFailures: Times reading it again failed (the old
        message was kept).
    @ivar durations: How long admitted connections lasted, accept to close.
    @ivar datagramsAnswered: UDP datagrams answered with the welcome.
    @ivar datagramsTooSmall: UDP datagrams not answered because the welcome
        is not smaller than they are.
    @ivar datagramsRateLimited: UDP datagrams not answered because their
        source prefix's or the global bucket was empty.
    @ivar datagramsDropped: UDP datagrams not answered because they came
        from a port that makes reflection loops, or the reply could not be
        sent.
    @ivar datagramBytesIn: Bytes of all UDP datagrams received.
    @ivar datagramBytesOut: Bytes of all UDP replies sent.
    """

    started: float
    served: int = 0
    refusedMaxConnections: int = 0
    refusedMaxPerIP: int = 0
    timedOut: int = 0
    closedAtShutdown: int = 0
    errors: int = 0
    acceptPauses: int = 0
    bytesSent: int = 0
    handshakeTimeoutsProxy: int = 0
    handshakeTimeoutsTLS: int = 0
    refusedMaxHandshakes: int = 0
    refusedProxyFrom: int = 0
    invalidProxyHeaders: int = 0
    messageReloads: int = 0
    messageReloadFailures: int = 0
    durations: DurationHistogram = field(factory=DurationHistogram)
    datagramsAnswered: int = 0
    datagramsTooSmall: int = 0
    datagramsRateLimited: int = 0
    datagramsDropped: int = 0
    datagramBytesIn: int = 0
    datagramBytesOut: int = 0
