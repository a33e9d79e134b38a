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


class TurnBound:
    """
    End a UDP port's read loop after C{perTurn} datagrams in one turn.

    @ivar turnsCut: Turns whose read loop was ended by the bound.
    """

    def __init__(
        self,
        port: ThroughputBounded,
        clock: IReactorTime,
        perTurn: int = DEFAULT_PER_TURN,
    ) -> None:
        """
        @param port: The port whose loop to bound.
        @param clock: Schedules the start of the next turn.
        @param perTurn: Datagrams read per turn at most.
        """
        self._port = port
        self._clock = clock
        self._perTurn = perTurn
        self._left = perTurn
        self._throughput = port.maxThroughput
        self._nextTurn: IDelayedCall | None = None
        self.turnsCut = 0

    def read(self) -> None:
        """
        Count one datagram read; at the share's last, end the read loop.

        The count is not reset at every turn (nothing tells a protocol that
        a turn began, and a timer per turn would cost more than it saves),
        only when the share is used up: so a turn reads at most C{perTurn}
        datagrams, and now and then fewer.
        """
        self._left -= 1
        if self._left > 0:
            return
        self._port.maxThroughput = 0
        self.turnsCut += 1
        if self._nextTurn is None:
            # A call due now runs at the start of the next turn, before its
            # poll.
            self._nextTurn = self._clock.callLater(0, self._newTurn)

    def _newTurn(self) -> None:
        self._nextTurn = None
        self._left = self._perTurn
        # Twisted sets it to -1 when the port closes; leave that alone.
        if self._port.maxThroughput == 0:
            self._port.maxThroughput = self._throughput

    def stop(self) -> None:
        """
        Forget the turn in progress; the port is closing.
        """
        if self._nextTurn is not None:
            self._nextTurn.cancel()
            self._nextTurn = None
        self._left = self._perTurn
