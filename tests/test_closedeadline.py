"""
Tests for L{welcome_protocol.closing.closedeadline}: a close that does not
end within its grace is aborted, with one timer for every connection.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.closing.closedeadline import CloseDeadline


class _Connection:
    """
    A connection that records being aborted.
    """

    aborted = False

    def abortClosing(self) -> None:
        self.aborted = True


class CloseDeadlineTests(TestCase):
    """
    L{CloseDeadline} aborts late closes, oldest first, with one timer.
    """

    def test_lateCloseAborted(self) -> None:
        """
        A close still under way after the grace is aborted; one that ended
        is not.
        """
        clock = Clock()
        deadline = CloseDeadline(clock, 2.0)
        late, ended = _Connection(), _Connection()
        deadline.closing(late)
        deadline.closing(ended)
        deadline.closed(ended)
        clock.advance(1.9)
        self.assertFalse(late.aborted)
        clock.advance(0.1)
        self.assertEqual((late.aborted, ended.aborted), (True, False))
        self.assertEqual(len(deadline), 0)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_oneTimerInOrder(self) -> None:
        """
        Closes asked for at different times share one timer and are each
        aborted at their own deadline.
        """
        clock = Clock()
        deadline = CloseDeadline(clock, 2.0)
        first, second = _Connection(), _Connection()
        deadline.closing(first)
        clock.advance(1.0)
        deadline.closing(second)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(1.0)
        self.assertEqual((first.aborted, second.aborted), (True, False))
        clock.advance(1.0)
        self.assertTrue(second.aborted)

    def test_closeEndingAtOnceKeepsTheTimer(self) -> None:
        """
        A close that ends in the same turn costs no timer of its own: the one
        timer stays set, and when it fires it finds nothing to do.
        """
        clock = Clock()
        deadline = CloseDeadline(clock, 2.0)
        for _ in range(100):
            connection = _Connection()
            deadline.closing(connection)
            deadline.closed(connection)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(2.0)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stop(self) -> None:
        """
        Stopping forgets every close and cancels the timer.
        """
        clock = Clock()
        deadline = CloseDeadline(clock, 2.0)
        connection = _Connection()
        deadline.closing(connection)
        deadline.stop()
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(len(deadline), 0)
        clock.advance(5)
        self.assertFalse(connection.aborted)
