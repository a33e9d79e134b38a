# -*- test-case-name: tests.test_startup -*-
"""
The service twistd runs: the listeners, a start-up report, one-line failures.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from types import TracebackType

from twisted.application.service import MultiService
from twisted.internet.interfaces import IHostnameResolver
from twisted.logger import Logger

from welcome_protocol.listening.service import ListenFailed
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


class WelcomeService(MultiService):
    """
    Run the listeners; report the host like the tutorial's server does.

    If any listener cannot listen, the failure is logged and re-raised for
    twistd to abort the start, and the process exits with one line on
    stderr instead of a traceback.
    """

    _log = Logger()

    def __init__(
        self, resolver: IHostnameResolver, program: str = "twistd welcome"
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._resolver = resolver
        self._program = program

    def privilegedStartService(self) -> None:
        """
        Listen on every endpoint (before twistd drops privileges).
        """
        try:
            super().privilegedStartService()  # type: ignore[no-untyped-call]
        except ListenFailed as failed:
            self._abort(failed)

    def startService(self) -> None:
        """
        Start the listeners (if not yet listening) and log this host's name
        and addresses once they are resolved.
        """
        try:
            super().startService()  # type: ignore[no-untyped-call]
        except ListenFailed as failed:
            self._abort(failed)
        freezeStartupObjects()
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
