# -*- test-case-name: tests.test_stats -*-
"""
What the service has done since it started, in one log line on demand.

Like endlessh, the server reports its counters when sent C{SIGUSR1} and once
more when it stops.  twistd itself rotates its log file on C{SIGUSR1}, so the
handler here calls the one it replaced: one signal does both.
"""

from __future__ import annotations

import math
import signal
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import pairwise
from types import FrameType
from typing import Any

from attrs import define, field
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.logger import Logger

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


def formatDuration(seconds: float) -> str:
    """
    @param seconds: A duration.
    @return: It as C{1d02h03m04s}, leaving out leading zero units.
    """
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m{secs:02d}s"
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def formatStats(
    stats: ServerStats,
    openNow: int,
    now: float,
    unfinishedNow: int = 0,
    datagrams: bool = False,
) -> str:
    """
    @param stats: The counters.
    @param openNow: Connections open at this moment, unfinished ones
        included.
    @param now: The current time, in the same clock as C{stats.started}.
    @param unfinishedNow: Connections open at this moment that have not yet
        reached their welcome (PROXY header or TLS handshake pending).
    @return: The one-line report.
    """
    refused = (
        stats.refusedMaxConnections
        + stats.refusedMaxPerIP
        + stats.refusedMaxHandshakes
        + stats.refusedProxyFrom
    )
    handshakeTimeouts = stats.handshakeTimeoutsProxy + stats.handshakeTimeoutsTLS
    return (
        f"Stats: served {stats.served}, open {openNow}, "
        f"unfinished {unfinishedNow}, refused {refused} "
        f"(max-connections {stats.refusedMaxConnections}, "
        f"max-per-ip {stats.refusedMaxPerIP}, "
        f"max-handshakes {stats.refusedMaxHandshakes}, "
        f"proxy-from {stats.refusedProxyFrom}), timed out {stats.timedOut}, "
        f"handshake timeouts {handshakeTimeouts} "
        f"(PROXY header {stats.handshakeTimeoutsProxy}, "
        f"TLS handshake {stats.handshakeTimeoutsTLS}), "
        f"invalid PROXY headers {stats.invalidProxyHeaders}, "
        f"closed at shutdown {stats.closedAtShutdown}, errors {stats.errors}, "
        f"accept pauses {stats.acceptPauses}, bytes sent {stats.bytesSent}, "
        f"{formatDatagrams(stats) if datagrams else ''}"
        f"up {formatDuration(now - stats.started)}"
    )


def formatDatagrams(stats: ServerStats) -> str:
    """
    @return: The stats line's UDP part, e.g. C{datagrams 9 (answered 5, too
        small 1, rate limited 2, dropped 1), datagram bytes in 9000, out
        40, }.
    """
    received = (
        stats.datagramsAnswered
        + stats.datagramsTooSmall
        + stats.datagramsRateLimited
        + stats.datagramsDropped
    )
    return (
        f"datagrams {received} (answered {stats.datagramsAnswered}, "
        f"too small {stats.datagramsTooSmall}, "
        f"rate limited {stats.datagramsRateLimited}, "
        f"dropped {stats.datagramsDropped}), "
        f"datagram bytes in {stats.datagramBytesIn}, "
        f"out {stats.datagramBytesOut}, "
    )


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class StatsReporter(Service):
    """
    Log the stats line on C{SIGUSR1} and once all connections have closed at
    shutdown.

    @ivar signalNumber: The signal that asks for a report.
    """

    _log = Logger()
    signalNumber = signal.SIGUSR1

    def __init__(
        self,
        stats: ServerStats,
        openConnections: Callable[[], int],
        whenAllClosed: Callable[[], Deferred[None]],
        reactor: IReactorFromThreads,
        clock: IReactorTime,
        getsignal: Callable[[int], _Handler] = signal.getsignal,
        setsignal: Callable[[int, _Handler], _Handler] = signal.signal,
        unfinishedConnections: Callable[[], int] = lambda: 0,
        datagrams: bool = False,
    ) -> None:
        """
        @param stats: The counters to report.
        @param openConnections: Returns how many connections are open now.
        @param whenAllClosed: Returns a L{Deferred} that fires once no
            connection is open; the final report waits for it.
        @param reactor: To leave the signal handler for the reactor.
        @param clock: Tells the time, for the uptime.
        @param getsignal: L{signal.getsignal}, replaceable in tests.
        @param setsignal: L{signal.signal}, replaceable in tests.
        @param unfinishedConnections: Returns how many open connections
            have not reached their welcome yet.
        @param datagrams: Whether the line reports the UDP counters.
        """
        self.stats = stats
        self._openConnections = openConnections
        self._whenAllClosed = whenAllClosed
        self._reactor = reactor
        self._clock = clock
        self._getsignal = getsignal
        self._setsignal = setsignal
        self._unfinishedConnections = unfinishedConnections
        self._datagrams = datagrams
        self._previous: _Handler = None
        self._installed = False

    def report(self) -> str:
        """
        Log the stats line now.

        @return: The line.
        """
        line = formatStats(
            self.stats,
            self._openConnections(),
            self._clock.seconds(),
            self._unfinishedConnections(),
            self._datagrams,
        )
        self._log.info("{line}", line=line)
        return line

    def startService(self) -> None:
        """
        Install the C{SIGUSR1} handler, keeping the one it replaces.
        """
        super().startService()  # type: ignore[no-untyped-call]
        self._previous = self._getsignal(self.signalNumber)
        self._setsignal(self.signalNumber, self._onSignal)
        self._installed = True

    def stopService(self) -> Deferred[None]:
        """
        Give back the previous handler, then log the final report once every
        connection has closed (the graceful shutdown bounds how long).
        """
        super().stopService()  # type: ignore[no-untyped-call]
        if self._installed:
            self._setsignal(self.signalNumber, self._previous)
            self._installed = False
        finished: Deferred[None] = Deferred()
        self._whenAllClosed().addBoth(lambda _: self.report()).addBoth(
            lambda _: finished.callback(None)
        )
        return finished

    def _onSignal(self, signum: int, frame: FrameType | None) -> None:
        """
        Run the handler we replaced, such as twistd's log rotation, then
        report from the reactor (never log inside a signal handler).  Both
        are queued in that order, so the line lands in the fresh log file.
        """
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        self._reactor.callFromThread(self.report)
