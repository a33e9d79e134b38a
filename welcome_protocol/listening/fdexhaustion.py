# -*- test-case-name: tests.test_fdexhaustion -*-
"""
Pause accepting while the process is out of file descriptors.

When C{accept()} fails with C{EMFILE} (or C{ENFILE}, C{ENOBUFS},
C{ENOMEM}), the waiting client stays in the listen queue and the listening
socket stays readable.  Twisted's L{tcp.Port <twisted.internet.tcp.Port>}
copes in two ways, neither right for a service that runs for months:

 - For C{EMFILE} it closes a reserved descriptor, then accepts and closes
   every waiting client (who gets no welcome), logging a line for each: a
   flood of log lines exactly when the service is under pressure.
 - For the others (and for C{EMFILE} once the reserve is gone) it logs and
   returns; the socket is still readable, so the reactor calls it again at
   once: 100% CPU and a log line per loop until descriptors free up.

Here such an error stops reading the listening socket for a short delay
(nginx does the same) and logs one warning per interval.  Clients stay
queued in the backlog and are greeted once descriptors free up.  On a
Twisted port the listening socket is wrapped so that the error also reads
as "no more clients for now"; a L{DirectPort} reports it to us itself.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from typing import Any

from twisted.internet import tcp
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorTime,
    IStreamServerEndpoint,
)
from zope.interface import implementer

from welcome_protocol.listening.directtcp import DirectPort
from welcome_protocol.listening.directtcp.pausing import (
    OUT_OF_RESOURCES,
    RETRY_DELAY,
)
from welcome_protocol.listening.directtcp.pausing import AcceptPauser as PortPauser
from welcome_protocol.shared.stats import ServerStats


class _PausingListeningSocket:
    """
    A listening socket whose C{accept} pauses its port when out of resources.

    Everything else is the real socket's.
    """

    def __init__(self, listening: socket.socket, pauser: AcceptPauser) -> None:
        self._socket = listening
        self._pauser = pauser

    def accept(self) -> tuple[socket.socket, Any]:
        """
        Accept a client; on running out of descriptors, pause the port and
        tell the caller there is nobody to accept (C{EAGAIN}).
        """
        try:
            return self._socket.accept()
        except OSError as e:
            if e.errno not in OUT_OF_RESOURCES:
                raise
            self._pauser.outOfResources(e.errno)
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN)) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)


class AcceptPauser(PortPauser):
    """
    The pauser of L{welcome_protocol.listening.directtcp.pausing}, attached
    to the port it pauses.
    """

    def __init__(
        self,
        port: tcp.Port | DirectPort,
        clock: IReactorTime,
        stats: ServerStats | None = None,
        retryDelay: float = RETRY_DELAY,
        logInterval: float = 10.0,
    ) -> None:
        """
        Watch C{port}'s C{accept()} for running out of resources.

        @param port: A listening port: Twisted's, whose socket is wrapped,
            or a L{DirectPort}, which reports such errors itself.
        @param clock: Schedules the retries and the log.
        @param stats: Counts the pauses, if given.
        @param retryDelay: Seconds to wait before accepting again.
        @param logInterval: Seconds between two warnings at most.
        """
        super().__init__(port, clock, stats, retryDelay, logInterval)
        if isinstance(port, DirectPort):
            port.outOfResources = self.outOfResources
        else:
            port.socket = _PausingListeningSocket(port.socket, self)


@implementer(IStreamServerEndpoint)
class PausingAcceptEndpoint:
    """
    Listen with another endpoint, and make its port pause accepting rather
    than spin or drop clients when file descriptors run out.

    Ports that are not Twisted's socket ports (a
    L{twisted.internet.testing.MemoryReactor}'s in tests, say) are returned
    unchanged.
    """

    def __init__(
        self,
        endpoint: IStreamServerEndpoint,
        clock: IReactorTime,
        stats: ServerStats | None = None,
        retryDelay: float = RETRY_DELAY,
    ) -> None:
        """
        @param endpoint: The endpoint to listen with.
        @param clock: Schedules the retries and the log.
        @param stats: Counts the pauses, if given.
        @param retryDelay: Seconds to wait before accepting again.
        """
        self._endpoint = endpoint
        self._clock = clock
        self._stats = stats
        self._retryDelay = retryDelay
        self.pauser: AcceptPauser | None = None

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen, and guard the port's C{accept}.
        """
        return self._endpoint.listen(protocolFactory).addCallback(self._guard)

    def _guard(self, port: IListeningPort) -> IListeningPort:
        if isinstance(port, tcp.Port | DirectPort):
            self.pauser = AcceptPauser(port, self._clock, self._stats, self._retryDelay)
            pauser = self.pauser
            stopListening: Callable[[], Any] = port.stopListening

            def stopAndForget() -> Any:
                pauser.stop()
                return stopListening()

            # The port is Twisted's; wrapping its method keeps the retry
            # timer from outliving it without subclassing every kind of port.
            setattr(port, "stopListening", stopAndForget)  # noqa: B010
        return port
