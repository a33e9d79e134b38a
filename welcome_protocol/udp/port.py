# -*- test-case-name: tests.test_udp_port -*-
"""
A UDP port of our own: the socket, the read loop, the send; Twisted's
C{udp.Port} without its two log lines per port.

Twisted's port logs C{"... starting on PORT"} when it binds and C{"(UDP
Port PORT Closed)"} when it closes, always: a 10,000-port C{udp:} range
wrote 20,000 such lines at start and 10,000 at shutdown.  This port says
the same two things only when asked to (C{announce}, as a single port is;
a range's service logs one line for all its ports), and is otherwise
Twisted's port as the datagram stages see it: the same read loop, bounded
by C{maxThroughput} (which L{readbound} sets), the same errors on send,
addresses of the same shape.  It listens through the reactor's public
L{IReactorFDSet}.
"""

from __future__ import annotations

import errno
import socket

from twisted.internet.abstract import isIPv6Address
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError, MessageLengthError
from twisted.internet.interfaces import (
    IListeningPort,
    IReactorFDSet,
    IReactorTime,
    IReadDescriptor,
)
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.shared.ratelimitedlog import RateLimitedLog

#: Errors of C{recvfrom} that only mean "nothing more to read now".
READ_AGAIN = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})

#: Errors of C{recvfrom} that an earlier send to an unreachable peer left
#: behind (ICMP port unreachable): not ours to report.
READ_REFUSED = frozenset({errno.ECONNREFUSED})


@implementer(IListeningPort, IReadDescriptor)
class DatagramPort:
    """
    Listen on one UDP port with a L{DatagramProtocol}, as Twisted's
    C{udp.Port} does (the protocol's transport is this port).

    @ivar maxThroughput: Bytes read at most in one reactor turn; the read
        loop checks it before every datagram (L{readbound} sets it to 0 to
        end a turn).
    @ivar announce: Whether to log the start and the close of the port.
    """

    _log = Logger()
    maxThroughput = 256 * 1024

    def __init__(
        self,
        reactor: IReactorFDSet,
        clock: IReactorTime,
        port: int,
        protocol: DatagramProtocol,
        interface: str = "",
        maxPacketSize: int = 8192,
        announce: bool = True,
    ) -> None:
        """
        @param reactor: Watches the socket.
        @param clock: Times the summaries of datagrams that raised.
        @param port: The port to bind, 0 for any.
        @param protocol: Gets the datagrams.
        @param interface: The address to bind; an IPv6 one makes an IPv6
            socket.
        @param maxPacketSize: Bytes read of each datagram.
        @param announce: Whether to log the start and the close.
        """
        self._reactor = reactor
        self._port = port
        self.protocol = protocol
        self._interface = interface
        self._maxPacketSize = maxPacketSize
        self.announce = announce
        self._family = socket.AF_INET6 if isIPv6Address(interface) else socket.AF_INET
        self._socket: socket.socket | None = None
        self._realPort = 0
        self._errors = RateLimitedLog(
            self._log,
            clock,
            "{count} more datagrams raised an error in the last {interval:g} s",
        )

    def startListening(self) -> None:
        """
        Bind the socket and start reading it.

        @raise CannotListenError: If the port cannot be bound.
        """
        skt = self._bind()
        self._socket = skt
        self._realPort = skt.getsockname()[1]
        if self.announce:
            self._log.info(
                "{protocol} starting on {port}",
                protocol=type(self.protocol).__name__,
                port=self._realPort,
            )
        self.protocol.makeConnection(self)  # type: ignore[arg-type]  # this port is its transport, as Twisted's udp.Port is
        self.startReading()

    def _bind(self) -> socket.socket:
        """
        Make the socket and bind it.

        @raise CannotListenError: If the port cannot be bound.
        """
        skt = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            skt.setblocking(False)
            self._prepare(skt)
            skt.bind((self._interface, self._port))
        except OSError as e:
            skt.close()
            raise CannotListenError(self._interface, self._port, e) from None
        return skt

    def _prepare(self, skt: socket.socket) -> None:
        """
        Set the options the socket needs before it is bound: none here.
        """

    def startReading(self) -> None:
        """
        Have the reactor call L{doRead} whenever the socket is readable.
        """
        if self._socket is not None:
            self._reactor.addReader(self)

    def stopReading(self) -> None:
        """
        Have the reactor no longer watch the socket.
        """
        self._reactor.removeReader(self)

    def fileno(self) -> int:
        """
        @return: The socket's descriptor, or -1 once closed.
        """
        return -1 if self._socket is None else self._socket.fileno()

    def logPrefix(self) -> str:
        """
        @return: The protocol's name, for the reactor's log context.
        """
        return f"{type(self.protocol).__name__} (UDP)"

    def doRead(self) -> None:
        """
        Read datagrams until the socket is empty or C{maxThroughput} bytes
        were read, handing each to the protocol.
        """
        skt = self._socket
        read = 0
        while skt is not None and read < self.maxThroughput:
            try:
                data, addr = skt.recvfrom(self._maxPacketSize)
            except OSError as e:
                if e.errno in READ_AGAIN or e.errno in READ_REFUSED:
                    return
                raise
            read += len(data)
            try:
                self.protocol.datagramReceived(data, (addr[0], addr[1]))
            except Exception:
                # One datagram's error ends that datagram only, with a line
                # per incident and a summary, never a line per datagram.
                self._errors.emit(
                    "A datagram from {host}:{port} raised an error",
                    host=addr[0],
                    port=addr[1],
                    log_failure=Failure(),
                )
            skt = self._socket

    def write(self, datagram: bytes, addr: tuple[str, int]) -> None:
        """
        Send C{datagram} to C{addr}.

        @raise MessageLengthError: If it is too long for a datagram.
        @raise OSError: If the kernel refuses it (a full buffer, say).
        """
        skt = self._socket
        if skt is None:
            raise OSError(errno.EBADF, "the port is closed")
        while True:
            try:
                skt.sendto(datagram, addr)
                return
            except InterruptedError:
                continue
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    raise MessageLengthError("message too long") from None
                if e.errno == errno.ECONNREFUSED:
                    return
                raise

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        @return: The address the port is bound to.
        """
        if self._family == socket.AF_INET6:
            return IPv6Address("UDP", self._interface or "::", self._realPort)
        return IPv4Address("UDP", self._interface or "0.0.0.0", self._realPort)

    def stopListening(self) -> Deferred[None]:
        """
        Stop reading, close the socket and stop the protocol.

        @return: An already fired L{Deferred}.
        """
        skt, self._socket = self._socket, None
        if skt is None:
            return succeed(None)
        self.stopReading()
        # As Twisted's port does: a protocol's read loop that is still
        # going stops at its next check.
        self.maxThroughput = -1
        skt.close()
        self._errors.flush()
        if self.announce:
            self._log.info("(UDP Port {port} Closed)", port=self._realPort)
        self.protocol.doStop()
        return succeed(None)

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor gave up on the socket: close it.
        """
        self.stopListening()
