"""
Tests for L{welcome_protocol.metrics.workertotals}: workers' snapshots and
their sum in the parent.
"""

from __future__ import annotations

import json

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.metrics.workertotals import (
    SNAPSHOT_INTERVAL,
    SnapshotError,
    SnapshotWriter,
    WorkerTotals,
    parseSnapshot,
    snapshotLine,
    takeSnapshot,
)
from welcome_protocol.shared.stats import DurationHistogram, ServerStats


def _worker(served: int, errors: int = 0, durations: int = 0) -> ServerStats:
    """
    A worker's counters: C{served}, C{errors}, and C{durations}
    connections of 0.5 s.
    """
    stats = ServerStats(0.0, served=served, errors=errors, bytesSent=8 * served)
    for _ in range(durations):
        stats.durations.observe(0.5)
    return stats


def _totals() -> WorkerTotals:
    return WorkerTotals(ServerStats(0.0))


def _line(stats: ServerStats, openNow: int = 0) -> str:
    """
    @return: The JSON part of the C{S} line a worker writes.
    """
    line = snapshotLine(takeSnapshot(stats, openNow))
    assert line.startswith("S ") and line.endswith("\n")
    return line[2:-1]


class SnapshotTests(TestCase):
    """
    A snapshot goes through its line unchanged; bad lines are refused.
    """

    def test_roundTrip(self) -> None:
        """
        A snapshot line parses back to the same counters.
        """
        stats = _worker(3, errors=2, durations=4)
        snapshot = parseSnapshot(_line(stats, 5), len(stats.durations.counts))
        self.assertEqual(snapshot["served"], 3)
        self.assertEqual(snapshot["errors"], 2)
        self.assertEqual(snapshot["open"], 5)
        self.assertEqual(sum(snapshot["durations"]), 4)
        self.assertEqual(snapshot["durationsTotal"], 2.0)

    def test_badLines(self) -> None:
        """
        Lines that are not snapshots of the right shape raise
        L{SnapshotError} saying what is wrong.
        """
        good = json.loads(_line(_worker(1)))
        buckets = len(good["durations"])
        cases = {
            "{": "not JSON",
            "[]": "not a JSON object",
            json.dumps({**good, "served": "1"}): "served is not an integer",
            json.dumps({**good, "durations": [1]}): "durations is not a list",
            json.dumps({**good, "durationsTotal": None}): "durationsTotal",
        }
        for text, why in cases.items():
            error = self.assertRaises(SnapshotError, parseSnapshot, text, buckets)
            self.assertIn(why, str(error))


class SnapshotWriterTests(TestCase):
    """
    A worker writes a snapshot at start, every interval, and at its end.
    """

    def test_periodicAndFinal(self) -> None:
        """
        One line at start, one per interval, and a last one once every
        connection has closed at shutdown.
        """
        clock = Clock()
        stats = _worker(0)
        lines: list[str] = []
        closed: Deferred[None] = Deferred()
        writer = SnapshotWriter(stats, lambda: 0, lambda: closed, lines.append, clock)
        writer.startService()
        self.assertEqual(len(lines), 1)
        stats.served = 2
        clock.advance(SNAPSHOT_INTERVAL)
        self.assertEqual(len(lines), 2)
        self.assertIn('"served":2', lines[-1])
        stats.served = 3
        stopped = writer.stopService()
        self.assertNoResult(stopped)
        clock.advance(10 * SNAPSHOT_INTERVAL)
        self.assertEqual(len(lines), 2)
        closed.callback(None)
        self.successResultOf(stopped)
        self.assertEqual(len(lines), 3)
        self.assertIn('"served":3', lines[-1])

    def test_stopWithoutConnections(self) -> None:
        """
        With no connection open, the last snapshot is written at once.
        """
        lines: list[str] = []
        writer = SnapshotWriter(
            _worker(1), lambda: 0, lambda: succeed(None), lines.append, Clock()
        )
        writer.startService()
        self.successResultOf(writer.stopService())
        self.assertEqual(len(lines), 2)


class WorkerTotalsTests(TestCase):
    """
    The parent's totals add up every worker, and keep the ended ones.
    """

    def update(self, totals: WorkerTotals, worker: object, stats: ServerStats) -> None:
        """
        Feed C{worker}'s snapshot of C{stats} to C{totals}.
        """
        totals.update(worker, totals.parse(_line(stats, openNow=stats.served)))

    def test_sumOfWorkers(self) -> None:
        """
        The totals are the sum of each worker's latest snapshot.
        """
        totals = _totals()
        self.update(totals, "a", _worker(1, durations=1))
        self.update(totals, "b", _worker(2, errors=1, durations=2))
        self.update(totals, "a", _worker(4, durations=3))
        self.assertEqual(
            (totals.stats.served, totals.stats.errors, totals.stats.bytesSent),
            (6, 1, 48),
        )
        self.assertEqual(sum(totals.stats.durations.counts), 5)
        self.assertEqual(totals.stats.durations.total, 2.5)
        self.assertEqual(totals.openConnections(), 6)

    def test_endedWorkerStillCounts(self) -> None:
        """
        When a worker ends, its counters stay in the totals (and a new one
        starting from zero adds to them); what it had open counts as ended
        in error.
        """
        totals = _totals()
        self.update(totals, "a", _worker(5, durations=5))
        self.update(totals, "b", _worker(2))
        totals.ended("a")
        self.assertEqual(totals.stats.served, 7)
        # The 5 it had open ended with it.
        self.assertEqual(totals.stats.errors, 5)
        self.assertEqual(sum(totals.stats.durations.counts), 5)
        self.assertEqual(totals.openConnections(), 2)
        self.update(totals, "c", _worker(0))
        self.assertEqual(totals.stats.served, 7)
        self.update(totals, "c", _worker(1))
        self.assertEqual(totals.stats.served, 8)
        totals.ended("never sent a snapshot")
        self.assertEqual(totals.stats.served, 8)

    def test_bucketsMustMatch(self) -> None:
        """
        A snapshot with another number of duration buckets is refused.
        """
        totals = WorkerTotals(ServerStats(0.0, durations=DurationHistogram((1.0,))))
        self.assertRaises(SnapshotError, totals.parse, _line(_worker(1)))
