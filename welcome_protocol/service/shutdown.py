# -*- test-case-name: tests.test_shutdown -*-
"""
Stop gracefully: let welcomes being written finish, within a time limit.

On SIGTERM twistd stops the services and waits for the L{Deferred}s they
return before the reactor closes every connection.  The listener stops
accepting at once; this service closes connections that are done (idle
C{--keep-open} ones), lets those still being greeted finish for up to
C{--shutdown-timeout} seconds, then drops the rest.
"""

from __future__ import annotations

from typing import Protocol

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger


class Drainable(Protocol):
    """
    The connections a server has open, as shutdown sees them (the factory).
    """

    def finishGreetings(self) -> int:
        """
        Close greeted connections now, the others once greeted.

        @return: How many are still being greeted.
        """

    def whenAllClosed(self) -> Deferred[None]:
        """
        @return: A L{Deferred} that fires once no connection is open.
        """

    def abortAll(self) -> int:
        """
        Drop every connection still open.

        @return: How many there were.
        """


class GracefulShutdown(Service):
    """
    On stop, wait for open greetings up to a timeout, then drop the rest.
    """

    _log = Logger()

    def __init__(
        self, connections: Drainable, clock: IReactorTime, timeout: float
    ) -> None:
        """
        @param connections: The server's open connections.
        @param clock: Times the timeout.
        @param timeout: Seconds to wait for greetings to finish.
        """
        self._connections = connections
        self._clock = clock
        self._timeout = timeout

    def stopService(self) -> Deferred[None]:
        """
        Finish or drop every connection.

        @return: A L{Deferred} that fires once none is open, at most
            C{timeout} seconds (plus the aborts) from now.
        """
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        inFlight = self._connections.finishGreetings()
        closed = self._connections.whenAllClosed()
        if closed.called:
            return closed
        if inFlight:
            self._log.info(
                "Stopping: letting {count} greetings in progress finish "
                "(up to {timeout:g} s)",
                count=inFlight,
                timeout=self._timeout,
            )
        timer = self._clock.callLater(self._timeout, self._abortRest)

        def cancelTimer(result: None) -> None:
            if timer.active():
                timer.cancel()
            return result

        return closed.addBoth(cancelTimer)

    def _abortRest(self) -> None:
        count = self._connections.abortAll()
        if count:
            self._log.warn(
                "Closed {count} connections still open after "
                "--shutdown-timeout {timeout:g} s",
                count=count,
                timeout=self._timeout,
            )
