"""
Tests for L{welcome_protocol.udp.readbound}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.udp.readbound import TurnBound


class FakePort:
    """
    A port as Twisted's UDP port's read loop sees it: one attribute.
    """

    maxThroughput = 256 * 1024


class TurnBoundTests(TestCase):
    """
    L{TurnBound} ends the read loop after so many datagrams a turn.
    """

    def test_loopEndsAtBound(self) -> None:
        """
        The datagram that fills the turn's share sets C{maxThroughput} to
        0, which ends Twisted's read loop; earlier ones leave it alone.
        """
        port, clock = FakePort(), Clock()
        bound = TurnBound(port, clock, 3)
        bound.read()
        bound.read()
        self.assertEqual(port.maxThroughput, 256 * 1024)
        bound.read()
        self.assertEqual(port.maxThroughput, 0)
        self.assertEqual(bound.turnsCut, 1)

    def test_nextTurnRestores(self) -> None:
        """
        At the next turn the port reads again, with its own byte bound and
        a new share of datagrams.
        """
        port, clock = FakePort(), Clock()
        bound = TurnBound(port, clock, 2)
        bound.read()
        bound.read()
        clock.advance(0)
        self.assertEqual(port.maxThroughput, 256 * 1024)
        bound.read()
        self.assertEqual(port.maxThroughput, 256 * 1024)
        bound.read()
        self.assertEqual(port.maxThroughput, 0)

    def test_noTimerUntilCut(self) -> None:
        """
        Datagrams below the share cost no timer: one is scheduled only when
        a turn is cut.
        """
        port, clock = FakePort(), Clock()
        bound = TurnBound(port, clock, 3)
        bound.read()
        bound.read()
        self.assertEqual(clock.getDelayedCalls(), [])
        bound.read()
        self.assertEqual(len(clock.getDelayedCalls()), 1)

    def test_closedPortLeftClosed(self) -> None:
        """
        A port that closed (Twisted sets its C{maxThroughput} to -1) is not
        set reading again.
        """
        port, clock = FakePort(), Clock()
        bound = TurnBound(port, clock, 1)
        bound.read()
        port.maxThroughput = -1
        clock.advance(0)
        self.assertEqual(port.maxThroughput, -1)

    def test_stopCancelsTimer(self) -> None:
        """
        Stopping leaves no call behind.
        """
        port, clock = FakePort(), Clock()
        bound = TurnBound(port, clock, 1)
        bound.read()
        bound.stop()
        self.assertEqual(clock.getDelayedCalls(), [])
