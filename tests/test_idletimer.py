"""
Tests for L{welcome_protocol.closing.idletimer}: one delayed call times out every
watched connection, at most one resolution after its deadline.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.closing.idletimer import IdleTimer


class _Connection:
    """
    A watched item that records its timeouts.
    """

    def __init__(self) -> None:
        self.idleDeadline = 0.0
        self.idleTimeout = 0.0
        self.idleBucket: int | None = None
        self.timeouts = 0

    def timeoutConnection(self) -> None:
        """
        Count the timeout.
        """
        self.timeouts += 1


class IdleTimerTests(TestCase):
    """
    L{IdleTimer} on a L{Clock}.
    """

    def test_oneDelayedCallForManyConnections(self) -> None:
        """
        However many connections are watched, one delayed call is pending,
        and each times out once its timeout has passed without activity.
        """
        clock = Clock()
        timer = IdleTimer(clock)
        connections = [_Connection() for _ in range(1000)]
        for connection in connections:
            timer.watch(connection, 30)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(29.9)
        self.assertEqual(sum(c.timeouts for c in connections), 0)
        clock.advance(0.1)
        self.assertEqual([c.timeouts for c in connections], [1] * 1000)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(len(timer), 0)

    def test_touchPostponesTimeout(self) -> None:
        """
        Activity restarts a connection's timeout; a timeout fires at most
        one resolution after the deadline.
        """
        clock = Clock()
        timer = IdleTimer(clock)
        active, silent = _Connection(), _Connection()
        clock.advance(0.5)
        timer.watch(active, 10)
        timer.watch(silent, 10)
        for _ in range(5):
            clock.advance(5)
            timer.touch(active)
        self.assertEqual((active.timeouts, silent.timeouts), (0, 1))
        clock.advance(10.5)
        self.assertEqual(active.timeouts, 1)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_forgetCancelsTheLastTimer(self) -> None:
        """
        A forgotten connection never times out; once none is watched, no
        delayed call is left.
        """
        clock = Clock()
        timer = IdleTimer(clock)
        first, second = _Connection(), _Connection()
        timer.watch(first, 5)
        timer.watch(second, 50)
        timer.forget(first)
        timer.forget(first)
        clock.advance(10)
        self.assertEqual(first.timeouts, 0)
        timer.forget(second)
        self.assertEqual(clock.getDelayedCalls(), [])
        clock.advance(100)
        self.assertEqual(second.timeouts, 0)

    def test_watchAgainFromTimeout(self) -> None:
        """
        A connection watched again from its own timeout (a graceful close
        given one more timeout to finish) times out again later.
        """
        clock = Clock()
        timer = IdleTimer(clock)
        connection = _Connection()

        def again() -> None:
            connection.timeouts += 1
            if connection.timeouts == 1:
                timer.watch(connection, 30)

        # The double's method is replaced to re-arm the timer from its own
        # timeout, as WelcomeProtocol does.
        connection.timeoutConnection = again  # type: ignore[method-assign]
        timer.watch(connection, 30)
        clock.advance(30)
        self.assertEqual(connection.timeouts, 1)
        clock.advance(30)
        self.assertEqual(connection.timeouts, 2)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_earlierDeadlineReschedules(self) -> None:
        """
        A connection with a shorter timeout than those watched moves the one
        delayed call earlier.
        """
        clock = Clock()
        timer = IdleTimer(clock)
        slow, quick = _Connection(), _Connection()
        timer.watch(slow, 300)
        timer.watch(quick, 3)
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(3)
        self.assertEqual((quick.timeouts, slow.timeouts), (1, 0))
        self.assertEqual(len(clock.getDelayedCalls()), 1)
