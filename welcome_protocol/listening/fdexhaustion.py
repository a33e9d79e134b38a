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
(nginx does the same) and logs one warning per interval: one warning for
the whole service, however many ports run short (C{shortOfDescriptorsLog}
of L{welcome_protocol.listening.directtcp.pausing}, made once by the
builder), since they all run short of the same process's descriptors.
Clients stay queued in the backlog and are greeted once descriptors free
up.  A L{DirectPort} (every TCP listener) reports the
error through its public C{outOfResources} hook.  Twisted's own port (UNIX
sockets) has no such hook: its listening socket is wrapped so that the
error also reads as "no more clients for now", the one place we replace an
attribute of a Twisted object (C{tcp.Port.socket}, public but not meant to
be replaced); see docs/architecture.md.
"""

from __future__ import annotations

import errno
import os
import socket
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
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
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
        warning: RateLimitedLog | None = None,
    ) -> None:
        """
        Watch C{port}'s C{accept()} for running out of resources.

        @param port: A listening port: Twisted's, whose socket is wrapped,
            or a L{DirectPort}, which reports such errors itself.
        @param clock: Schedules the retries and the log.
        @param stats: Counts the pauses, if given.
        @param retryDelay: Seconds to wait before accepting again.
        @param logInterval: Seconds between two warnings at most (for a
            warning of its own).
        @param warning: The warning shared by every port of the service
            (C{shortOfDescriptorsLog}); L{None} for one of this port's own.
        """
        super().__init__(port, clock, stats, retryDelay, logInterval, warning)
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
    unchanged.  Whoever stops the port calls L{stop} as well (the builder
    hands it to the listener's service), so that no retry outlives it.
    """

    def __init__(
        self,
        endpoint: IStreamServerEndpoint,
        clock: IReactorTime,
        stats: ServerStats | None = None,
        retryDelay: float = RETRY_DELAY,
        warning: RateLimitedLog | None = None,
    ) -> None:
        """
        @param endpoint: The endpoint to listen with.
        @param clock: Schedules the retries and the log.
        @param stats: Counts the pauses, if given.
        @param retryDelay: Seconds to wait before accepting again.
        @param warning: The warning shared by every port of the service;
            L{None} for one of the port's own.
        """
        self._endpoint = endpoint
        self._clock = clock
        self._stats = stats
        self._retryDelay = retryDelay
        self._warning = warning
        self.pauser: AcceptPauser | None = None

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen, and guard the port's C{accept}.
        """
        return self._endpoint.listen(protocolFactory).addCallback(self._guard)

    def _guard(self, port: IListeningPort) -> IListeningPort:
        if isinstance(port, tcp.Port | DirectPort):
            self.pauser = AcceptPauser(
                port,
                self._clock,
                self._stats,
                self._retryDelay,
                warning=self._warning,
            )
        return port

    def pauses(self) -> int:
        """
        @return: How many times the port paused accepting.
        """
        return 0 if self.pauser is None else self.pauser.pauses

    def stop(self) -> None:
        """
        Cancel a pending retry and flush the warning: the port is stopping.
        """
        if self.pauser is not None:
            self.pauser.stop()
