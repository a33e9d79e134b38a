# -*- test-case-name: tests.test_metrics_workertotals -*-
"""
One set of numbers over all C{--workers} processes, dead ones included.

Each worker writes a snapshot of its counters to its parent, over the stdout
pipe that already carries its log (L{welcome_protocol.workers.pool}), as one
C{S JSON} line every L{SNAPSHOT_INTERVAL} seconds and once more when it has
stopped.  The parent keeps the last snapshot of each worker running and the
sum of the last snapshots of the workers that have ended, and adds them up
into one L{ServerStats}: the one its stats line and its metrics read.

So the per-connection work in a worker stays an integer increment, and a
counter never goes down when a worker dies: what it had reported stays in
the sum, and the connections it had open count as ended in error.  What a
worker killed with SIGKILL counted after its last snapshot
(at most L{SNAPSHOT_INTERVAL} seconds' worth) is lost, and the parent's
figures lag the workers' by up to that long.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

from welcome_protocol.shared.stats import ServerStats

#: Seconds between two snapshots of a worker.
SNAPSHOT_INTERVAL = 1.0

#: What the parent receives from a worker: its counters by field name, plus
#: C{open}, and the duration histogram as C{durations} and C{durationsTotal}.
Snapshot = dict[str, Any]


def _countFields() -> list[str]:
    """
    @return: The names of the integer fields of L{ServerStats}.
    """
    return [f.name for f in attrs.fields(ServerStats) if f.type in (int, "int")]


def takeSnapshot(stats: ServerStats, openNow: int) -> Snapshot:
    """
    @param stats: A worker's counters.
    @param openNow: How many connections it has open.
    @return: Everything the parent sums.
    """
    snapshot: Snapshot = {name: getattr(stats, name) for name in _countFields()}
    snapshot["open"] = openNow
    snapshot["durations"] = list(stats.durations.counts)
    snapshot["durationsTotal"] = stats.durations.total
    return snapshot


def snapshotLine(snapshot: Snapshot) -> str:
    """
    @return: C{snapshot} as the line a worker writes, newline included.
    """
    return "S " + json.dumps(snapshot, separators=(",", ":")) + "\n"


class SnapshotError(ValueError):
    """
    A snapshot line does not hold a snapshot.
    """


def parseSnapshot(text: str, bounds: int) -> Snapshot:
    """
    Read the JSON of a C{S} line.

    @param text: The line without its C{S }.
    @param bounds: How many buckets the duration histogram has.
    @raise SnapshotError: If it is not a snapshot of that shape.
    """
    try:
        snapshot = json.loads(text)
    except ValueError as e:
        raise SnapshotError(f"not JSON: {e}") from None
    if not isinstance(snapshot, dict):
        raise SnapshotError("not a JSON object")
    for name in [*_countFields(), "open"]:
        if type(snapshot.get(name, 0)) is not int:
            raise SnapshotError(f"{name} is not an integer")
    durations = snapshot.get("durations")
    if (
        not isinstance(durations, list)
        or len(durations) != bounds
        or not all(type(count) is int for count in durations)
    ):
        raise SnapshotError(f"durations is not a list of {bounds} integers")
    if not isinstance(snapshot.get("durationsTotal"), int | float):
        raise SnapshotError("durationsTotal is not a number")
    return snapshot


class SnapshotWriter(Service):
    """
    In a worker: write a snapshot every L{SNAPSHOT_INTERVAL} seconds, and a
    last one once every connection has closed at shutdown.
    """

    def __init__(
        self,
        stats: ServerStats,
        openConnections: Callable[[], int],
        whenAllClosed: Callable[[], Deferred[None]],
        write: Callable[[str], object],
        clock: IReactorTime,
        interval: float = SNAPSHOT_INTERVAL,
    ) -> None:
        """
        @param stats: The worker's counters.
        @param openConnections: Returns how many connections are open now.
        @param whenAllClosed: Returns a L{Deferred} that fires once no
            connection is open; the last snapshot waits for it.
        @param write: Sends a line to the parent.
        @param clock: Times the snapshots.
        @param interval: Seconds between snapshots.
        """
        self._stats = stats
        self._openConnections = openConnections
        self._whenAllClosed = whenAllClosed
        self._write = write
        self._interval = interval
        self._loop = LoopingCall(self.send)
        self._loop.clock = clock

    def send(self) -> None:
        """
        Write a snapshot now.
        """
        self._write(snapshotLine(takeSnapshot(self._stats, self._openConnections())))

    def startService(self) -> None:
        """
        Send the first snapshot now, then one every interval.
        """
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        self._loop.start(self._interval, now=True)

    def stopService(self) -> Deferred[None]:
        """
        Send the last snapshot once every connection has closed.
        """
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        if self._loop.running:
            self._loop.stop()
        finished: Deferred[None] = Deferred()
        self._whenAllClosed().addBoth(lambda _: self.send()).addBoth(
            lambda _: finished.callback(None)
        )
        return finished


class WorkerTotals:
    """
    In the parent: the sum of every worker's counters, as one L{ServerStats}.

    @ivar stats: The totals, updated in place whenever a snapshot comes in
        or a worker ends; hand it to the stats line and the metrics.
    """

    def __init__(self, stats: ServerStats) -> None:
        """
        @param stats: Zeroed counters to keep the totals in; their duration
            histogram must have the workers' bounds.
        """
        # Imported here: the collector needs prometheus_client, which a
        # parent without --metrics has no use for.
        from welcome_protocol.metrics.collector import gaugeFields

        self.stats = stats
        self._counters = [n for n in _countFields() if n not in gaugeFields()]
        self._gauges = [n for n in _countFields() if n in gaugeFields()]
        self._buckets = len(stats.durations.counts)
        self._ended = takeSnapshot(stats, 0)
        self._running: dict[object, Snapshot] = {}

    def parse(self, text: str) -> Snapshot:
        """
        @param text: The JSON of a worker's C{S} line.
        @return: The snapshot.
        @raise SnapshotError: If it is not one.
        """
        return parseSnapshot(text, self._buckets)

    def update(self, worker: object, snapshot: Snapshot) -> None:
        """
        Take C{worker}'s latest snapshot into the totals.
        """
        self._running[worker] = snapshot
        self._sum()

    def ended(self, worker: object) -> None:
        """
        C{worker} has ended: keep its counters.  The connections it still
        had open ended with it, as errors (so that
        C{welcome_connections_accepted_total}, which counts them, never
        goes down).
        """
        last = self._running.pop(worker, None)
        if last is None:
            return
        for name in self._counters:
            self._ended[name] += last.get(name, 0)
        self._ended["errors"] += last.get("open", 0)
        for index, count in enumerate(last["durations"]):
            self._ended["durations"][index] += count
        self._ended["durationsTotal"] += last["durationsTotal"]
        self._sum()

    def openConnections(self) -> int:
        """
        @return: How many connections the running workers have open, as
            they last reported.
        """
        return sum(snapshot.get("open", 0) for snapshot in self._running.values())

    def _sum(self) -> None:
        stats = self.stats
        running = list(self._running.values())
        for name in self._counters:
            total = self._ended[name] + sum(s.get(name, 0) for s in running)
            setattr(stats, name, total)
        for name in self._gauges:
            setattr(stats, name, sum(s.get(name, 0) for s in running))
        durations = stats.durations
        durations.counts = list(self._ended["durations"])
        durations.total = self._ended["durationsTotal"]
        for snapshot in running:
            durations.add(snapshot["durations"], snapshot["durationsTotal"])
