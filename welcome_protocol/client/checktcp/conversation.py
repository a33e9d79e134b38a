# -*- test-case-name: tests.test_client_checktcp_conversation -*-
"""
C{check_tcp -s} and C{-q}: send a string once connected, and another before
closing.

The probe's protocol only listens; this endpoint wraps the connection in a
L{ProtocolWrapper} (Twisted's layer for this: it is the transport the probe
sees) that writes the strings around it, so the probe does not change.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IHandshakeListener,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    ITransport,
)
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import implementer

_lost = Failure(ConnectionDone())
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}


def unescape(text: str) -> str:
    """
    C{check_tcp -E}: C{\\n}, C{\\r}, C{\\t} and C{\\\\} become the
    characters; a backslash before anything else is dropped (as
    C{np_escaped_string} does).
    """
    out = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            out.append(ESCAPES.get(following, following))
        else:
            out.append(char)
    return "".join(out)


@implementer(IHandshakeListener)
class _Conversation(ProtocolWrapper):
    """
    Write the send string on connection and the quit string before closing.
    """

    factory: _ConversationFactory

    def makeConnection(self, transport: ITransport) -> None:
        """
        Connect the probe, then send the string.
        """
        # Twisted's ProtocolWrapper and WrappingFactory are unannotated.
        super().makeConnection(transport)  # type: ignore[no-untyped-call]
        if self.factory.send and self.transport is not None:
            self.transport.write(self.factory.send)

    def handshakeCompleted(self) -> None:
        """
        Pass the TLS handshake on: the probe notes the certificate.
        """
        if IHandshakeListener.providedBy(self.wrappedProtocol):
            self.wrappedProtocol.handshakeCompleted()

    def loseConnection(self) -> None:
        """
        Say goodbye with the quit string, then close.
        """
        if self.factory.quit and self.transport is not None:
            self.transport.write(self.factory.quit)
        # Twisted's ProtocolWrapper and WrappingFactory are unannotated.
        super().loseConnection()  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure = _lost) -> None:
        """
        The connection is closed: the quit string, if any, went out.
        """
        # Twisted's ProtocolWrapper and WrappingFactory are unannotated.
        super().connectionLost(reason)  # type: ignore[no-untyped-call]
        closed, self.factory.closed = self.factory.closed, None
        if closed is not None:
            closed.callback(None)


class _ConversationFactory(WrappingFactory):
    protocol = _Conversation

    def __init__(self, wrapped: IProtocolFactory, send: bytes, quit: bytes) -> None:
        # Twisted's ProtocolWrapper and WrappingFactory are unannotated.
        super().__init__(wrapped)  # type: ignore[no-untyped-call]
        self.send = send
        self.quit = quit
        self.closed: Deferred[None] | None = Deferred()


@implementer(IStreamClientEndpoint)
class ConversationEndpoint:
    """
    Connect with another endpoint, sending C{send} at once and C{quit}
    before the client closes the connection.
    """

    def __init__(self, endpoint: IStreamClientEndpoint, send: bytes, quit: bytes):
        self._endpoint = endpoint
        self._send = send
        self._quit = quit
        self._closed: list[Deferred[None]] = []

    def whenClosed(self) -> Deferred[None]:
        """
        @return: Fires once every connection made is closed, so the quit
            string is written before the process exits.
        """
        pending = [d for d in self._closed if not d.called]
        return gatherResults(pending).addCallback(lambda _: None)

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect; fire with the wrapped protocol, as the plain endpoint would.
        """
        factory = _ConversationFactory(protocolFactory, self._send, self._quit)
        connecting = self._endpoint.connect(factory)

        def connected(wrapper: IProtocol) -> IProtocol:
            assert isinstance(wrapper, _Conversation) and factory.closed is not None
            self._closed.append(factory.closed)
            inner: IProtocol = wrapper.wrappedProtocol
            return inner

        return connecting.addCallback(connected)
