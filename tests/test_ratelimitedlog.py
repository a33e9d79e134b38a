"""
Tests for L{welcome_protocol.shared.ratelimitedlog}.
"""

from __future__ import annotations

from typing import cast

from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, Logger, formatEvent
from twisted.trial.unittest import TestCase

from welcome_protocol.shared.ratelimitedlog import RateLimitedLog


class RateLimitedLogTests(TestCase):
    """
    L{RateLimitedLog} logs the first event, then one summary per interval.
    """

    def setUp(self) -> None:
        """
        A log on a L{Clock} whose lines are collected.
        """
        self.events: list[LogEvent] = []
        self.clock = Clock()
        self.log = RateLimitedLog(
            Logger(observer=cast(ILogObserver, self.events.append)),
            self.clock,
            "{count} more in {interval:g} s",
            interval=10.0,
        )

    def lines(self) -> list[str]:
        """
        @return: The lines logged so far.
        """
        return [formatEvent(e) for e in self.events]

    def test_floodGivesOneLinePerInterval(self) -> None:
        """
        A thousand events within an interval make two lines: the first
        event and the count of the rest.
        """
        for n in range(1000):
            self.log.emit("event {n}", n=n)
        self.assertEqual(self.lines(), ["event 0"])
        self.clock.advance(10)
        self.assertEqual(self.lines(), ["event 0", "999 more in 10 s"])

    def test_quietIntervalEndsLimiting(self) -> None:
        """
        After an interval without events, the next event is logged at once.
        """
        self.log.emit("first")
        self.clock.advance(10)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.log.emit("second")
        self.assertEqual(self.lines(), ["first", "second"])

    def test_continuingFloodKeepsLimiting(self) -> None:
        """
        A flood that goes on gets one summary per interval, no event lines.
        """
        for _ in range(3):
            for _ in range(5):
                self.log.emit("event")
            self.clock.advance(10)
        self.assertEqual(
            self.lines(),
            ["event", "4 more in 10 s", "5 more in 10 s", "5 more in 10 s"],
        )

    def test_flushSumsUpAndStopsTimer(self) -> None:
        """
        L{RateLimitedLog.flush} logs the pending count and leaves no timer.
        """
        self.log.emit("event")
        self.log.emit("event")
        self.log.flush()
        self.assertEqual(self.lines(), ["event", "1 more in 10 s"])
        self.assertEqual(self.clock.getDelayedCalls(), [])
