# -*- test-case-name: tests.test_closedeadline -*-
"""
A close that cannot wait for ever.

A graceful close can wait as long as the client likes: Twisted's TLS waits
for the client's C{close_notify} before it closes the socket, and any
transport waits for a client that does not read to take what is buffered.
L{CloseDeadline} aborts every connection whose close has not ended within
its grace.

Every connection gets the same grace, so deadlines come in the order closes
were asked for: the book is a dict (insertion-ordered) and there is one
timer, for the oldest, as in
L{HandshakeGuard<welcome_protocol.handshaking.handshakes.HandshakeGuard>}.
Starting and ending are one dict insertion and one removal; the timer is
not cancelled when the book empties (on the direct transport a close ends
in the same turn it is asked for, and cancelling and setting a timer for
each connection would cost more than the greeting), it fires and finds
nothing to do.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Closing(Protocol):
    """
    A connection whose close was asked for.
    """

    def abortClosing(self) -> None:
        """
        The close did not end within its grace: drop the connection now.
        """


class CloseDeadline:
    """
    Abort connections whose close has not ended within C{grace} seconds.

    @ivar grace: Seconds a close may take.
    """

    def __init__(self, clock: IReactorTime, grace: float) -> None:
        """
        @param clock: Tells the time and runs the one timer.
        @param grace: Seconds a close may take.
        """
        self._clock = clock
        self.grace = grace
        self._closing: dict[Closing, float] = {}
        self._timer: IDelayedCall | None = None

    def __len__(self) -> int:
        """
        @return: How many closes are under way.
        """
        return len(self._closing)

    def closing(self, connection: Closing) -> None:
        """
        C{connection}'s close was asked for just now.
        """
        self._closing[connection] = self._clock.seconds() + self.grace
        if self._timer is None:
            self._timer = self._clock.callLater(self.grace, self._expire)

    def closed(self, connection: Closing) -> None:
        """
        C{connection} has ended (or was never closing).
        """
        self._closing.pop(connection, None)

    def stop(self) -> None:
        """
        Forget every close and stop the timer; the service is stopping.
        """
        self._closing.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        """
        Abort the connections whose grace has run out, oldest first, and set
        the timer for the next one, if any.
        """
        self._timer = None
        now = self._clock.seconds()
        expired = []
        for connection, deadline in self._closing.items():
            if deadline > now:
                break
            expired.append(connection)
        for connection in expired:
            del self._closing[connection]
            connection.abortClosing()
        if self._closing:
            first = next(iter(self._closing.values()))
            self._timer = self._clock.callLater(max(0.0, first - now), self._expire)
