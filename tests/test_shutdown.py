"""
Tests for L{welcome_protocol.shutdown}.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from welcome_protocol.service.shutdown import GracefulShutdown


class _Connections:
    """
    A stand-in for the factory's open connections.
    """

    def __init__(self, greeting: int, open: int) -> None:
        self.greeting = greeting
        self.open = open
        self.closed: Deferred[None] = Deferred()
        self.aborted = 0

    def finishGreetings(self) -> int:
        return self.greeting

    def whenAllClosed(self) -> Deferred[None]:
        return succeed(None) if self.open == 0 else self.closed

    def abortAll(self) -> int:
        self.aborted = self.open
        self.open = 0
        self.closed.callback(None)
        return self.aborted


class GracefulShutdownTests(TestCase):
    """
    L{GracefulShutdown} waits for greetings, up to its timeout.
    """

    def test_nothingOpen(self) -> None:
        """
        With nothing open, stopping is immediate and sets no timer.
        """
        clock = Clock()
        service = GracefulShutdown(_Connections(0, 0), clock, 5)
        service.startService()
        self.successResultOf(service.stopService())
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_greetingsFinishInTime(self) -> None:
        """
        Stopping waits for the connections; once they close, the timer is
        cancelled and nothing is aborted.
        """
        clock = Clock()
        connections = _Connections(2, 2)
        service = GracefulShutdown(connections, clock, 5)
        service.startService()
        stopped = service.stopService()
        clock.advance(4.9)
        self.assertNoResult(stopped)
        connections.closed.callback(None)
        self.successResultOf(stopped)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(connections.aborted, 0)

    def test_timeoutAbortsTheRest(self) -> None:
        """
        After the timeout the rest are aborted, and that is logged.
        """
        clock = Clock()
        connections = _Connections(1, 3)
        service = GracefulShutdown(connections, clock, 5)
        service.startService()
        with capturedLogs() as events:
            stopped = service.stopService()
            clock.advance(5)
        self.successResultOf(stopped)
        self.assertEqual(connections.aborted, 3)
        self.assertEqual(
            [formatEvent(e) for e in events],
            [
                "Stopping: letting 1 greetings in progress finish (up to 5 s)",
                "Closed 3 connections still open after --shutdown-timeout 5 s",
            ],
        )
