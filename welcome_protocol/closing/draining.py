# -*- test-case-name: tests.test_draining -*-
"""
Draining at shutdown: the connections open now, and waiting for them to end.

On SIGTERM the listeners stop accepting first; then the connections still
open are asked to finish (close once greeted), waited for up to a timeout,
and dropped.  The welcome factory adds each connection it admits here and
discards it when it ends; the shutdown service drives the rest.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.defer import Deferred, succeed


class Drained(Protocol):
    """
    A connection as draining sees it (the welcome protocol).

    @ivar greeted: Whether its whole welcome has been handed to the
        transport.
    """

    greeted: bool

    def finishForShutdown(self) -> None:
        """
        Close now if greeted, else once greeted.
        """

    def abortForShutdown(self) -> None:
        """
        Drop the connection now, greeted or not.
        """


class Draining:
    """
    The open connections of one factory, and who waits for them to close.

    @ivar open: The connections now open.
    """

    def __init__(self) -> None:
        self.open: set[Drained] = set()
        self._allClosed: list[Deferred[None]] = []

    def add(self, connection: Drained) -> None:
        """
        Count a connection just admitted as open.
        """
        self.open.add(connection)

    def discard(self, connection: Drained) -> None:
        """
        Forget a connection that has ended; fire the waiters on the last.
        """
        self.open.discard(connection)
        if self._allClosed and not self.open:
            waiting, self._allClosed = self._allClosed, []
            for d in waiting:
                d.callback(None)

    def whenAllClosed(self) -> Deferred[None]:
        """
        @return: A L{Deferred} that fires once no connection is open.
        """
        if not self.open:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._allClosed.append(d)
        return d

    def finishGreetings(self) -> int:
        """
        Close every greeted connection now and the others once greeted.

        @return: How many connections are still being greeted.
        """
        for connection in list(self.open):
            connection.finishForShutdown()
        return sum(1 for connection in self.open if not connection.greeted)

    def abortAll(self) -> int:
        """
        Drop every connection still open.

        @return: How many there were.
        """
        remaining = list(self.open)
        for connection in remaining:
            connection.abortForShutdown()
        return len(remaining)
