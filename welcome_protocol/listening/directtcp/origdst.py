# -*- test-case-name: tests.test_origdst -*-
"""
The address a redirected TCP client asked for: one socket greets every port.

Tools that answer on every TCP port (portquiz, egressbuster) listen on one
port and let a kernel rule send the whole range to it.  Two rules can:

  - I{REDIRECT} (NAT): the accepted socket's local address is the
    listener's; the kernel's connection tracking keeps the original one,
    which C{getsockopt(SOL_IP, SO_ORIGINAL_DST)} returns as a 16-byte
    C{sockaddr_in} (C{getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST)}, a 28-byte
    C{sockaddr_in6}, for IPv6; the IPv4 call for an IPv4-mapped peer of a
    dual-stack socket).
  - I{TPROXY} (no NAT): the listening socket is C{IP_TRANSPARENT}, and the
    accepted socket's own local address is the original destination.

L{RedirectedPort} is a L{DirectPort} whose connections answer
C{getHost()} with that original address, so C{{server_port}},
C{{server_host}} and the access log show what the client asked for.  A
connection that was not redirected answers with the listener's own
address.  Plain listeners are untouched: the extra system call is made
only on a listener in one of these modes, and only when C{getHost()} is
asked for.

The descriptions are C{redirect:PORT} and C{tproxy:PORT} (with
C{interface=} and C{backlog=} as C{tcp:} takes them), parsed by Twisted's
C{serverFromString} through the plugin in C{twisted/plugins}.
"""

from __future__ import annotations

import errno
import socket
import struct
from typing import Literal

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, execute
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IReactorFDSet,
    IStreamServerEndpoint,
)
from zope.interface import implementer

from welcome_protocol.listening.directtcp.port import DirectPort
from welcome_protocol.listening.directtcp.transport import DirectTransport

Mode = Literal["redirect", "tproxy"]

#: C{SO_ORIGINAL_DST} (C{linux/netfilter_ipv4.h}), at level C{SOL_IP}.
SO_ORIGINAL_DST = 80
#: C{IP6T_SO_ORIGINAL_DST} (C{linux/netfilter_ipv6/ip6_tables.h}), at
#: level C{SOL_IPV6}.
IP6T_SO_ORIGINAL_DST = 80
#: C{IP_TRANSPARENT} (C{linux/in.h}), at level C{SOL_IP}.
IP_TRANSPARENT = 19
#: C{IPV6_TRANSPARENT} (C{linux/in6.h}), at level C{SOL_IPV6}.
IPV6_TRANSPARENT = 75

_SOL_IP = 0
_SOL_IPV6 = 41
_SOCKADDR_IN = 16
_SOCKADDR_IN6 = 28
_MAPPED = "::ffff:"

MODE_LINES = {
    "redirect": "REDIRECT: the port asked for from SO_ORIGINAL_DST",
    "tproxy": "TPROXY: the port asked for is the connection's own",
}
"""
What the start-up line says of each mode.
"""


def originalDestination(skt: socket.socket, ipv6: bool) -> tuple[str, int] | None:
    """
    Ask the kernel's connection tracking where a NAT-redirected connection
    was going.

    @param skt: An accepted TCP socket.
    @param ipv6: Whether to ask the IPv6 table (an IPv6 peer, not an
        IPv4-mapped one).
    @return: The original host and port, or L{None} if the kernel has none
        (connection tracking is not loaded, or the socket is gone).
    """
    try:
        if ipv6:
            raw = skt.getsockopt(_SOL_IPV6, IP6T_SO_ORIGINAL_DST, _SOCKADDR_IN6)
        else:
            raw = skt.getsockopt(_SOL_IP, SO_ORIGINAL_DST, _SOCKADDR_IN)
    except OSError:
        return None
    return parseSockaddr(raw)


def parseSockaddr(raw: bytes) -> tuple[str, int] | None:
    """
    Read a C{sockaddr_in} or C{sockaddr_in6} as the kernel returns it.

    @param raw: The 16 or 28 bytes.
    @return: The host, as text, and the port; L{None} for anything else.
    """
    if len(raw) >= _SOCKADDR_IN6 and raw[:2] == struct.pack("=H", socket.AF_INET6):
        port = struct.unpack("!H", raw[2:4])[0]
        return socket.inet_ntop(socket.AF_INET6, raw[8:24]), port
    if len(raw) >= 8 and raw[:2] == struct.pack("=H", socket.AF_INET):
        port = struct.unpack("!H", raw[2:4])[0]
        return socket.inet_ntop(socket.AF_INET, raw[4:8]), port
    return None


class TransparentTransport(DirectTransport):
    """
    A connection accepted on a transparent (C{TPROXY}) socket: its own
    address, which C{getHost()} reads, is the one the client asked for.
    """

    __slots__ = ()

    redirected = True


