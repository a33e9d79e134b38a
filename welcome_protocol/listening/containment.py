# -*- test-case-name: tests.test_containment -*-
"""
End a connection whose protocol cannot be built, on a port that is not a
L{DirectPort<welcome_protocol.listening.directtcp.port.DirectPort>}.

Twisted's own port (C{tcp.Port.doRead}, which its UNIX port inherits) logs
an exception from the factory's C{buildProtocol} and drops the accepted
socket without closing it: the client waits on an open connection until
the socket object is garbage collected, or for ever while the logged
failure still refers to it.  The port does close the socket when
C{buildProtocol} returns L{None}, as it does for a refused connection, so
the factory here turns the exception into L{None}: the failure is logged
(one traceback per interval, the rest summed up, as a L{DirectPort} does)
and the client sees the connection end at once.
"""

from __future__ import annotations

from twisted.internet.interfaces import (
    IAddress,
    IProtocol,
    IProtocolFactory,
    IReactorTime,
)
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.shared.addresses import describeAddress
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog


@implementer(IProtocolFactory)
class ContainingFactory:
    """
    Build protocols with another factory; for a connection whose protocol
    raises instead, log the error and return L{None}, so the port closes
    that connection and goes on accepting.
    """

    _log = Logger()

    def __init__(self, factory: IProtocolFactory, clock: IReactorTime) -> None:
        """
        @param factory: Builds the protocols.
        @param clock: Times the log's intervals.
        """
        self._factory = factory
        self._errors = RateLimitedLog(
            self._log,
            clock,
            "{count} more connections in the last {interval:g} s ended with an "
            "error in the service (the listener goes on)",
            10.0,
        )

    def buildProtocol(self, addr: IAddress) -> IProtocol | None:
        """
        @return: The wrapped factory's protocol for C{addr}, or L{None} if
            building it raised (the error is logged).
        """
        try:
            protocol: IProtocol | None = self._factory.buildProtocol(addr)
        except Exception:
            self._errors.emit(
                "Error building the protocol of a connection from {peer}",
                peer=describeAddress(addr),
                log_failure=Failure(),
            )
            return None
        return protocol

    def doStart(self) -> None:
        """
        Start the wrapped factory with the port.
        """
        self._factory.doStart()

    def doStop(self) -> None:
        """
        Sum up the errors held back, and stop the wrapped factory with the
        port.
        """
        self._errors.flush()
        self._factory.doStop()

    def logPrefix(self) -> str:
        """
        @return: The wrapped factory's name, for the port's log lines.
        """
        return self._factory.__class__.__name__
