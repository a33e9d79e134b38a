# -*- test-case-name: tests.test_listening -*-
"""
A service that listens on one endpoint and explains, in one line, why not.

Twisted's L{StreamServerEndpointService
<twisted.application.internet.StreamServerEndpointService>} logs a listen
failure as a traceback and keeps running with nothing listening; an operator
wants the opposite: a sentence naming the address and the reason, and a
service that does not start.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable

from twisted.application.service import Service
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    FirstError,
    fail,
    succeed,
)
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from welcome_protocol.shared.addresses import describeAddress


class ListenFailed(Exception):
    """
    The service could not listen; C{str()} of this is the whole explanation.
    """


def explainListenFailure(description: str, reason: BaseException) -> str:
    """
    Turn a listen error into one line an operator can act on.

    @param description: The endpoint as the user wrote it, e.g. C{tcp:12000}.
    @param reason: The exception the endpoint raised.
    @return: C{cannot listen on DESCRIPTION: WHY}, in lower case like
        C{strerror} text, without a traceback.
    """
    cause: BaseException = reason
    if isinstance(reason, CannotListenError) and isinstance(
        reason.socketError, BaseException
    ):
        cause = reason.socketError
    if isinstance(cause, socket.gaierror):
        # getaddrinfo's errors are negative numbers that strerror() lacks.
        why = f"address does not resolve ({(cause.strerror or '').lower()})"
    elif isinstance(cause, OSError) and cause.errno is not None:
        why = os.strerror(cause.errno).lower()
        if cause.errno in (errno.EACCES, errno.EPERM):
            why += " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
    else:
        why = str(cause) or type(cause).__name__
    return f"cannot listen on {description}: {why}"


def firstFailure(failure: Failure) -> Failure:
    """
    @return: The failure of the first listener that failed, out of the
        L{FirstError} of a C{gatherResults} over several.
    """
    error = failure.value
    if isinstance(error, FirstError):
        return error.subFailure
    return failure


class ListeningService(Service):
    """
    Listen on an endpoint with a factory, failing loudly and briefly.

    Listening happens in L{privilegedStartService}, so twistd binds low ports
    before it drops privileges, as Twisted's own endpoint service does.

    @ivar port: The listening port once listening, else L{None}.
    @ivar announce: Whether to log the start-up line (a port of a range
        leaves it to L{welcome_protocol.listening.portrange}).
    """

    _log = Logger()

    def __init__(
        self,
        description: str,
        endpoint: IStreamServerEndpoint,
        factory: IProtocolFactory,
        onStop: Callable[[], object] | None = None,
    ) -> None:
        """
        @param description: The listener as the user wrote it, for messages.
        @param endpoint: Listens.
        @param factory: Makes each connection's protocol.
        @param onStop: Called once the port is told to stop (the accept
            pausing's L{stop
            <welcome_protocol.listening.fdexhaustion.PausingAcceptEndpoint.stop>},
            so that no retry outlives the port).
        """
        self.description = description
        self._onStop = onStop
        self.endpoint = endpoint
        self.factory = factory
        self.port: IListeningPort | None = None
        self.announce = True
        self._pending: Deferred[IListeningPort] | None = None
        self._starting = False
        self._failure: str | None = None
        self._waiting: list[Deferred[str]] = []

    def privilegedStartService(self) -> None:
        """
        Start listening now; raise L{ListenFailed} if that fails at once.

        @raise ListenFailed: When the endpoint refuses synchronously, as TCP,
            UNIX, TLS and systemd endpoints do.  An endpoint that fails later
            is reported in the log instead.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        self._starting = True
        self._failure = None
        listening = self.endpoint.listen(self.factory)
        listening.addCallbacks(self._listening, self._failed)
        self._starting = False
        if self._failure is not None:
            raise ListenFailed(self._failure)
        if self.port is None:
            self._pending = listening

    def startService(self) -> None:
        """
        Listen, unless L{privilegedStartService} already did.
        """
        alreadyListening = self.port is not None or self._pending is not None
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        if not alreadyListening:
            self.privilegedStartService()

    def whenListening(self) -> Deferred[str]:
        """
        @return: A L{Deferred} that fires with the address listened on (as
            L{describeAddress} writes it) once listening, or fails with
            L{ListenFailed} if listening fails.
        """
        if self.port is not None:
            return succeed(describeAddress(self.port.getHost()))
        if self._failure is not None:
            return fail(ListenFailed(self._failure))
        waiting: Deferred[str] = Deferred()
        self._waiting.append(waiting)
        return waiting

    def stopService(self) -> Deferred[None] | None:
        """
        Stop listening; connections already made finish on their own.
        """
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self.port is None:
            return None
        port, self.port = self.port, None
        stopped = port.stopListening()
        if self._onStop is not None:
            self._onStop()
        return stopped if isinstance(stopped, Deferred) else None

    def _listening(self, port: IListeningPort) -> IListeningPort:
        self.port = port
        self._pending = None
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(describeAddress(port.getHost()))
        if self.announce:
            self._log.info(
                "Listening on {address} ({description})",
                address=describeAddress(port.getHost()),
                description=self.description,
            )
        return port

    def _failed(self, reason: Failure) -> None:
        if reason.check(CancelledError):
            return
        why = explainListenFailure(
            self.description, reason.value or Exception(reason.getErrorMessage())
        )
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.errback(ListenFailed(why))
        if self._starting:
            self._failure = why
        else:
            self._log.critical("{why}", why=why)
