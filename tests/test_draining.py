"""
Tests for L{welcome_protocol.closing.draining}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.closing.draining import Draining


class _Connection:
    """
    A connection that records what draining asked of it.
    """

    def __init__(self, greeted: bool) -> None:
        self.greeted = greeted
        self.finishing = False
        self.aborted = False

    def finishForShutdown(self) -> None:
        """
        Note the request to finish.
        """
        self.finishing = True

    def abortForShutdown(self) -> None:
        """
        Note the abort.
        """
        self.aborted = True


class DrainingTests(TestCase):
    """
    L{Draining} keeps the open connections and fires its waiters when the
    last one is gone.
    """

    def test_noneOpenFiresAtOnce(self) -> None:
        """
        With nothing open, L{Draining.whenAllClosed} has already fired.
        """
        self.assertIsNone(self.successResultOf(Draining().whenAllClosed()))

    def test_firesWhenLastDiscarded(self) -> None:
        """
        Every waiter fires once the last open connection is discarded, not
        before.
        """
        draining = Draining()
        first, second = _Connection(True), _Connection(False)
        draining.add(first)
        draining.add(second)
        waiters = [draining.whenAllClosed(), draining.whenAllClosed()]
        draining.discard(first)
        self.assertNoResult(waiters[0])
        draining.discard(second)
        self.assertEqual([self.successResultOf(d) for d in waiters], [None, None])

    def test_finishGreetings(self) -> None:
        """
        L{Draining.finishGreetings} asks every open connection to finish and
        says how many are still being greeted.
        """
        draining = Draining()
        connections = [_Connection(True), _Connection(False), _Connection(False)]
        for connection in connections:
            draining.add(connection)
        self.assertEqual(draining.finishGreetings(), 2)
        self.assertTrue(all(c.finishing for c in connections))

    def test_abortAll(self) -> None:
        """
        L{Draining.abortAll} aborts every open connection and says how many.
        """
        draining = Draining()
        connections = [_Connection(True), _Connection(False)]
        for connection in connections:
            draining.add(connection)
        self.assertEqual(draining.abortAll(), 2)
        self.assertTrue(all(c.aborted for c in connections))
