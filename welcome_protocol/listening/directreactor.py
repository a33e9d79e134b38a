# -*- test-case-name: tests.test_builder -*-
"""
The reactor the listener builder hands to Twisted's endpoints, so that
every TCP listener, whatever its description, accepts with a L{DirectPort}.

Twisted's endpoints (C{tcp:}, C{tcp6:}, C{ssl:}, C{tls:}, C{systemd:}) all
end in one of three public reactor methods: C{IReactorTCP.listenTCP},
C{IReactorSSL.listenSSL} and C{IReactorSocket.adoptStreamPort}.  This
reactor answers those three with a L{DirectPort} (for C{listenSSL}, behind
Twisted's own L{TLSMemoryBIOFactory}, as Twisted's reactors do it) and
passes everything else to the real reactor.  So C{tcp:} and C{tcp6:}
share one transport, TLS runs on it too, and the endpoints are built from
descriptions by Twisted's own parser, with no private attribute read back.

A UNIX socket (C{listenUNIX}, or a UNIX socket adopted) is Twisted's own
port, with the factory behind a L{ContainingFactory}: Twisted's port would
leave a connection open whose protocol could not be built.

On a reactor that does not poll descriptors (IOCP, or a test double), each
call goes to the real reactor unchanged.
"""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet.interfaces import (
    IListeningPort,
    IOpenSSLContextFactory,
    IProtocolFactory,
    IReactorFDSet,
    IReactorSocket,
    IReactorSSL,
    IReactorTCP,
    IReactorTime,
    IReactorUNIX,
)
from twisted.internet.posixbase import PosixReactorBase
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import directlyProvides, providedBy

from welcome_protocol.listening.containment import ContainingFactory
from welcome_protocol.listening.directtcp.port import DirectPort, adopt


class DirectListeningReactor:
    """
    Stand in for a reactor when endpoints are built: TCP listening, plain,
    TLS or adopted, goes to a L{DirectPort}.

    It provides every interface the real reactor provides, and forwards to
    it every attribute it does not define itself.

    @ivar announce: Whether the ports log their start and close (read by
        endpoints that make their own L{DirectPort}s, such as C{redirect:}).
    """

    def __init__(self, reactor: object, announce: bool = True) -> None:
        """
        @param reactor: The real reactor: any of them, since what it is
            asked for is taken through the interface that provides it
            (L{IReactorTCP}, L{IReactorSSL}, L{IReactorSocket},
            L{IReactorFDSet}).
        @param announce: Whether the ports log their start and close; a
            port range's ports do not, the range logs one line.
        """
        self._reactor = reactor
        self._announce = announce
        self.announce = announce
        self._direct = isinstance(reactor, PosixReactorBase)
        directlyProvides(self, providedBy(reactor))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def listenTCP(
        self,
        port: int,
        factory: IProtocolFactory,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        """
        Listen on a TCP port, IPv4 or IPv6 (C{interface} says which).
        """
        if not self._direct:
            # Twisted's interface asks for a ServerFactory; any
            # IProtocolFactory listens.
            return IReactorTCP(self._reactor).listenTCP(
                port,
                factory,  # type: ignore[arg-type]
                backlog=backlog,
                interface=interface,
            )
        return DirectPort.listen(
            IReactorFDSet(self._reactor),
            factory,
            port,
            backlog=backlog,
            interface=interface,
            announce=self._announce,
        )

    def listenSSL(
        self,
        port: int,
        factory: IProtocolFactory,
        contextFactory: IOpenSSLContextFactory,
        backlog: int = 50,
        interface: str = "",
    ) -> IListeningPort:
        """
        Listen on a TCP port with TLS: Twisted's TLS protocol over a
        L{DirectPort}'s connections, as C{listenSSL} is Twisted's TLS
        protocol over its own TCP port.
        """
        if not self._direct:
            # As for listenTCP: any IProtocolFactory listens.
            return IReactorSSL(self._reactor).listenSSL(
                port,
                factory,  # type: ignore[arg-type]
                contextFactory,
                backlog=backlog,
                interface=interface,
            )
        tlsFactory = TLSMemoryBIOFactory(contextFactory, False, factory)
        return self.listenTCP(port, tlsFactory, backlog=backlog, interface=interface)

    def adoptStreamPort(
        self, fileDescriptor: int, addressFamily: int, factory: IProtocolFactory
    ) -> IListeningPort:
        """
        Accept on an inherited listening socket: a TCP one (systemd's, or a
        worker's from its parent) with a L{DirectPort}, others as Twisted
        does.
        """
        if self._direct and addressFamily in (socket.AF_INET, socket.AF_INET6):
            return adopt(IReactorFDSet(self._reactor), factory, fileDescriptor)
        # As for listenTCP: any IProtocolFactory listens.
        return IReactorSocket(self._reactor).adoptStreamPort(
            fileDescriptor,
            socket.AddressFamily(addressFamily),
            # Twisted asks for a ServerFactory; any IProtocolFactory listens.
            ContainingFactory(factory, IReactorTime(self._reactor)),  # type: ignore[arg-type]
        )

    def listenUNIX(
        self,
        address: str,
        factory: IProtocolFactory,
        backlog: int = 50,
        mode: int = 0o666,
        wantPID: bool = False,
    ) -> IListeningPort:
        """
        Listen on a UNIX socket with Twisted's port, the factory behind a
        L{ContainingFactory}.
        """
        # As for listenTCP: any IProtocolFactory listens.
        return IReactorUNIX(self._reactor).listenUNIX(
            address,
            ContainingFactory(factory, IReactorTime(self._reactor)),  # type: ignore[arg-type]
            backlog=backlog,
            mode=mode,
            wantPID=wantPID,
        )
