"""
Tests for L{welcome_protocol.client.repeat}: attempts one after another, the
count, the interval, Ctrl-C, and the statistics.
"""

from __future__ import annotations

import math

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.client.probe import REFUSED, ProbeResult
from welcome_protocol.client.repeat import Repeater, Summary

WELCOMED = ProbeResult(None, connectSeconds=0.001, welcomeSeconds=0.002, welcome=b"hi")
REFUSED_RESULT = ProbeResult(REFUSED, "cannot connect", "connection refused")


class RepeaterTests(TestCase):
    """
    L{Repeater} with a fake clock and attempts the test completes.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.pending: list[Deferred[ProbeResult]] = []
        self.cancelled: list[Deferred[ProbeResult]] = []
        self.reported: list[tuple[int, ProbeResult]] = []

    def attempt(self) -> Deferred[ProbeResult]:
        """
        Start an attempt the test finishes by firing it.
        """
        d: Deferred[ProbeResult] = Deferred(self.cancelled.append)
        self.pending.append(d)
        return d

    def repeater(self, count: int, interval: float = 1.0) -> Repeater:
        """
        A repeater over L{attempt} that records its reports.
        """
        return Repeater(
            self.attempt,
            self.clock,
            count,
            interval,
            lambda n, r: self.reported.append((n, r)),
        )

    def test_endsAfterCount(self) -> None:
        """
        With C{count} 3, three attempts are made, each reported, and the run
        ends with their summary without waiting another interval.
        """
        done = self.repeater(3).start()
        for _ in range(3):
            self.pending[-1].callback(WELCOMED)
            self.clock.advance(1)
        summary = self.successResultOf(done)
        self.assertEqual((summary.attempts, summary.welcomed), (3, 3))
        self.assertEqual([n for n, _ in self.reported], [1, 2, 3])
        self.assertEqual(len(self.pending), 3)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_intervalFromStartToStart(self) -> None:
        """
        The next attempt starts an interval after the previous one started,
        however long that one took within it.
        """
        self.repeater(0, interval=2).start()
        self.clock.advance(0.5)
        self.pending[-1].callback(WELCOMED)
        self.clock.advance(1.4)
        self.assertEqual(len(self.pending), 1)
        self.clock.advance(0.1)
        self.assertEqual(len(self.pending), 2)

    def test_slowAttemptNextAtOnce(self) -> None:
        """
        An attempt longer than the interval is followed at once, never
        overlapped.
        """
        self.repeater(0, interval=1).start()
        self.clock.advance(5)
        self.assertEqual(len(self.pending), 1)
        self.pending[-1].callback(REFUSED_RESULT)
        self.clock.advance(0)
        self.assertEqual(len(self.pending), 2)

    def test_interruptDuringAttempt(self) -> None:
        """
        Ctrl-C cancels the attempt in progress, which is not counted, and
        ends the run with the summary so far.
        """
        repeater = self.repeater(0)
        done = repeater.start()
        self.pending[-1].callback(REFUSED_RESULT)
        self.clock.advance(1)
        repeater.interrupt()
        summary = self.successResultOf(done)
        self.assertEqual((summary.attempts, summary.interrupted), (1, True))
        self.assertEqual(self.cancelled, [self.pending[1]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_interruptBetweenAttempts(self) -> None:
        """
        Ctrl-C while waiting for the next attempt cancels the wait.
        """
        repeater = self.repeater(0)
        done = repeater.start()
        self.pending[-1].callback(WELCOMED)
        repeater.interrupt()
        self.assertEqual(self.successResultOf(done).attempts, 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clock.advance(10)
        self.assertEqual(len(self.pending), 1)

    def test_interruptAfterEndChangesNothing(self) -> None:
        """
        Ctrl-C after the run ended (the reactor stopping) is harmless.
        """
        repeater = self.repeater(1)
        done = repeater.start()
        self.pending[-1].callback(WELCOMED)
        repeater.interrupt()
        self.assertFalse(self.successResultOf(done).interrupted)


class SummaryTests(TestCase):
    """
    L{Summary}'s figures, as C{ping} computes them.
    """

    def test_statistics(self) -> None:
        """
        min/avg/max and mdev (population standard deviation) of the welcomed
        attempts' total times; failures count only towards the percentage.
        """
        summary = Summary()
        for connect in (0.001, 0.003):
            summary.add(ProbeResult(None, connectSeconds=connect, welcomeSeconds=0.0))
        summary.add(REFUSED_RESULT)
        stats = summary.statistics()
        assert stats is not None
        for got, want in zip(stats, (0.001, 0.002, 0.003, 0.001), strict=True):
            self.assertTrue(math.isclose(got, want), (got, want))
        self.assertEqual(
            (summary.attempts, summary.welcomed, summary.failed), (3, 2, 1)
        )
        self.assertAlmostEqual(summary.failedPercent, 100 / 3)
        self.assertFalse(summary.allWelcomed)

    def test_empty(self) -> None:
        """
        No attempt: no statistics, 100% failed, not all welcomed.
        """
        summary = Summary()
        self.assertIsNone(summary.statistics())
        self.assertEqual(summary.failedPercent, 100.0)
        self.assertFalse(summary.allWelcomed)
