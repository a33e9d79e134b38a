# -*- test-case-name: tests.test_ratelimitedlog -*-
"""
A log line per incident, not per event: what an operator can read in a flood.

A port scan or a flood makes thousands of identical events a second; a line
for each buries everything else and costs more than the events themselves.
The first event is logged at once; the rest within the interval are counted
and summed up in one line when it ends.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger, LogLevel


class RateLimitedLog:
    """
    Log the first of a kind of event now, and how many more followed later.

    @ivar suppressed: Events counted but not yet summed up in the log.
    """

    def __init__(
        self,
        logger: Logger,
        clock: IReactorTime,
        summary: str,
        interval: float = 10.0,
        level: LogLevel = LogLevel.warn,
    ) -> None:
        """
        @param logger: Where the lines go.
        @param clock: Schedules the end of each interval.
        @param summary: The format of the line that sums up an interval; it
            may use C{{count}} and C{{interval}} (seconds).
        @param interval: Seconds between two lines at most.
        @param level: The level of every line.
        """
        self._logger = logger
        self._clock = clock
        self._summary = summary
        self._interval = interval
        self._level = level
        self._window: IDelayedCall | None = None
        self.suppressed = 0

    def emit(self, format: str, **fields: Any) -> None:
        """
        Log an event, unless one was logged less than an interval ago.

        @param format: The event's own line, logged if it is the first.
        @param fields: The values C{format} refers to.
        """
        if self._window is not None:
            self.suppressed += 1
            return
        self._logger.emit(self._level, format, **fields)
        self._window = self._clock.callLater(self._interval, self._windowEnded)

    def _windowEnded(self) -> None:
        self._window = None
        if self.suppressed:
            count, self.suppressed = self.suppressed, 0
            self._logger.emit(
                self._level, self._summary, count=count, interval=self._interval
            )
            # Keep limiting: a flood that goes on gets a line per interval.
            self._window = self._clock.callLater(self._interval, self._windowEnded)

    def flush(self) -> None:
        """
        Sum up any events not yet logged now and stop the timer; for shutdown.
        """
        if self._window is not None:
            self._window.cancel()
            self._window = None
        if self.suppressed:
            count, self.suppressed = self.suppressed, 0
            self._logger.emit(
                self._level, self._summary, count=count, interval=self._interval
            )
