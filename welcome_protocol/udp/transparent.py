# -*- test-case-name: tests.test_udp_transparent -*-
"""
A UDP port for TPROXY: every port's datagrams on one socket, each answered
from the address and port it was sent to.

An nftables C{tproxy to :PORT} rule hands datagrams for any port to one
socket with C{IP_TRANSPARENT}; with C{IP_RECVORIGDSTADDR} (20;
C{IPV6_RECVORIGDSTADDR}, 74, for IPv6) the kernel gives each datagram's
original destination with it, as ancillary data of C{recvmsg}, which
Twisted's C{udp.Port} does not call.  A client whose socket is connected
drops a reply from any other port, so the reply leaves from that
destination: through a transparent socket bound to it.

One socket per reply, opened, bound, used and closed at once, rather than a
cache: measured on the test machine, a reply through a new socket costs
35 to 43 µs and a send on a cached one 17 to 20 µs, but a scan of many
ports (what this listener is for) sends each reply from a different port,
so a cache would miss nearly always while holding descriptors.  One socket
per reply holds none between datagrams, and the rate limits bound how many
are made a second.

The size rule, the rate limits and the dropped source ports are the
protocol's (L{welcome_protocol.udp.protocol}), unchanged; this port only
reads and writes.
"""

from __future__ import annotations

import errno
import socket

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import CannotListenError, MessageLengthError
from twisted.python.failure import Failure

from welcome_protocol.udp.port import READ_AGAIN, READ_REFUSED, DatagramPort

#: C{IP_TRANSPARENT} (C{linux/in.h}), at level C{SOL_IP}.
IP_TRANSPARENT = 19
#: C{IPV6_TRANSPARENT} (C{linux/in6.h}), at level C{SOL_IPV6}.
IPV6_TRANSPARENT = 75
#: C{IP_RECVORIGDSTADDR}, also the type of the ancillary message
#: (C{IP_ORIGDSTADDR}), at level C{SOL_IP}.
IP_RECVORIGDSTADDR = 20
#: C{IPV6_RECVORIGDSTADDR}, also the type of C{IPV6_ORIGDSTADDR}, at level
#: C{SOL_IPV6}.
IPV6_RECVORIGDSTADDR = 74

_SOL_IP = 0
_SOL_IPV6 = 41
_ANCILLARY = socket.CMSG_SPACE(28)


def originalDestination(
    ancillary: list[tuple[int, int, bytes]],
) -> tuple[int, str, int] | None:
    """
    Find a datagram's original destination in what C{recvmsg} returned.

    @param ancillary: C{recvmsg}'s ancillary data.
    @return: The address family, host and port; L{None} if absent.
    """
    for level, kind, data in ancillary:
        if (level, kind) == (_SOL_IP, IP_RECVORIGDSTADDR) and len(data) >= 8:
            port = int.from_bytes(data[2:4], "big")
            return socket.AF_INET, socket.inet_ntop(socket.AF_INET, data[4:8]), port
        if (level, kind) == (_SOL_IPV6, IPV6_RECVORIGDSTADDR) and len(data) >= 24:
            port = int.from_bytes(data[2:4], "big")
            host = socket.inet_ntop(socket.AF_INET6, data[8:24])
            return socket.AF_INET6, host, port
    return None