class RedirectedTransport(DirectTransport):
    """
    A connection that came through a C{REDIRECT} rule: C{getHost()} is the
    address the client asked for, from C{SO_ORIGINAL_DST}.
    """

    __slots__ = ()

    redirected = True

    def getHost(self) -> IPv4Address | IPv6Address:
        """
        @return: The original destination, or the socket's own address if
            the connection was not redirected.
        """
        if self._host is None:
            peer = self._peer
            mapped = isinstance(peer, IPv6Address) and peer.host.startswith(_MAPPED)
            found = originalDestination(
                self.socket, isinstance(peer, IPv6Address) and not mapped
            )
            if found is None:
                return super().getHost()
            host, port = found
            if mapped:
                host = _MAPPED + host
            self._host = type(peer)("TCP", host, port)
        return self._host


class RedirectedPort(DirectPort):
    """
    A L{DirectPort} for redirected traffic: its connections are
    L{RedirectedTransport}s (C{redirect}) or, on a transparent listening
    socket, L{TransparentTransport}s (C{tproxy}).

    @ivar mode: C{"redirect"} or C{"tproxy"}.
    """

    mode: Mode = "redirect"

    def startListening(self) -> None:
        """
        Start the factory, say which mode the port is in, and accept.
        """
        self.factory.doStart()
        self.connected = True
        if self.announce:
            self._log.info(
                "{factory} starting on {port} ({mode})",
                factory=self.factory.__class__.__name__,
                port=self.getHost().port,
                mode=MODE_LINES[self.mode],
            )
        self.startReading()


class _TransparentUnavailable(Exception):
    """
    C{IP_TRANSPARENT} was refused: the one line says what it needs.
    """


def listenRedirected(
    reactor: IReactorFDSet,
    factory: IProtocolFactory,
    mode: Mode,
    port: int,
    backlog: int = 50,
    interface: str = "",
    announce: bool = True,
    makeSocket: type[socket.socket] = socket.socket,
) -> RedirectedPort:
    """
    Listen for redirected connections on one TCP port.

    @param mode: C{"redirect"}, or C{"tproxy"} for a transparent socket.
    @param makeSocket: Makes the listening socket (a test passes one that
        refuses C{IP_TRANSPARENT}).
    @raise CannotListenError: If the port cannot be listened on, or (for
        C{tproxy}) the system will not make the socket transparent, which
        takes C{CAP_NET_ADMIN}.
    """
    family = socket.AF_INET6 if ":" in interface else socket.AF_INET
    listening = makeSocket(family, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if mode == "tproxy":
            _makeTransparent(listening, family)
        if family == socket.AF_INET6:
            address = socket.getaddrinfo(
                interface, port, family, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST
            )[0][4]
            listening.bind(address)
        else:
            listening.bind((interface, port))
        listening.listen(backlog)
    except (OSError, _TransparentUnavailable) as e:
        listening.close()
        raise CannotListenError(interface, port, e) from e
    listening.setblocking(False)
    result = RedirectedPort(reactor, factory, listening)
    result.mode = mode
    result.transport = (
        RedirectedTransport if mode == "redirect" else TransparentTransport
    )
    result.announce = announce
    result.startListening()
    return result


def _makeTransparent(listening: socket.socket, family: int) -> None:
    level, option = (
        (_SOL_IPV6, IPV6_TRANSPARENT)
        if family == socket.AF_INET6
        else (_SOL_IP, IP_TRANSPARENT)
    )
    try:
        listening.setsockopt(level, option, 1)
    except OSError as e:
        if e.errno in (errno.EPERM, errno.EACCES):
            raise _TransparentUnavailable(
                "tproxy needs IP_TRANSPARENT, which needs CAP_NET_ADMIN "
                "(root, or a network namespace of your own)"
            ) from e
        raise _TransparentUnavailable(
            f"this system has no IP_TRANSPARENT ({(e.strerror or '').lower()})"
        ) from e


@implementer(IStreamServerEndpoint)
class RedirectedServerEndpoint:
    """
    Listen with a L{RedirectedPort}, in C{redirect} or C{tproxy} mode.

    The reactor must poll descriptors (Twisted's POSIX reactors, or the
    listener builder's reactor over one): the original destination is
    read from the accepted socket, which Twisted's own ports do not offer.
    """

    def __init__(
        self,
        reactor: IReactorFDSet,
        mode: Mode,
        port: int,
        backlog: int = 50,
        interface: str = "",
    ) -> None:
        self._reactor = reactor
        self.mode = mode
        self._port = port
        self._backlog = backlog
        self._interface = interface

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen with C{protocolFactory}; see C{IStreamServerEndpoint.listen}.
        """
        # The builder's reactor says whether the port is one of a range,
        # which logs one line for all of them.
        announce = bool(getattr(self._reactor, "announce", True))
        return execute(
            listenRedirected,
            self._reactor,
            protocolFactory,
            self.mode,
            self._port,
            self._backlog,
            self._interface,
            announce,
        )


def parseRedirected(
    mode: Mode,
    reactor: IReactorFDSet,
    port: str,
    backlog: str = "50",
    interface: str = "",
) -> RedirectedServerEndpoint:
    """
    Build the endpoint of a C{redirect:} or C{tproxy:} description, whose
    arguments are C{tcp:}'s.

    @raise ValueError: If the port or backlog is not a whole number.
    """
    return RedirectedServerEndpoint(reactor, mode, int(port), int(backlog), interface)
