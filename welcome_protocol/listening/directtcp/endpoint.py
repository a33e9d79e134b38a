# -*- test-case-name: tests.test_directtcp -*-
"""
The endpoint that listens with a L{DirectPort}, or as Twisted does.

The service's listeners come from descriptions, through
L{welcome_protocol.listening.builder}; this endpoint is for code that names
a port directly.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, execute
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorFDSet,
    IReactorTCP,
    IStreamServerEndpoint,
)
from twisted.internet.posixbase import PosixReactorBase
from zope.interface import implementer

from welcome_protocol.listening.directtcp.port import DirectPort


@implementer(IStreamServerEndpoint)
class DirectTCP4ServerEndpoint:
    """
    Listen on an IPv4 TCP port with a L{DirectPort}.

    Takes the same arguments as C{TCP4ServerEndpoint}.  The port needs a
    reactor that polls descriptors (C{IReactorFDSet} with a real poller:
    Twisted's POSIX reactors, C{asyncioreactor} included); on any other
    (IOCP, or a test double) it listens with C{listenTCP}, plain Twisted.
    """

    def __init__(
        self,
        reactor: IReactorTCP,
        port: int,
        backlog: int = 50,
        interface: str = "",
    ) -> None:
        self._reactor = reactor
        self._port = port
        self._backlog = backlog
        self._interface = interface

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen with C{protocolFactory}; see C{IStreamServerEndpoint.listen}.
        """
        reactor = self._reactor
        poller = IReactorFDSet(reactor, None)
        if poller is None or not isinstance(reactor, PosixReactorBase):
            # Twisted annotates listenTCP's factory as a ServerFactory,
            # though any IProtocolFactory will do (TCP4ServerEndpoint passes
            # one the same way).
            return execute(
                reactor.listenTCP,
                self._port,
                protocolFactory,  # type: ignore[arg-type]
                backlog=self._backlog,
                interface=self._interface,
            )
        return execute(
            DirectPort.listen,
            poller,
            protocolFactory,
            self._port,
            self._backlog,
            self._interface,
        )