class TransparentDatagramPort(DatagramPort):
    """
    A L{DatagramPort} on a transparent socket: datagrams for any port a
    TPROXY rule sends here, each answered from where it was sent to.

    While the protocol handles a datagram, L{getHost} is that datagram's
    original destination (C{{server_host}} and C{{server_port}}), and
    L{write} sends from it.

    @ivar hostPerDatagram: Tells the protocol to ask L{getHost} for each
        datagram.
    """

    hostPerDatagram = True
    _destination: tuple[int, str, int] | None = None

    def _prepare(self, skt: socket.socket) -> None:
        """
        Make the socket transparent and ask for each datagram's original
        destination.

        @raise CannotListenError: If the system will not (no
            C{CAP_NET_ADMIN}, or no TPROXY support).
        """
        ipv6 = skt.family == socket.AF_INET6
        # So that a reply to a datagram sent to this very port can bind its
        # address and port beside this socket.
        skt.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            if ipv6:
                skt.setsockopt(_SOL_IPV6, IPV6_TRANSPARENT, 1)
                skt.setsockopt(_SOL_IPV6, IPV6_RECVORIGDSTADDR, 1)
            # IPv4 datagrams reach a dual-stack socket too.
            skt.setsockopt(_SOL_IP, IP_TRANSPARENT, 1)
            skt.setsockopt(_SOL_IP, IP_RECVORIGDSTADDR, 1)
        except OSError as e:
            if e.errno in (errno.EPERM, errno.EACCES):
                why = (
                    "tproxy needs IP_TRANSPARENT, which needs CAP_NET_ADMIN "
                    "(root, or a network namespace of your own)"
                )
            else:
                why = (
                    f"this system has no IP_TRANSPARENT ({(e.strerror or '').lower()})"
                )
            raise CannotListenError(
                self._interface, self._port, _Refused(why)
            ) from None

    def startListening(self) -> None:
        """
        Bind, and say the mode in the start-up line.
        """
        super().startListening()
        if self.announce:
            self._log.info(
                "UDP port {port} answers every port a TPROXY rule sends to it, "
                "each from its own",
                port=self._realPort,
            )

    def doRead(self) -> None:
        """
        Read datagrams with their original destinations until the socket is
        empty or C{maxThroughput} bytes were read.
        """
        skt = self._socket
        read = 0
        while skt is not None and read < self.maxThroughput:
            try:
                data, ancillary, _, addr = skt.recvmsg(self._maxPacketSize, _ANCILLARY)
            except OSError as e:
                if e.errno in READ_AGAIN or e.errno in READ_REFUSED:
                    return
                raise
            read += len(data)
            self._destination = originalDestination(ancillary)
            try:
                self.protocol.datagramReceived(data, (addr[0], addr[1]))
            except Exception:
                self._errors.emit(
                    "A datagram from {host}:{port} raised an error",
                    host=addr[0],
                    port=addr[1],
                    log_failure=Failure(),
                )
            finally:
                self._destination = None
            skt = self._socket

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        @return: While a datagram is handled, the address it was sent to;
            otherwise the address the port is bound to.
        """
        destination = self._destination
        if destination is None:
            return super().getHost()
        family, host, port = destination
        if family == socket.AF_INET6:
            return IPv6Address("UDP", host, port)
        return IPv4Address("UDP", host, port)

    def write(self, datagram: bytes, addr: tuple[str, int]) -> None:
        """
        Send C{datagram} to C{addr} from the current datagram's original
        destination, through a transparent socket bound to it; outside a
        datagram's handling, from the port's own socket.

        @raise MessageLengthError: If it is too long for a datagram.
        @raise OSError: If the kernel refuses it.
        """
        destination = self._destination
        if destination is None:
            super().write(datagram, addr)
            return
        family, host, port = destination
        level, option = (
            (_SOL_IPV6, IPV6_TRANSPARENT)
            if family == socket.AF_INET6
            else (_SOL_IP, IP_TRANSPARENT)
        )
        peer = addr[0]
        if family == socket.AF_INET and peer.startswith("::ffff:"):
            # A dual-stack socket's IPv4 peer, answered over IPv4.
            peer = peer[len("::ffff:") :]
        with socket.socket(family, socket.SOCK_DGRAM) as reply:
            reply.setblocking(False)
            reply.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            reply.setsockopt(level, option, 1)
            reply.bind((host, port))
            try:
                reply.sendto(datagram, (peer, addr[1]))
            except OSError as e:
                if e.errno == errno.EMSGSIZE:
                    raise MessageLengthError("message too long") from None
                raise


class _Refused(Exception):
    """
    The system would not make the socket transparent: the one line says why.
    """
