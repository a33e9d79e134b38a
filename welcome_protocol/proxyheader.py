# -*- test-case-name: tests.test_proxyheader -*-
"""
PROXY protocol (HAProxy) listening that greets only once the header is read.

Twisted's C{haproxy:} endpoint connects the wrapped protocol as soon as the
TCP connection is made, before the PROXY header has arrived, so a protocol
that speaks first (as the welcome does) sees the proxy's address in
C{getPeer()}, not the client's (Twisted issue 12501).  The wrapper here reuses
Twisted's header parsing but connects the wrapped protocol only once the
header is parsed, so C{connectionMade} already sees the real client.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
    ITransport,
)
from twisted.internet.protocol import Protocol
from twisted.protocols.haproxy._wrapper import (
    HAProxyProtocolWrapper,
    HAProxyWrappingFactory,
)
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy


class _HeldBytes(Protocol):
    """
    Stand in for the wrapped protocol while the header is parsed, keeping
    whatever the client sent after it.
    """

    def __init__(self) -> None:
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data} for the wrapped protocol.
        """
        self.data += data


class HeaderFirstWrapper(HAProxyProtocolWrapper):
    """
    Connect the wrapped protocol only after the PROXY header is parsed.

    A connection that closes, or sends a bad header, before that is never
    seen by the wrapped protocol at all.
    """

    _wrappedConnected = False

    def makeConnection(self, transport: ITransport) -> None:
        """
        Connect the wrapper itself, but not yet the wrapped protocol.
        """
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        self.factory.registerProtocol(self)

    def dataReceived(self, data: bytes) -> None:
        """
        Parse the header; once complete, connect the wrapped protocol.
        """
        if self._wrappedConnected:
            self.wrappedProtocol.dataReceived(data)
            return
        held = _HeldBytes()
        wrapped, self.wrappedProtocol = self.wrappedProtocol, held
        try:
            super().dataReceived(data)
        finally:
            self.wrappedProtocol = wrapped
        if self._proxyInfo is None:
            return
        self._wrappedConnected = True
        wrapped.makeConnection(self)  # type: ignore[arg-type]
        if held.data:
            wrapped.dataReceived(held.data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        """
        Tell the wrapped protocol, if it was ever connected.
        """
        self.factory.unregisterProtocol(self)
        if self._wrappedConnected:
            self.wrappedProtocol.connectionLost(reason)


class HeaderFirstWrappingFactory(HAProxyWrappingFactory):
    """
    Wrap each connection in a L{HeaderFirstWrapper}.
    """

    protocol = HeaderFirstWrapper  # type: ignore[assignment]


@implementer(IStreamServerEndpoint)
class HeaderFirstEndpoint:
    """
    Listen on another endpoint, expecting a PROXY header on every connection.
    """

    def __init__(self, wrapped: IStreamServerEndpoint) -> None:
        self._wrapped = wrapped

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen on the wrapped endpoint with C{protocolFactory} behind the
        header parser.
        """
        wrapping = HeaderFirstWrappingFactory(protocolFactory)  # type: ignore[no-untyped-call]
        return self._wrapped.listen(wrapping)
