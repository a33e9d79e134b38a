# -*- test-case-name: tests.test_udp_readbound -*-
"""
At most so many datagrams per reactor turn, so a flood cannot starve TCP.

Twisted's UDP port reads in a loop until the socket is empty or
C{maxThroughput} bytes have been read in this turn (256 KiB by default).
That bounds bytes, not datagrams: 256 KiB of 40-byte datagrams is 6,500
calls into Python in one turn, and empty datagrams add nothing to the count
at all, so a flood of them keeps the loop going for as long as it lasts,
while TCP connections wait to be accepted.

C{maxThroughput} is the port's public knob and the loop reads it before
every datagram; L{TurnBound} sets it to 0 once a turn has had its share,
which ends the loop after the current datagram, and gives it back at the
start of the next turn.  The kernel keeps what was not read in the socket's
receive buffer, and drops what does not fit there, as it must for UDP.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime

#: Datagrams read per turn: enough to keep the per-turn costs (a poll, the
#: timers) small beside the datagrams' own, few enough that a turn with a
#: full share still takes well under a millisecond.
DEFAULT_PER_TURN = 64


class ThroughputBounded(Protocol):
    """
    What L{TurnBound} needs of a port: Twisted's C{udp.Port} has it.
    """

    maxThroughput: int


class ReadBudget:
    """
    One share of datagrams per reactor turn for every UDP port of a service.

    A bound per port would let a flood spread over a range of N ports read
    N shares a turn, and starve TCP again.  Every port's L{TurnBound} spends
    from this one budget; the datagram that spends its last ends the read
    loop of every port (C{maxThroughput} set to 0), so the ports still to
    be read this turn read nothing, and the next turn gives them all back
    their throughput and the budget its share.

    @ivar turnsCut: Turns whose reads were ended by the budget.
    """

    def __init__(self, clock: IReactorTime, perTurn: int = DEFAULT_PER_TURN) -> None:
        """
        @param clock: Schedules the start of the next turn.
        @param perTurn: Datagrams read per turn at most, over all ports.
        """
        self._clock = clock
        self._perTurn = perTurn
        self._left = perTurn
        self._ports: dict[ThroughputBounded, int] = {}
        self._nextTurn: IDelayedCall | None = None
        self.turnsCut = 0

    def add(self, port: ThroughputBounded) -> None:
        """
        Bound C{port}'s reads by this budget too.
        """
        self._ports[port] = port.maxThroughput

    def remove(self, port: ThroughputBounded) -> None:
        """
        Stop bounding C{port}, which is closing; with the last port gone,
        forget the turn in progress.
        """
        self._ports.pop(port, None)
        if not self._ports and self._nextTurn is not None:
            self._nextTurn.cancel()
            self._nextTurn = None
            self._left = self._perTurn

    def read(self) -> None:
        """
        Count one datagram read; at the share's last, end every port's read
        loop until the next turn.

        The count is not reset at every turn (nothing tells a protocol that
        a turn began, and a timer per turn would cost more than it saves),
        only when the share is used up: so a turn reads at most C{perTurn}
        datagrams, and now and then fewer.
        """
        self._left -= 1
        if self._left > 0:
            return
        for port in self._ports:
            port.maxThroughput = 0
        self.turnsCut += 1
        if self._nextTurn is None:
            # A call due now runs at the start of the next turn, before its
            # poll.
            self._nextTurn = self._clock.callLater(0, self._newTurn)

    def _newTurn(self) -> None:
        self._nextTurn = None
        self._left = self._perTurn
        for port, throughput in self._ports.items():
            # Twisted sets it to -1 when the port closes; leave that alone.
            if port.maxThroughput == 0:
                port.maxThroughput = throughput


class TurnBound:
    """
    End a UDP port's read loop once its L{ReadBudget} is spent for the turn.

    @ivar budget: The budget it spends from: its own, or the one every UDP
        port of the service shares.
    """

    def __init__(
        self,
        port: ThroughputBounded,
        clock: IReactorTime,
        perTurn: int = DEFAULT_PER_TURN,
        budget: ReadBudget | None = None,
    ) -> None:
        """
        @param port: The port whose loop to bound.
        @param clock: Schedules the start of the next turn (for a budget of
            its own).
        @param perTurn: Datagrams read per turn at most (for a budget of its
            own).
        @param budget: The shared budget to spend from; L{None} for one of
            the port's own.
        """
        self._port = port
        self.budget = ReadBudget(clock, perTurn) if budget is None else budget
        self.budget.add(port)

    @property
    def turnsCut(self) -> int:
        """
        Turns whose reads were ended by the budget.
        """
        return self.budget.turnsCut

    def read(self) -> None:
        """
        Count one datagram read; see L{ReadBudget.read}.
        """
        self.budget.read()

    def stop(self) -> None:
        """
        Stop bounding the port; it is closing.
        """
        self.budget.remove(self._port)
