"""
Tests for L{welcome_protocol.udp.readbound}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.udp.readbound import ReadBudget, TurnBound


class FakePort:
    """
    A port as Twisted's UDP port's read loop and the reactor see it: its
    C{maxThroughput}, and whether it is being watched.
    """

    maxThroughput = 256 * 1024

    def __init__(self) -> None:
        self.reading = True

    def startReading(self) -> None:
        """
        Be watched again.
        """
        self.reading = True

    def stopReading(self) -> None:
        """
        Be watched no more.
        """
        self.reading = False


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


def _oneTurn(clock: Clock) -> None:
    """
    Run the one call due at the start of the next turn, and not the one it
    schedules in turn (L{Clock.advance} would run both, a reactor runs the
    second a turn later).
    """
    [call] = clock.calls
    clock.calls.remove(call)
    call.func(*call.args, **call.kw)


class ReadBudgetTests(TestCase):
    """
    L{ReadBudget}: one share a turn for every UDP port of a service.
    """

    def test_shareIsTheService(self) -> None:
        """
        Datagrams read on any port of the service spend from one share: the
        last of it ends the turn for every port, which leave the poll.
        """
        clock = Clock()
        budget = ReadBudget(clock, 3)
        ports = [FakePort() for _ in range(3)]
        bounds = [TurnBound(port, clock, budget=budget) for port in ports]
        bounds[0].read()
        bounds[1].read()
        self.assertEqual([p.reading for p in ports], [True, True, True])
        bounds[2].read()
        # The port that spent the last ends its loop; the others leave the
        # poll.
        self.assertEqual([p.reading for p in ports], [False, False, True])
        self.assertEqual(ports[2].maxThroughput, 0)
        self.assertEqual((budget.turnsCut, budget.waiting), (1, 2))
        clock.advance(0)
        self.assertEqual([p.reading for p in ports], [True, True, True])
        self.assertEqual(ports[2].maxThroughput, 256 * 1024)

    def test_portsTakeTurns(self) -> None:
        """
        A turn puts back at most a share's worth of ports, the longest
        waiting first, so a turn's work is bounded by the share whatever
        the number of ports, and every port reads again in its turn.
        """
        clock = Clock()
        budget = ReadBudget(clock, 2)
        ports = [FakePort() for _ in range(5)]
        bounds = [TurnBound(port, clock, budget=budget) for port in ports]
        bounds[0].read()
        bounds[4].read()
        self.assertEqual(budget.waiting, 4)
        self.assertEqual([p.reading for p in ports], [False, False, False, False, True])
        _oneTurn(clock)
        self.assertEqual([p.reading for p in ports], [True, True, False, False, True])
        self.assertEqual(ports[4].maxThroughput, 256 * 1024)
        # The next turn comes without the share being spent.
        _oneTurn(clock)
        self.assertEqual([p.reading for p in ports], [True] * 5)
        self.assertEqual((budget.waiting, clock.getDelayedCalls()), (0, []))

    def test_closedPortsForgotten(self) -> None:
        """
        A port that stops is forgotten, waiting or not, and the last one's
        stop leaves no call behind.
        """
        clock = Clock()
        budget = ReadBudget(clock, 1)
        ports = [FakePort(), FakePort()]
        bounds = [TurnBound(port, clock, budget=budget) for port in ports]
        bounds[0].read()
        self.assertEqual(budget.waiting, 1)
        for bound in bounds:
            bound.stop()
        self.assertEqual((budget.waiting, clock.getDelayedCalls()), (0, []))

    def test_ownBudgetByDefault(self) -> None:
        """
        Without a shared budget, a port has one of its own.
        """
        clock = Clock()
        first, second = TurnBound(FakePort(), clock, 1), TurnBound(FakePort(), clock, 1)
        self.assertIsNot(first.budget, second.budget)
