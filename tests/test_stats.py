"""
Tests for L{welcome_protocol.shared.stats}.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorFromThreads
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.observing.statsline import (
    StatsReporter,
    formatDuration,
    formatStats,
)
from welcome_protocol.shared.stats import (
    DURATION_BOUNDS,
    DurationHistogram,
    ServerStats,
    durationBounds,
)


@implementer(IReactorFromThreads)
class _Reactor(Clock):
    """
    A clock whose C{callFromThread} runs the call at once, as a signal
    handler's call would run on the next reactor iteration.
    """

    def callFromThread(
        self, callable: Callable[..., Any], *args: object, **kwargs: object
    ) -> None:
        callable(*args, **kwargs)


class _Signals:
    """
    A stand-in for C{signal.getsignal}/C{signal.signal}.
    """

    def __init__(self, initial: Any) -> None:
        self.handlers: dict[int, Any] = {signal.SIGUSR1: initial}

    def getsignal(self, number: int) -> Any:
        return self.handlers[number]

    def setsignal(self, number: int, handler: Any) -> Any:
        previous, self.handlers[number] = self.handlers[number], handler
        return previous


class FormatTests(TestCase):
    """
    The stats line and its durations.
    """

    def test_formatDuration(self) -> None:
        """
        Durations drop leading zero units.
        """
        self.assertEqual(formatDuration(5), "5s")
        self.assertEqual(formatDuration(65), "1m05s")
        self.assertEqual(formatDuration(3 * 3600 + 4), "3h00m04s")
        self.assertEqual(formatDuration(2 * 86400 + 3661), "2d01h01m01s")

    def test_formatStats(self) -> None:
        """
        The line names every counter.
        """
        stats = ServerStats(
            100.0,
            served=7,
            refusedMaxConnections=2,
            refusedMaxPerIP=3,
            timedOut=1,
            closedAtShutdown=4,
            errors=5,
            acceptPauses=6,
            bytesSent=56,
            handshakeTimeoutsProxy=8,
            handshakeTimeoutsTLS=9,
            refusedMaxHandshakes=10,
            refusedProxyFrom=11,
            invalidProxyHeaders=12,
        )
        self.assertEqual(
            formatStats(stats, 9, 190.0, 4),
            "Stats: served 7, open 9, unfinished 4, refused 26 (max-connections 2,"
            " max-per-ip 3, max-handshakes 10, proxy-from 11), timed out 1,"
            " handshake timeouts 17 (PROXY header 8, TLS handshake 9),"
            " invalid PROXY headers 12, closed at shutdown 4, errors 5,"
            " accept pauses 6, bytes sent 56, up 1m30s",
        )

    def test_formatStatsWithDatagrams(self) -> None:
        """
        With a UDP listener, the line also counts datagrams by outcome, and
        their bytes in and out, before the uptime.
        """
        stats = ServerStats(
            100.0,
            datagramsAnswered=5,
            datagramsTooSmall=1,
            datagramsRateLimited=2,
            datagramsDropped=3,
            datagramBytesIn=13200,
            datagramBytesOut=45,
        )
        line = formatStats(stats, 0, 101.0, datagrams=True)
        self.assertTrue(
            line.endswith(
                ", bytes sent 0, datagrams 11 (answered 5, too small 1, "
                "rate limited 2, dropped 3), datagram bytes in 13200, out 45, up 1s"
            ),
            line,
        )
        self.assertNotIn("datagram", formatStats(stats, 0, 101.0))


class StatsReporterTests(TestCase):
    """
    L{StatsReporter} reports on SIGUSR1, chains the previous handler, and
    reports once connections have closed at shutdown.
    """

    def makeReporter(
        self, previous: Any, whenAllClosed: Deferred[None] | None = None
    ) -> tuple[StatsReporter, _Signals, ServerStats]:
        """
        A reporter with fake signals on a fake reactor.
        """
        reactor = _Reactor()
        stats = ServerStats(reactor.seconds())
        signals = _Signals(previous)
        reporter = StatsReporter(
            stats,
            lambda: 3,
            lambda: succeed(None) if whenAllClosed is None else whenAllClosed,
            reactor,
            reactor,
            signals.getsignal,
            signals.setsignal,
        )
        return reporter, signals, stats

    def test_signalReportsAndChains(self) -> None:
        """
        SIGUSR1 logs the line and calls the handler it replaced (twistd's
        log rotation); stopping puts that handler back.
        """
        calls: list[int] = []

        def rotate(number: int, frame: FrameType | None) -> None:
            calls.append(number)

        reporter, signals, stats = self.makeReporter(rotate)
        stats.served = 12
        reporter.startService()
        handler = signals.handlers[signal.SIGUSR1]
        self.assertIsNot(handler, rotate)
        with capturedLogs() as events:
            handler(signal.SIGUSR1, None)
        self.assertEqual(calls, [signal.SIGUSR1])
        lines = [formatEvent(e) for e in events]
        self.assertEqual(len(lines), 1)
        self.assertTrue(lines[0].startswith("Stats: served 12, open 3, "), lines)
        reporter.stopService()
        self.assertIs(signals.handlers[signal.SIGUSR1], rotate)

    def test_defaultHandlerNotCalled(self) -> None:
        """
        When nothing handled SIGUSR1 before, there is nothing to chain to.
        """
        reporter, signals, _ = self.makeReporter(signal.SIG_DFL)
        reporter.startService()
        with capturedLogs() as events:
            signals.handlers[signal.SIGUSR1](signal.SIGUSR1, None)
        self.assertEqual(len(events), 1)
        reporter.stopService()
        self.assertEqual(signals.handlers[signal.SIGUSR1], signal.SIG_DFL)

    def test_finalReportWaitsForConnections(self) -> None:
        """
        At shutdown the line is logged once every connection has closed.
        """
        closed: Deferred[None] = Deferred()
        reporter, _, _ = self.makeReporter(signal.SIG_DFL, closed)
        reporter.startService()
        with capturedLogs() as events:
            stopped = reporter.stopService()
            self.assertNoResult(stopped)
            self.assertEqual(list(events), [])
            closed.callback(None)
        self.successResultOf(stopped)
        self.assertEqual(len(events), 1)
        self.assertIn("Stats: served 0", formatEvent(events[0]))


class DurationHistogramTests(TestCase):
    """
    L{DurationHistogram} counts each duration into its bucket.
    """

    def test_bucketIsFirstBoundAtOrAbove(self) -> None:
        """
        A duration lands in the first bucket whose bound is at least it (the
        Prometheus C{le} rule), past every bound in the last one.
        """
        histogram = DurationHistogram((1.0, 2.0))
        for seconds in [0.5, 1.0, 1.5, 2.0, 9.0]:
            histogram.observe(seconds)
        self.assertEqual(histogram.counts, [2, 2, 1])
        self.assertEqual(histogram.total, 14.0)

    def test_add(self) -> None:
        """
        Another histogram's counts and sum add to this one's.
        """
        histogram = DurationHistogram((1.0,))
        histogram.observe(0.5)
        histogram.add([1, 2], 3.0)
        self.assertEqual((histogram.counts, histogram.total), ([2, 2], 3.5))

    def test_boundsReachPastIdleTimeout(self) -> None:
        """
        The bounds always include one past the idle timeout.
        """
        self.assertEqual(durationBounds(None), DURATION_BOUNDS)
        self.assertEqual(durationBounds(300.0), DURATION_BOUNDS)
        self.assertEqual(durationBounds(3600.0), (*DURATION_BOUNDS, 7200.0))
        for timeout in [0.5, 300.0, 3599.0, 3600.0, 86400.0]:
            self.assertGreater(durationBounds(timeout)[-1], timeout)

    @given(st.floats(allow_nan=True, allow_infinity=True))
    def test_boundsFiniteAndAscendingForAnyTimeout(self, timeout: float) -> None:
        """
        Whatever the idle timeout, even one no option accepts (1e308, whose
        double overflows), the bounds are finite and ascending, so that
        C{+Inf} is only ever the collector's last bucket.
        """
        bounds = DurationHistogram(durationBounds(timeout)).bounds
        self.assertTrue(all(math.isfinite(bound) for bound in bounds), bounds)
        self.assertEqual(list(bounds), sorted(set(bounds)))

    def test_badBoundsRefused(self) -> None:
        """
        A histogram cannot be made with infinite, repeated or descending
        bounds.
        """
        for bounds in [(1.0, math.inf), (1.0, 1.0), (2.0, 1.0), (math.nan,)]:
            self.assertRaises(ValueError, DurationHistogram, bounds)
