# -*- test-case-name: tests.test_directtcp -*-
"""
Pause accepting on a port while the process is out of file descriptors.

When C{accept()} fails with C{EMFILE} (or C{ENFILE}, C{ENOBUFS},
C{ENOMEM}), the waiting client stays in the listen queue and the listening
socket stays readable: a port that simply went on reading would be called
again at once, and spin.  L{AcceptPauser} stops reading the listening socket
for a short delay instead (nginx does the same) and logs one warning per
interval; clients stay queued in the backlog and are greeted once
descriptors free up.

It lives with L{DirectPort<welcome_protocol.listening.directtcp.port.DirectPort>},
which makes one for itself when nobody gave it one;
L{welcome_protocol.listening.fdexhaustion} attaches the same pauser to every
kind of listening port.
"""

from __future__ import annotations

import errno
import os
from typing import Protocol

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
from welcome_protocol.shared.stats import ServerStats

#: C{accept()} errors that mean the process or the system is out of
#: descriptors or memory: the client stays queued until some are free.
OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

#: Seconds to wait before accepting again, by default.
RETRY_DELAY = 0.1


class PausablePort(Protocol):
    """
    What L{AcceptPauser} needs of a port: to stop and start reading its
    listening socket, and to say whether it still listens.
    """

    @property
    def connected(self) -> int:
        """
        Whether the port is listening.
        """

    @property
    def disconnecting(self) -> int:
        """
        Whether the port is stopping.
        """

    def stopReading(self) -> None:
        """
        Stop reading the listening socket.
        """

    def startReading(self) -> None:
        """
        Read the listening socket again.
        """


def shortOfDescriptorsLog(
    clock: IReactorTime, logInterval: float = 10.0
) -> RateLimitedLog:
    """
    @return: The warning every port of a service logs through when it
        pauses (the builder makes one per service, so a range of ports has
        one line per incident, not one per port): a line for the first
        pause, then one summary per C{logInterval} seconds at most.
    """
    return RateLimitedLog(
        AcceptPauser._log,
        clock,
        "Still short of file descriptors: accepting paused {count} more "
        "times in the last {interval:g} s",
        logInterval,
    )


class AcceptPauser:
    """
    Stop and restart accepting on one port as descriptors run out and free up.

    @ivar pauses: How many times accepting paused.
    @ivar paused: Whether it is paused now.
    """

    _log = Logger()

    def __init__(
        self,
        port: PausablePort,
        clock: IReactorTime,
        stats: ServerStats | None = None,
        retryDelay: float = RETRY_DELAY,
        logInterval: float = 10.0,
        warning: RateLimitedLog | None = None,
    ) -> None:
        """
        @param port: The port to pause; whoever sees C{accept()} fail calls
            L{outOfResources}.
        @param clock: Schedules the retries and the log.
        @param stats: Counts the pauses, if given.
        @param retryDelay: Seconds to wait before accepting again.
        @param logInterval: Seconds between two warnings at most (for a
            warning of its own).
        @param warning: The warning shared by every port of the service
            (L{shortOfDescriptorsLog}); L{None} for one of this port's own.
        """
        self._port = port
        self._clock = clock
        self._stats = stats
        self._retryDelay = retryDelay
        self._retry: IDelayedCall | None = None
        self.pauses = 0
        self.paused = False
        self._warning = (
            shortOfDescriptorsLog(clock, logInterval) if warning is None else warning
        )

    def outOfResources(self, code: int) -> None:
        """
        Stop reading the listening socket and try again after a delay.

        @param code: The C{errno} of the failed C{accept()}.
        """
        self.pauses += 1
        if self._stats is not None:
            self._stats.acceptPauses += 1
        self.paused = True
        self._port.stopReading()
        self._warning.emit(
            "Cannot accept connections: {name} ({why}); clients wait in the "
            "listen queue, retrying every {delay:g} s",
            name=errno.errorcode.get(code, str(code)),
            why=os.strerror(code).lower(),
            delay=self._retryDelay,
        )
        if self._retry is None:
            self._retry = self._clock.callLater(self._retryDelay, self._resume)

    def _resume(self) -> None:
        self._retry = None
        self.paused = False
        if self._port.connected and not self._port.disconnecting:
            self._port.startReading()

    def stop(self) -> None:
        """
        Cancel a pending retry and flush the warning; the port is closing.
        """
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self._warning.flush()
