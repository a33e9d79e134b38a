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
start of the next turn.  The share is the service's, not a port's
(L{ReadBudget}): every UDP port of the service spends from one budget, so a
range of 10,000 ports reads no more a turn than one port.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime

#: Datagrams read per turn: enough to keep the per-turn costs (a poll, the
#: timers) small beside the datagrams' own, few enough that a turn with a
#: full share still takes well under a millisecond.
DEFAULT_PER_TURN = 64


class ThroughputBounded(Protocol):
    """
    What L{TurnBound} needs of a port: Twisted's C{udp.Port} has it (its
    C{maxThroughput} and L{abstract.FileDescriptor
    <twisted.internet.abstract.FileDescriptor>}'s C{startReading} and
    C{stopReading}).
    """

    maxThroughput: int

    def startReading(self) -> None:
        """
        Have the reactor call the port when its socket is readable.
        """

    def stopReading(self) -> None:
        """
        Have the reactor no longer watch the port's socket.
        """


class ReadBudget:
    """
    One share of datagrams per reactor turn for every UDP port of a service.

    A bound per port would let a flood spread over a range of N ports read
    N shares a turn, and starve TCP.  Every port's L{TurnBound} spends from
    this one budget.  The datagram that spends its last ends its port's read
    loop (C{maxThroughput} set to 0) and takes every other port that was
    being watched out of the reactor's poll (C{stopReading}), into a queue: a
    flooded port left in the poll would cost a call every turn even when it
    may read nothing.  Each following turn gives the budget its share back
    and puts back at most a share's worth of ports from the front of the
    queue, so that the ports take turns and a turn's work stays bounded by
    the share, not by the number of ports.  The kernel keeps what is not
    read in each socket's receive buffer, and drops what does not fit, as
    it must for UDP.

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
        # Each port's own throughput, to give back when it reads again.
        self._throughput: dict[ThroughputBounded, int] = {}
        self._watched: dict[ThroughputBounded, None] = {}
        self._waiting: deque[ThroughputBounded] = deque()
        self._cut: ThroughputBounded | None = None
        self._nextTurn: IDelayedCall | None = None
        self.turnsCut = 0

    @property
    def waiting(self) -> int:
        """
        How many ports wait out of the poll for a turn to read again.
        """
        return len(self._waiting)

    def add(self, port: ThroughputBounded) -> None:
        """
        Bound C{port}'s reads by this budget too; it is being watched.
        """
        self._throughput[port] = port.maxThroughput
        self._watched[port] = None

    def remove(self, port: ThroughputBounded) -> None:
        """
        Stop bounding C{port}, which is closing; with the last port gone,
        forget the turn in progress.
        """
        self._throughput.pop(port, None)
        self._watched.pop(port, None)
        if self._cut is port:
            self._cut = None
        if port in self._waiting:
            self._waiting.remove(port)
        if not self._throughput and self._nextTurn is not None:
            self._nextTurn.cancel()
            self._nextTurn = None
            self._left = self._perTurn

    def read(self, port: ThroughputBounded) -> None:
        """
        Count one datagram read by C{port}; at the share's last, end the
        read loop and take the watched ports out of the poll until the
        next turn.

        The count is not reset at every turn (nothing tells a protocol that
        a turn began, and a timer per turn would cost more than it saves),
        only when the share is used up: so a turn reads at most C{perTurn}
        datagrams, and now and then fewer.
        """
        self._left -= 1
        if self._left > 0:
            return
        # The port reading now ends its loop and stays in the poll, reading
        # nothing until the next turn; the others leave the poll.
        port.maxThroughput = 0
        self._cut = port
        for watched in self._watched:
            if watched is not port:
                watched.stopReading()
                self._waiting.append(watched)
        self._watched = {port: None} if port in self._watched else {}
        self.turnsCut += 1
        self._scheduleTurn()

    def _scheduleTurn(self) -> None:
        if self._nextTurn is None:
            # A call due now runs at the start of the next turn, before its
            # poll.
            self._nextTurn = self._clock.callLater(0, self._newTurn)

    def _newTurn(self) -> None:
        self._nextTurn = None
        self._left = self._perTurn
        cut, self._cut = self._cut, None
        # Twisted sets it to -1 when the port closes; leave that alone.
        if cut is not None and cut.maxThroughput == 0 and cut in self._throughput:
            cut.maxThroughput = self._throughput[cut]
        for _ in range(min(self._perTurn, len(self._waiting))):
            port = self._waiting.popleft()
            # Twisted sets it to -1 when the port closes; leave that alone.
            if port.maxThroughput == 0:
                port.maxThroughput = self._throughput[port]
            if port.maxThroughput < 0:
                continue
            self._watched[port] = None
            port.startReading()
        if self._waiting:
            # The rest take their turn next time, spent or not.
            self._scheduleTurn()


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
        self.budget.read(self._port)

    def stop(self) -> None:
        """
        Stop bounding the port; it is closing.
        """
        self.budget.remove(self._port)
