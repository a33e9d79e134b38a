# -*- test-case-name: tests.test_eagertcp -*-
"""
TCP listening whose connections send at once instead of on the next loop.

Twisted's TCP transport buffers every C{write} and sends it when the reactor
next reports the socket writable, and C{loseConnection} closes it at that
same later moment.  For a service that writes a few bytes in
C{connectionMade} and hangs up, that is one more trip around the reactor
(an C{epoll_wait}, two C{epoll_ctl} changes and a C{doWrite}) per
connection: it is why bare Twisted answers a lone client about 20 µs later
than uvloop, whose transports try to send right away.

L{EagerServer} does what uvloop and asyncio do, inside the transport:

  - C{write} with nothing already buffered calls C{send} at once; whatever
    the kernel does not take is buffered and sent the usual way.
  - C{loseConnection} with nothing buffered (and no producer) closes the
    connection as soon as the code running now has returned, from one
    delayed call that closes every such connection of this iteration,
    instead of registering for writability and waiting for C{doWrite}.

Protocols still see only C{ITransport}; TLS layered on top (it writes its
records through C{write} and closes through C{loseConnection}) works
unchanged.  L{EagerTCP4ServerEndpoint} listens with these transports on
Twisted's POSIX reactors and falls back to C{listenTCP} on any other reactor
(test doubles, IOCP), which then behaves as plain Twisted.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet import main, tcp
from twisted.internet.defer import Deferred, execute
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorTCP,
    IReactorTime,
    IStreamServerEndpoint,
)
from twisted.internet.posixbase import PosixReactorBase
from twisted.python.failure import Failure
from zope.interface import implementer

_CONNECTION_DONE = Failure(main.CONNECTION_DONE)


class EagerServer(tcp.Server):
    """
    A server-side TCP transport that sends and closes without waiting.
    """

    def _idle(self) -> bool:
        """
        @return: Whether nothing is buffered and nothing else writes to us,
            so sending now keeps every byte in order.
        """
        return bool(
            self.connected
            and not self.disconnecting
            and not self._writeDisconnecting
            and not self._writeDisconnected
            and self.producer is None
            and not self._tempDataLen
            and self.offset == len(self.dataBuffer)
        )

    def write(self, data: bytes) -> None:
        """
        Send C{data} now if nothing is waiting to be sent; buffer the rest.

        Errors are left to the normal path: the data is buffered and the
        next C{doWrite} finds the error and closes the connection.
        """
        if type(data) is bytes and data and self._idle():
            sent = self.writeSomeData(data)
            if isinstance(sent, int):
                if sent == len(data):
                    return
                data = data[sent:]
        super().write(data)  # type: ignore[no-untyped-call]

    def writeSequence(self, iovec: Any) -> None:
        """
        Send the pieces of C{iovec} as one write (see L{write}).
        """
        self.write(b"".join(iovec))

    def loseConnection(self, _connDone: Failure = _CONNECTION_DONE) -> None:
        """
        Close once everything written has been sent: if it already has, at
        the end of this reactor iteration rather than at the next one.

        Not right here: the caller (a protocol, or TLS on top) may still be
        working on this connection when this returns.
        """
        if self._idle() and isinstance(self.server, EagerPort):
            self.disconnecting = 1
            self.stopReading()  # type: ignore[no-untyped-call]
            self.server.closeSoon(self)
        else:
            super().loseConnection()  # type: ignore[no-untyped-call]

    def closeNow(self) -> None:
        """
        Finish a close that L{loseConnection} started: close the socket if
        nothing has been written since, else let C{doWrite} send it first.
        """
        if not self.connected:
            return
        if self.offset == len(self.dataBuffer) and not self._tempDataLen:
            self.stopWriting()  # type: ignore[no-untyped-call]
            self.connectionLost(_CONNECTION_DONE)
        else:
            self.startWriting()  # type: ignore[no-untyped-call]


class EagerPort(tcp.Port):
    """
    A TCP listening port whose connections are L{EagerServer}s.

    It closes the connections they hand it all at once, from one delayed
    call per reactor iteration (not one per connection).
    """

    transport = EagerServer
    _closing: list[EagerServer] | None = None

    def closeSoon(self, connection: EagerServer) -> None:
        """
        Close C{connection} once the current reactor callbacks are done.
        """
        if self._closing is None:
            self._closing = []
            cast(IReactorTime, self.reactor).callLater(0, self._closeAll)
        self._closing.append(connection)

    def _closeAll(self) -> None:
        closing, self._closing = self._closing or [], None
        for connection in closing:
            connection.closeNow()


@implementer(IStreamServerEndpoint)
class EagerTCP4ServerEndpoint:
    """
    Listen on an IPv4 TCP port with L{EagerServer} transports.

    Takes the same arguments as C{TCP4ServerEndpoint}.
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
        if not isinstance(self._reactor, PosixReactorBase):
            return execute(
                self._reactor.listenTCP,
                self._port,
                protocolFactory,  # type: ignore[arg-type]
                backlog=self._backlog,
                interface=self._interface,
            )
        return execute(self._listenEagerly, protocolFactory)

    def _listenEagerly(self, protocolFactory: IProtocolFactory) -> IListeningPort:
        port = EagerPort(
            self._port, protocolFactory, self._backlog, self._interface, self._reactor
        )
        port.startListening()
        return port
