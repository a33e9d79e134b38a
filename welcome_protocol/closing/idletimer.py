# -*- test-case-name: tests.test_idletimer -*-
"""
One timer for the idle timeouts of every connection.

C{twisted.protocols.policies.TimeoutMixin} gives each connection its own
C{DelayedCall}, rescheduled on every byte: with ten thousand connections held
open that is ten thousand objects in the reactor's heap, each several hundred
bytes.  Timeouts counted in seconds need no such precision.  L{IdleTimer}
keeps connections in buckets by the second their deadline falls in (a coarse
timing wheel) and runs one delayed call, for the earliest bucket.  Activity
only moves a connection's deadline (a float attribute); the bucket is
corrected lazily, when it comes due.  A connection times out at most one
second (L{IdleTimer.resolution}) after its deadline.
"""

from __future__ import annotations

import heapq
import math
from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Watched(Protocol):
    """
    What L{IdleTimer} needs of a connection: three attributes it keeps for
    itself (set them to these defaults), and what to call on a timeout.
    """

    idleDeadline: float
    idleTimeout: float
    idleBucket: int | None

    def timeoutConnection(self) -> None:
        """
        The connection was idle for its timeout.
        """


class IdleTimer:
    """
    Time out connections idle for their timeout, with one delayed call.

    @ivar resolution: Seconds per bucket: how late a timeout may fire.
    """

    def __init__(self, clock: IReactorTime, resolution: float = 1.0) -> None:
        """
        @param clock: Tells the time and runs the one delayed call.
        @param resolution: Seconds per bucket.
        """
        self._clock = clock
        self.resolution = resolution
        self._buckets: dict[int, set[Watched]] = {}
        self._due: list[int] = []
        self._count = 0
        self._timer: IDelayedCall | None = None
        self._timerBucket: int | None = None

    def __len__(self) -> int:
        """
        @return: How many connections are watched.
        """
        return self._count

    def watch(self, item: Watched, timeout: float) -> None:
        """
        Time C{item} out after C{timeout} seconds without L{touch}; if it
        was already watched, start over with the new timeout.
        """
        if item.idleBucket is not None:
            self.forget(item)
        item.idleTimeout = timeout
        item.idleDeadline = self._clock.seconds() + timeout
        self._count += 1
        self._place(item)

    def touch(self, item: Watched) -> None:
        """
        C{item} was active: its timeout starts again now.
        """
        if item.idleBucket is not None:
            item.idleDeadline = self._clock.seconds() + item.idleTimeout

    def forget(self, item: Watched) -> None:
        """
        Stop watching C{item} (closed, or no longer timed).
        """
        bucket = item.idleBucket
        if bucket is None:
            return
        item.idleBucket = None
        members = self._buckets.get(bucket)
        if members is not None:
            members.discard(item)
        self._count -= 1
        if not self._count:
            self._buckets.clear()
            self._due.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = self._timerBucket = None

    def _place(self, item: Watched) -> None:
        """
        Put C{item} in the bucket of its deadline, and make sure the timer
        runs by then.
        """
        key = math.ceil(item.idleDeadline / self.resolution)
        item.idleBucket = key
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = set()
            heapq.heappush(self._due, key)
        bucket.add(item)
        if self._timerBucket is None or key < self._timerBucket:
            if self._timer is not None:
                self._timer.cancel()
            self._schedule(key)

    def _schedule(self, key: int) -> None:
        delay = max(0.0, key * self.resolution - self._clock.seconds())
        self._timerBucket = key
        self._timer = self._clock.callLater(delay, self._sweep)

    def _sweep(self) -> None:
        """
        Time out every connection of the buckets now due, and move the
        ones that were active since to the bucket of their new deadline.
        """
        self._timer = self._timerBucket = None
        now = self._clock.seconds()
        due = self._due
        while due and due[0] * self.resolution <= now:
            bucket = self._buckets.pop(heapq.heappop(due), set())
            for item in bucket:
                if item.idleBucket is None:
                    continue
                if item.idleDeadline <= now:
                    item.idleBucket = None
                    self._count -= 1
                    item.timeoutConnection()
                else:
                    self._place(item)
        if due and self._timer is None:
            self._schedule(due[0])
