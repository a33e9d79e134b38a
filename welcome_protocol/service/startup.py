# -*- test-case-name: tests.test_startup -*-
"""
The root of the service tree: the listeners, a start-up report, one-line
failures.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, cast

from twisted.application.service import IService, MultiService
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IHostnameResolver
from twisted.logger import Logger

from welcome_protocol.listening.service import ListenFailed, firstFailure
from welcome_protocol.shared.hostinfo import resolveHostAddresses, thisHostName

_ExceptHook = Callable[
    [type[BaseException], BaseException, TracebackType | None], object
]


def exitQuietlyOn(
    kind: type[BaseException], program: str, hook: _ExceptHook | None = None
) -> _ExceptHook:
    """
    Make an uncaught C{kind} end the process with one line and status 1.

    twistd and twist run C{startService} themselves and let its exceptions
    escape as tracebacks (twistd first removes its PID file and tells a
    daemon's parent, which is why we let the exception escape at all).  For
    errors the user can fix, a sentence is all they need.

    @param kind: The exception type to report without a traceback.
    @param program: The name to start the line with, e.g. C{twistd welcome}.
    @param hook: The hook to defer to for every other exception; the
        current C{sys.excepthook} by default.
    @return: The new hook, already installed as C{sys.excepthook}.
    """
    previous = sys.excepthook if hook is None else hook

    def oneLine(
        excType: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, kind):
            # The real stderr: twistd may have redirected sys.stderr to its log.
            stream = sys.__stderr__ or sys.stderr
            stream.write(f"{program}: {value}\n")
            stream.flush()
        else:
            previous(excType, value, tb)

    sys.excepthook = oneLine
    return oneLine


def freezeStartupObjects() -> None:
    """
    Leave everything built so far out of the garbage collector's full
    collections (C{gc.freeze}).

    Modules, classes and the service tree live as long as the process, yet
    every full collection would walk them again; a greeting service
    allocates per connection, so full collections come often, and what they
    cost grows with every library loaded (prometheus_client and twisted.web
    with C{--metrics}).  Objects made later are collected as usual.
    """
    gc.collect()
    gc.freeze()


class Listener(Protocol):
    """
    What the root needs of a listener's service (an L{IService} as well):
    L{ListeningService}, L{PortRangeService
    <welcome_protocol.listening.portrange.PortRangeService>} and the
    datagram listener's service have it.
    """

    def whenListening(self) -> Deferred[str]:
        """
        @return: Fires with the address once listening, or fails with
            L{ListenFailed}.
        """


class WelcomeService(MultiService):
    """
    Run the listeners; report the host like the tutorial's server does.

    If any listener cannot listen, the failure is logged and re-raised for
    twistd to abort the start, and the process exits with one line on
    stderr instead of a traceback.
    """

    _log = Logger()

    def __init__(
        self, resolver: IHostnameResolver | None, program: str = "twistd welcome"
    ) -> None:
        """
        @param resolver: Resolves this host's name for the start-up report;
            L{None} for no report (a worker: its parent reports).
        @param program: Starts the one line a failure to listen is told in.
        """
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
        self._resolver = resolver
        self._program = program
        self._listeners: list[Listener] = []

    def addService(self, service: IService) -> None:
        """
        Add a child service (started in the order added, stopped in the
        reverse order).
        """
        super().addService(service)  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated

    def addListener(self, listener: IService) -> None:
        """
        Add a listener's service, built by L{ListenerBuilder
        <welcome_protocol.listening.builder.ListenerBuilder>}, whose
        listening L{whenListening} waits for.
        """
        self.addService(listener)
        self._listeners.append(cast(Listener, listener))

    def whenListening(self) -> Deferred[list[str]]:
        """
        @return: A L{Deferred} that fires with each listener's addresses
            once all listen, or fails with the first L{ListenFailed}.
        """
        return gatherResults(
            [listener.whenListening() for listener in self._listeners],
            consumeErrors=True,
        ).addErrback(firstFailure)

    def privilegedStartService(self) -> None:
        """
        Listen on every endpoint (before twistd drops privileges).
        """
        try:
            super().privilegedStartService()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
        except ListenFailed as failed:
            self._abort(failed)

    def startService(self) -> None:
        """
        Start the listeners (if not yet listening) and log this host's name
        and addresses once they are resolved.
        """
        try:
            super().startService()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
        except ListenFailed as failed:
            self._abort(failed)
        freezeStartupObjects()
        if self._resolver is None:
            return
        hostname = thisHostName()
        resolveHostAddresses(self._resolver, hostname).addCallback(
            self._reportHost, hostname
        )

    def _reportHost(self, addresses: list[str], hostname: str) -> None:
        self._log.info(
            "This host is {hostname}, address {addresses}",
            hostname=hostname,
            addresses=", ".join(addresses) or "unknown (the name does not resolve)",
        )

    def _abort(self, failed: ListenFailed) -> None:
        # Error, not critical: twist prints critical events to stderr itself,
        # and the line below already says it there.
        self._log.error("{why}", why=str(failed))
        exitQuietlyOn(ListenFailed, self._program)
        raise failed
