# -*- test-case-name: tests.test_handshakes -*-
"""
TLS before the welcome: the welcome protocol is connected only once the
handshake has completed, under the admission's deadline and cap.

On C{ssl:} and C{tls:} listeners (and C{haproxy:} over either), the TLS
handshake must complete before the welcome can be sent.  Twisted's TLS layer
has no timer, so a client that never completes it would hold a descriptor for
ever: L{HandshakeFirstWrapper} puts each connection under the admission's
L{HandshakeGuard<welcome_protocol.admission.unfinished.HandshakeGuard>} from
accept, and hands it to the welcome protocol when the handshake completes.
The PROXY header wrapper in L{welcome_protocol.handshaking.proxyheader} uses
the guard the same way (its own counting and logging, of invalid headers and
of sources outside C{--proxy-from}, is L{welcome_protocol.handshaking.proxylog}).
"""

from __future__ import annotations

from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IHandshakeListener,
    IListeningPort,
    ILoggingContext,
    IProtocolFactory,
    IStreamServerEndpoint,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy

from welcome_protocol.admission.unfinished import (
    TLS_HANDSHAKE,
    HandshakeGuard,
)


@implementer(IHandshakeListener)
class HandshakeFirstWrapper(ProtocolWrapper):
    """
    Stand between TLS and the welcome protocol: look after the connection
    from accept, and connect the welcome protocol only once the handshake has
    completed, so that what it writes goes out at once and "Welcomed" means
    the client got it.

    Twisted's C{TLSMemoryBIOProtocol} connects the protocol it wraps (this
    one) when the TCP connection is made and tells it of the handshake through
    L{IHandshakeListener}.  It never calls C{handshakeCompleted} twice, but a
    renegotiation would find the welcome protocol already connected, and
    nothing happens.
    """

    factory: HandshakeFirstWrappingFactory
    phase = TLS_HANDSHAKE
    rawPeer: IAddress
    _handedOver = False
    _guarded = False

    def makeConnection(self, transport: ITransport) -> None:
        """
        Connect the wrapper itself and start the deadline, but do not connect
        the welcome protocol yet.
        """
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        # Twisted's WrappingFactory.registerProtocol is unannotated.
        self.factory.registerProtocol(self)  # type: ignore[no-untyped-call]
        self.rawPeer = peer = transport.getPeer()
        if self.factory.guard.start(self, peer):
            self._guarded = True
        else:
            # Before the handshake this aborts: nothing can be sent yet.
            transport.loseConnection()

    def handshakeCompleted(self) -> None:
        """
        Hand the connection to the welcome protocol, once.
        """
        if self._handedOver or not self._guarded:
            return
        self._handedOver = True
        self.factory.guard.finish(self)
        # The wrapper provides its transport's interfaces (directlyProvides
        # in makeConnection), which a type checker cannot see.
        self.wrappedProtocol.makeConnection(cast(ITransport, self))

    def dataReceived(self, data: bytes) -> None:
        """
        Pass application data on, once the welcome protocol is connected.
        """
        if self._handedOver:
            self.wrappedProtocol.dataReceived(data)

    def abortUnfinished(self) -> None:
        """
        Drop the connection: the deadline passed, or the cap needed room.
        """
        assert self.transport is not None
        self._guarded = False
        # TLS transports can abort; the raw connection goes at once.
        transport = cast(ITCPTransport, self.transport)
        transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Tell the welcome protocol if it was connected; else the guard.
        """
        # Twisted's WrappingFactory.unregisterProtocol is unannotated.
        self.factory.unregisterProtocol(self)  # type: ignore[no-untyped-call]
        if self._handedOver:
            self.wrappedProtocol.connectionLost(reason)
        elif self._guarded:
            self.factory.guard.lost(self)


class HandshakeFirstWrappingFactory(WrappingFactory):
    """
    Wrap each TLS connection's protocol in a L{HandshakeFirstWrapper}.

    @ivar guard: Looks after the connections until their handshake is done.
    """

    protocol = HandshakeFirstWrapper
    # The listener logs where it listens; "Starting factory <...>" adds nothing.
    noisy = False

    def __init__(self, wrappedFactory: IProtocolFactory, guard: HandshakeGuard) -> None:
        # Twisted's WrappingFactory.__init__ is unannotated.
        super().__init__(wrappedFactory)  # type: ignore[no-untyped-call]
        self.guard = guard

    def logPrefix(self) -> str:
        """
        @return: The wrapped factory's prefix: the listener's "starting on"
            line names the service, as without the guard.
        """
        wrapped = self.wrappedFactory
        if ILoggingContext.providedBy(wrapped):
            prefix: str = wrapped.logPrefix()
            return prefix
        return type(wrapped).__name__


@implementer(IStreamServerEndpoint)
class HandshakeFirstEndpoint:
    """
    Listen on a TLS endpoint (C{ssl:} or C{tls:}) with each connection under
    a guard until its handshake completes.
    """

    def __init__(self, wrapped: IStreamServerEndpoint, guard: HandshakeGuard) -> None:
        """
        @param wrapped: The TLS endpoint.
        @param guard: Bounds the handshakes.
        """
        self._wrapped = wrapped
        self._guard = guard

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen on the wrapped endpoint with C{protocolFactory} behind the
        handshake guard.
        """
        return self._wrapped.listen(
            HandshakeFirstWrappingFactory(protocolFactory, self._guard)
        )
