# -*- test-case-name: tests.test_directtcp -*-
"""
A server-side TCP transport that sends at once and costs little to hold.

It implements C{ITCPTransport} (with C{IConsumer} and C{IPushProducer}) for
the protocol, and C{IReadDescriptor}/C{IWriteDescriptor} for the reactor,
which it uses only through C{IReactorFDSet}: C{addReader}, C{removeReader},
C{addWriter}, C{removeWriter}.  See L{welcome_protocol.listening.directtcp} for why.

A connection greeted and closed at once costs three system calls:
C{accept4()} (in the port), one write and C{close()}.  The port hands over
the bare descriptor, still blocking as C{accept4()} made it, and the
transport makes no Python socket object for it unless the connection
stays open: making one costs a C{getsockname()} (CPython checks every
descriptor it wraps) and making it non-blocking an C{ioctl(FIONBIO)}.  The
first write goes out with C{pwritev2(..., RWF_NOWAIT)} (C{os.pwritev}), which
on a socket is a C{send()} with C{MSG_DONTWAIT}: it never blocks, whatever
the descriptor's own mode.  Where that is not available (not Linux, or a
kernel before 4.14) the socket object is made and used as before.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from collections import deque
from collections.abc import Iterable
from socket import socket as Socket
from typing import cast

from twisted.internet import main
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionAborted, ConnectionLost
from twisted.internet.interfaces import (
    IConsumer,
    IHalfCloseableProtocol,
    IProducer,
    IProtocol,
    IPullProducer,
    IPushProducer,
    IReactorFDSet,
    IReactorTime,
    IReadDescriptor,
    ISystemHandle,
    ITCPTransport,
    IWriteDescriptor,
)
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

_WOULD_BLOCK = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})

#: Bytes buffered past which a streaming producer is asked to pause, as
#: Twisted's own transports do.
BUFFER_SIZE = 65536

#: The most bytes read from the socket per C{doRead}.
READ_SIZE = 65536

#: C{pwritev2()} flag that makes one write non-blocking (Linux 4.14 and
#: later); zero where the platform has none.
_NO_WAIT: int = getattr(os, "RWF_NOWAIT", 0)

#: Errors of C{pwritev2()} that mean the kernel cannot write a socket that
#: way: the transports fall back to the socket object from then on.
_NO_WAIT_UNSUPPORTED = frozenset({errno.EOPNOTSUPP, errno.EINVAL, errno.ESPIPE})


@implementer(
    ITCPTransport,
    IConsumer,
    IPushProducer,
    IReadDescriptor,
    IWriteDescriptor,
    ISystemHandle,
)
class DirectTransport:
    """
    One accepted TCP connection.

    Writing: with nothing buffered (and no producer), C{write} calls
    C{send()} at once and buffers only what the kernel did not take; the
    buffer is then sent the usual way, when the reactor reports the socket
    writable.  Closing: C{loseConnection} with nothing buffered closes as
    soon as the code that called it returns to us (the port's accept loop,
    or our C{doRead}), or on the next reactor turn when called from
    elsewhere; never from inside the protocol's own call.

    Registration with the reactor happens only when needed: a connection
    closed in C{connectionMade} is never added to the poller at all.

    @ivar protocol: The protocol on top.
    @ivar connected: Whether the connection is open.
    @ivar disconnecting: Whether a close was asked for.
    @ivar disconnected: Whether the connection has ended.
    """

    __slots__ = (
        "_buffered",
        "_chunks",
        "_closeSoon",
        "_closeWith",
        "_dispatching",
        "_family",
        "_fileno",
        "_host",
        "_nonBlocking",
        "_offset",
        "_peer",
        "_producer",
        "_producerPaused",
        "_reactor",
        "_reading",
        "_shutWhenSent",
        "_socket",
        "_streaming",
        "_wantRead",
        "_writeShut",
        "_writing",
        "connected",
        "disconnected",
        "disconnecting",
        "protocol",
    )

    #: Whether a first write may go out through the bare descriptor with
    #: C{RWF_NOWAIT}; cleared, for every transport, the first time the
    #: kernel refuses it.
    sendsWithoutSocket = bool(_NO_WAIT)

    _log = Logger()

    redirected = False
    """
    Whether C{getHost()} is an address a kernel rule redirected from (a
    C{redirect:} or C{tproxy:} listener), which the access log then shows.
    """

    def __init__(
        self,
        skt: Socket | int,
        protocol: IProtocol,
        peer: IPv4Address | IPv6Address,
        reactor: IReactorFDSet,
    ) -> None:
        """
        @param skt: The accepted socket, already non-blocking; or its bare
            descriptor, blocking or not, which the transport then owns.
        @param protocol: The protocol to connect to it.
        @param peer: The client's address (an C{IPv6Address} for an IPv6
            socket).
        @param reactor: Polls the socket; also an C{IReactorTime}.
        """
        if isinstance(skt, int):
            self._socket: Socket | None = None
            self._fileno = skt
            self._nonBlocking = False
        else:
            self._socket = skt
            self._fileno = skt.fileno()
            self._nonBlocking = True
        self._family = (
            socket.AF_INET6 if isinstance(peer, IPv6Address) else socket.AF_INET
        )
        self.protocol = protocol
        self.connected = True
        self.disconnecting = False
        self.disconnected = False
        self._reactor = reactor
        self._peer = peer
        self._host: IPv4Address | IPv6Address | None = None
        self._chunks: deque[bytes] | None = None
        self._offset = 0
        self._buffered = 0
        self._producer: _Producer | None = None
        self._streaming = False
        self._producerPaused = False
        self._reading = False
        self._writing = False
        # Protocols expect to read from the start, as on Twisted's
        # transports; the registration itself waits for settle().
        self._wantRead = True
        self._dispatching = False
        self._closeWith: Failure | None = None
        self._closeSoon = False
        self._writeShut = False
        self._shutWhenSent = False

    @property
    def socket(self) -> Socket:
        """
        The connected, non-blocking socket, made from the descriptor the
        first time something asks for it.
        """
        return self._open()

    # The protocol calls these (ITransport, ITCPTransport, IConsumer).

    def write(self, data: bytes) -> None:
        """
        Send C{data} now if nothing is waiting before it; buffer the rest.

        A send error leaves the data buffered: the next C{doWrite} meets the
        error again and reports the connection lost, the usual way.
        """
        if not data or self.disconnected or self._writeShut:
            return
        if self._chunks is None and self._producer is None:
            sent = self._sendNow(data)
            if sent == len(data):
                return
            data = data[sent:]
        self._buffer(data)

    def writeSequence(self, data: Iterable[bytes]) -> None:
        """
        Write the pieces of C{data} as one write.
        """
        self.write(b"".join(data))

    def loseConnection(self) -> None:
        """
        Close once everything written has been sent (and any producer has
        unregistered); stop reading.  What is written after this is still
        sent before the close, as on Twisted's transports.
        """
        if self.disconnecting or self.disconnected:
            return
        self.disconnecting = True
        self._stopWantingToRead()
        if self._chunks is None and self._producer is None:
            self._closeLater(main.CONNECTION_DONE)

    def abortConnection(self) -> None:
        """
        Close without sending what is buffered, soon (never from inside
        the caller's own call).
        """
        if self.disconnected:
            return
        self.disconnecting = True
        self._chunks = None
        self._buffered = 0
        self._stopWantingToRead()
        self._stopWriting()
        self._closeLater(ConnectionAborted())

    def loseWriteConnection(self) -> None:
        """
        End the stream once everything written has been sent; keep reading.
        """
        if self.disconnected or self._writeShut:
            return
        if self._chunks is None:
            self._shutdownWrite()
        else:
            self._shutWhenSent = True

    def registerProducer(self, producer: IProducer, streaming: bool) -> None:
        """
        Take data from C{producer}: a pull producer is asked for more each
        time the buffer has been sent, a push producer is paused while the
        buffer holds more than L{BUFFER_SIZE} bytes.
        """
        if self._producer is not None:
            raise RuntimeError(
                f"Cannot register producer {producer!r}, because producer "
                f"{self._producer!r} was never unregistered."
            )
        if self.disconnected:
            producer.stopProducing()
            return
        # IConsumer's contract, which Twisted's signature does not spell out.
        registered = cast(_Producer, producer)
        self._producer = registered
        self._streaming = streaming
        if not streaming:
            registered.resumeProducing()

    def unregisterProducer(self) -> None:
        """
        Stop taking data from the producer; a close asked for meanwhile
        goes ahead once the buffer has been sent.
        """
        self._producer = None
        if self.connected and self.disconnecting and self._chunks is None:
            self._closeLater(main.CONNECTION_DONE)

    def pauseProducing(self) -> None:
        """
        Stop reading from the client (the protocol cannot keep up).
        """
        self._wantRead = False
        self._stopReading()

    def resumeProducing(self) -> None:
        """
        Read from the client again.
        """
        if self.disconnecting or self.disconnected:
            return
        self._wantRead = True
        if not self._dispatching:
            self._startReading()

    def stopProducing(self) -> None:
        """
        Close: the consumer of what we read wants no more.
        """
        self.loseConnection()

    def getPeer(self) -> IPv4Address | IPv6Address:
        """
        @return: The client's address.
        """
        return self._peer

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        @return: The address the client connected to.
        """
        if self._host is None:
            host, port = self._handle().getsockname()[:2]
            self._host = type(self._peer)("TCP", host, port)
        return self._host

    def getHandle(self) -> Socket:
        """
        @return: The socket.
        """
        return self.socket

    def getTcpNoDelay(self) -> bool:
        """
        @return: Whether Nagle's algorithm is off.
        """
        return bool(self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    def setTcpNoDelay(self, enabled: bool) -> None:
        """
        Turn Nagle's algorithm off (C{True}) or on.
        """
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, enabled)

    def getTcpKeepAlive(self) -> bool:
        """
        @return: Whether TCP keepalive probes are sent.
        """
        return bool(self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))

    def setTcpKeepAlive(self, enabled: bool) -> None:
        """
        Send TCP keepalive probes (C{True}) or not.
        """
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, enabled)

    def logPrefix(self) -> str:
        """
        @return: The protocol's class name, for the reactor's log context.
        """
        return self.protocol.__class__.__name__

    # The port and the reactor call these.

    def connectProtocol(self) -> None:
        """
        Connect the protocol (C{makeConnection}); a close it asks for from
        there waits until L{settle} is called, when the port's own work for
        the connection is done.  An exception from the protocol is raised.
        """
        self._dispatching = True
        self.protocol.makeConnection(self)

    def settle(self) -> None:
        """
        The code that was running for this connection has returned: close
        if a close was asked for, else register for what it waits for.
        """
        self._dispatching = False
        if self.disconnected:
            return
        if self._closeWith is not None:
            self._closeSoon = False
            self.connectionLost(self._closeWith)
            return
        if self._wantRead and not self._reading and not self.disconnecting:
            self._startReading()

    def fileno(self) -> int:
        """
        @return: The socket's descriptor, or -1 once closed.
        """
        return self._fileno

    def doRead(self) -> None:
        """
        Read what the client sent and hand it to the protocol; on the end
        of the stream or an error, end the connection.
        """
        if self.disconnected:
            return None
        try:
            data = self.socket.recv(READ_SIZE)
        except OSError as e:
            if e.errno in _WOULD_BLOCK:
                return None
            self.connectionLost(Failure(ConnectionLost(str(e))))
            return None
        if not data:
            halfCloseable = IHalfCloseableProtocol(self.protocol, None)
            if halfCloseable is None:
                self.connectionLost(_DONE)
                return None
            self._wantRead = False
            self._stopReading()
            self._dispatching = True
            halfCloseable.readConnectionLost()
            return self._afterDispatch()
        self._dispatching = True
        self.protocol.dataReceived(data)
        return self._afterDispatch()

    def doWrite(self) -> None:
        """
        Send what is buffered; once all of it is sent, ask the producer for
        more, or finish a close or a half-close asked for meanwhile.  On an
        error (the client reset the connection, say), end the connection.
        """
        if self.disconnected:
            return None
        chunks = self._chunks
        while chunks:
            chunk = chunks[0]
            try:
                sent = self.socket.send(memoryview(chunk)[self._offset :])
            except OSError as e:
                if e.errno in _WOULD_BLOCK:
                    return None
                self.connectionLost(Failure(ConnectionLost(str(e))))
                return None
            self._offset += sent
            self._buffered -= sent
            if self._offset < len(chunk):
                self._unpauseIfRoom()
                return None
            chunks.popleft()
            self._offset = 0
        self._chunks = None
        self._buffered = 0
        self._stopWriting()
        producer = self._producer
        if producer is not None and (not self._streaming or self._producerPaused):
            self._producerPaused = False
            self._dispatching = True
            producer.resumeProducing()
            return self._afterDispatch()
        if self.disconnecting and producer is None:
            self.connectionLost(_DONE)
            return None
        if self._shutWhenSent:
            self._shutdownWrite()
        return None

    def connectionLost(self, reason: Failure) -> None:
        """
        The connection has ended, for C{reason}: unregister, close the
        socket, stop the producer and tell the protocol.  Only the first
        call counts.
        """
        if self.disconnected:
            return
        self.disconnected = True
        self.connected = False
        self.disconnecting = True
        self._stopReading()
        self._stopWriting()
        self._chunks = None
        fileno, self._fileno = self._fileno, -1
        if self._socket is None:
            os.close(fileno)
        else:
            self._socket.close()
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.stopProducing()
        self.protocol.connectionLost(reason)

    # Inside.

    def _handle(self) -> Socket:
        """
        Make the socket object unless it is made already; it may still be
        blocking (asking the local address does not need more).

        Once the connection has ended without one, the object made is a
        closed socket, whose every call fails as a closed socket's does.
        """
        skt = self._socket
        if skt is None:
            if self._fileno == -1:
                skt = Socket(self._family, socket.SOCK_STREAM)
                skt.close()
            else:
                skt = Socket(self._family, socket.SOCK_STREAM, 0, self._fileno)
            self._socket = skt
        return skt

    def _open(self) -> Socket:
        """
        Make the socket object, non-blocking, unless it is made already:
        before the reactor polls the connection, and for whoever asks for
        the socket itself.
        """
        skt = self._handle()
        if not self._nonBlocking:
            self._nonBlocking = True
            if self._fileno != -1:
                skt.setblocking(False)
        return skt

    def _sendNow(self, data: bytes) -> int:
        """
        Send what the kernel takes of C{data} without waiting.

        @return: How many bytes it took; 0 on an error, which the next
            C{doWrite} meets again and reports.
        """
        if not self._nonBlocking and DirectTransport.sendsWithoutSocket:
            try:
                return os.pwritev(self._fileno, (data,), -1, _NO_WAIT)
            except OSError as e:
                if e.errno not in _NO_WAIT_UNSUPPORTED:
                    return 0
                DirectTransport.sendsWithoutSocket = False
        try:
            return self.socket.send(data)
        except OSError:
            return 0

    def _afterDispatch(self) -> None:
        """
        The protocol has returned from our call: report a close it asked
        for to the reactor, else register for what it waits for.
        """
        self._dispatching = False
        closeWith = self._closeWith
        if closeWith is not None:
            self._closeSoon = False
            self.connectionLost(closeWith)
            return None
        if self._wantRead and not self._reading and not self.disconnecting:
            self._startReading()
        return None

    def _closeLater(self, why: Exception) -> None:
        """
        Close for C{why} once the caller has returned: right after the
        protocol's call that we are in, or else on the next reactor turn.
        """
        if self._closeWith is None or isinstance(why, ConnectionAborted):
            self._closeWith = _DONE if why is main.CONNECTION_DONE else Failure(why)
        if self._dispatching or self._closeSoon:
            return
        self._closeSoon = True
        IReactorTime(self._reactor).callLater(0, self._closeNow)

    def _closeNow(self) -> None:
        self._closeSoon = False
        if not self._dispatching and self._closeWith is not None:
            self.connectionLost(self._closeWith)

    def _buffer(self, data: bytes) -> None:
        if self._closeWith is _DONE:
            # Written after loseConnection: the close waits for the buffer.
            self._closeWith = None
        if self._chunks is None:
            self._chunks = deque()
        self._chunks.append(data)
        self._buffered += len(data)
        producer = self._producer
        if (
            producer is not None
            and self._streaming
            and not self._producerPaused
            and self._buffered > BUFFER_SIZE
        ):
            self._producerPaused = True
            cast(IPushProducer, producer).pauseProducing()
        if not self._writing:
            self._open()
            self._writing = True
            self._reactor.addWriter(self)

    def _unpauseIfRoom(self) -> None:
        if self._producerPaused and self._buffered <= BUFFER_SIZE:
            self._producerPaused = False
            if self._producer is not None:
                self._producer.resumeProducing()

    def _shutdownWrite(self) -> None:
        self._writeShut = True
        self._shutWhenSent = False
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_WR)

    def _startReading(self) -> None:
        if not self._reading:
            self._open()
            self._reading = True
            self._reactor.addReader(self)

    def _stopReading(self) -> None:
        if self._reading:
            self._reading = False
            self._reactor.removeReader(self)

    def _stopWantingToRead(self) -> None:
        self._wantRead = False
        self._stopReading()

    def _stopWriting(self) -> None:
        if self._writing:
            self._writing = False
            self._reactor.removeWriter(self)


_DONE = Failure(main.CONNECTION_DONE)

#: What C{registerProducer} is given: by C{IConsumer}'s contract a push
#: producer when streaming, else a pull producer; both can be resumed.
_Producer = IPushProducer | IPullProducer
