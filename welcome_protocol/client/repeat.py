# -*- test-case-name: tests.test_client_repeat -*-
"""
Probe again and again, like C{tcping -c COUNT -i INTERVAL}, and sum up.

Attempts never overlap: the next one starts C{interval} seconds after the
previous one started, or as soon as it ended if it took longer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.python.failure import Failure

from welcome_protocol.client.probe import ProbeResult


@attrs.define
class Summary:
    """
    The statistics of a run of attempts.

    @ivar attempts: Attempts that completed.
    @ivar welcomed: Those that got a welcome that passed every check.
    @ivar times: Seconds to the welcome (connect and welcome) of each
        welcomed attempt.
    @ivar interrupted: Whether the run was cut short (Ctrl-C).
    """

    attempts: int = 0
    welcomed: int = 0
    times: list[float] = attrs.Factory(list)
    interrupted: bool = False

    def add(self, result: ProbeResult) -> None:
        """
        Count one completed attempt.
        """
        self.attempts += 1
        total = result.totalSeconds
        if result.ok:
            self.welcomed += 1
            if total is not None:
                self.times.append(total)

    @property
    def failed(self) -> int:
        """
        Attempts that did not get a good welcome.
        """
        return self.attempts - self.welcomed

    @property
    def allWelcomed(self) -> bool:
        """
        Whether there was at least one attempt and every one succeeded.
        """
        return self.attempts > 0 and self.failed == 0

    @property
    def failedPercent(self) -> float:
        """
        The failed share in percent (100 if nothing completed).
        """
        return 100.0 * self.failed / self.attempts if self.attempts else 100.0

    def statistics(self) -> tuple[float, float, float, float] | None:
        """
        @return: min, avg, max and mdev (the population standard deviation,
            as C{ping} computes it) of L{times}, or L{None} if empty.
        """
        if not self.times:
            return None
        average = sum(self.times) / len(self.times)
        square = sum(t * t for t in self.times) / len(self.times)
        mdev = math.sqrt(max(0.0, square - average * average))
        return min(self.times), average, max(self.times), mdev


class Repeater:
    """
    Run attempts one after another, reporting each, until the count is
    reached or L{interrupt} is called.

    @ivar summary: The statistics so far.
    """

    def __init__(
        self,
        attempt: Callable[[], Deferred[ProbeResult]],
        clock: IReactorTime,
        count: int,
        interval: float,
        report: Callable[[int, ProbeResult], None],
    ) -> None:
        """
        @param attempt: Starts one probe (checks applied).
        @param count: How many attempts; 0 for no limit.
        @param interval: Seconds from one attempt's start to the next's.
        @param report: Called with the attempt's number (from 1) and result.
        """
        self._attempt = attempt
        self._clock = clock
        self._count = count
        self._interval = interval
        self._report = report
        self._current: Deferred[ProbeResult] | None = None
        self._next: IDelayedCall | None = None
        self._done: Deferred[Summary] = Deferred()
        self.summary = Summary()

    def start(self) -> Deferred[Summary]:
        """
        Begin the first attempt now.

        @return: Fires with the L{Summary} when the run ends.
        """
        self._begin()
        return self._done

    def interrupt(self) -> Deferred[Summary]:
        """
        End the run now: an attempt in progress is abandoned, not counted.

        @return: Fires with the L{Summary}, as L{start}'s does.
        """
        if not self._done.called:
            self.summary.interrupted = True
            if self._next is not None and self._next.active():
                self._next.cancel()
            current, self._current = self._current, None
            if current is not None:
                current.cancel()
            self._done.callback(self.summary)
        return self._done

    def _begin(self) -> None:
        self._next = None
        startedAt = self._clock.seconds()
        current = self._current = self._attempt()

        def finished(result: ProbeResult) -> None:
            if self._current is not current:
                return
            self._current = None
            self.summary.add(result)
            self._report(self.summary.attempts, result)
            if self._count and self.summary.attempts >= self._count:
                self._done.callback(self.summary)
                return
            delay = startedAt + self._interval - self._clock.seconds()
            self._next = self._clock.callLater(max(0.0, delay), self._begin)

        def broken(reason: Failure) -> None:
            # An attempt abandoned by interrupt() fails with CancelledError.
            if self._current is current and not self._done.called:
                self._current = None
                self._done.errback(reason)

        current.addCallback(finished)
        current.addErrback(broken)
