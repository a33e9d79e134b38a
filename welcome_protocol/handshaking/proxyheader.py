# -*- test-case-name: tests.test_proxyheader -*-
"""
PROXY protocol (HAProxy) listening that greets only once the header is read.

Twisted's C{haproxy:} endpoint connects the wrapped protocol as soon as the
TCP connection is made, before the PROXY header has arrived, so a protocol
that speaks first (as the welcome does) sees the proxy's address in
C{getPeer()}, not the client's (Twisted issue 12501).  The wrapper here reuses
Twisted's version 2 parser (version 1 lines are read here, to the letter of
the specification) but connects the wrapped protocol only once the
header is parsed, so C{connectionMade} already sees the real client.  The
header may arrive in any number of pieces, down to a byte at a time.

What a header says is untrusted input, and Twisted's parsers do not check it
(a version 1 header's "address" is whatever text stands between two spaces).
A header is accepted only if it names TCP addresses that parse as IP
addresses of the family it declares, with ports from 0 to 65535, or names
no addresses at all (C{UNKNOWN}, C{LOCAL}: the proxy's own connection);
anything else closes the connection unwelcomed.  Optionally only proxies in
given networks may send one at all (nginx's C{set_real_ip_from}).

Until the header is complete the connection is under a
L{welcome_protocol.admission.unfinished.HandshakeGuard}: it has a deadline
from accept, counts against the cap on unfinished connections, and holds a place under
C{--max-connections} (not C{--max-per-ip}: the only address known yet is the
proxy's, shared by every client behind it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import cast

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IListeningPort,
    ILoggingContext,
    IProtocolFactory,
    IStreamServerEndpoint,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy

from welcome_protocol.admission.unfinished import PROXY_HEADER, HandshakeGuard
from welcome_protocol.handshaking.proxylog import ProxyHeaderLog
from welcome_protocol.handshaking.twistedhaproxy import InvalidProxyHeader, V2Parser
from welcome_protocol.shared.addresses import clientIP, describeAddress

Network = IPv4Network | IPv6Network

_V1_START = b"PROXY "
_V1_LONGEST = 107
"""
The longest version 1 header, CRLF included, that the specification allows
(C{PROXY UNKNOWN} with two full IPv6 addresses and ports).
"""
_V1_PORT = re.compile(rb"0|[1-9][0-9]{0,4}")
"""
A port in a version 1 header: decimal ASCII digits, no sign, no C{_} and
no leading zero ("heading zeroes are not permitted", says the
specification), for the range check to follow.
"""
_V2_START = V2Parser.PREFIX
_V2_FIXED = 16
"""
The fixed part of a version 2 header: the signature, the version and
command, the family and protocol, and the length of the rest.
"""

Addresses = tuple[IAddress | None, IAddress | None]


class InvalidHeader(ValueError):
    """
    A PROXY header is refused; C{str()} says why, quoting nothing from it.
    """


class InvalidAddress(InvalidHeader):
    """
    A PROXY header names an impossible address; C{str()} says what is wrong,
    quoting nothing from the header.
    """


def checkedAddress(address: IAddress | None) -> IAddress | None:
    """
    Check an address a PROXY header names, and write it the standard way.

    @param address: The address as Twisted's parser made it, or L{None} for
        a header without addresses.
    @return: The same address with its host in standard form (C{::1}, not
        C{0:0:0:0:0:0:0:1}, so one client is one C{--max-per-ip} key), or
        the UNIX address as it is.
    @raise InvalidAddress: If it is not a TCP address whose host is an IP address
        of its declared family and whose port is in 0-65535; the message
        says which, quoting nothing from the header.
    """
    if address is None or isinstance(address, UNIXAddress):
        return address
    if not isinstance(address, (IPv4Address, IPv6Address)) or address.type != "TCP":
        raise InvalidAddress("not a TCP connection")
    version = 4 if isinstance(address, IPv4Address) else 6
    try:
        host = ip_address(address.host)
    except ValueError:
        raise InvalidAddress(f"an address is not an IPv{version} address") from None
    if host.version != version or getattr(host, "scope_id", None) is not None:
        raise InvalidAddress(f"an address is not an IPv{version} address")
    if not 0 <= address.port <= 65535:
        raise InvalidAddress("a port is outside 0-65535")
    if version == 4:
        return IPv4Address("TCP", host.compressed, address.port)
    return IPv6Address("TCP", host.compressed, address.port)


def parseV1Line(line: bytes) -> Addresses:
    """
    Read a version 1 header, as the specification writes it.

    Twisted's version 1 parser reads ports with C{int()}, so that C{+80}
    and C{8_0} pass, and refuses the short C{PROXY UNKNOWN} that the
    specification defines; this reads exactly what the specification says.

    @param line: The header without its CRLF.
    @return: The source and destination addresses (checked by
        L{checkedAddress}), or two L{None} for C{UNKNOWN}: the rest of
        that line is to be ignored, and the connection's own addresses used.
    @raise InvalidHeader: If it is not such a header.
    """
    fields = line.split(b" ")
    if fields[0] != b"PROXY" or len(fields) < 2:
        raise InvalidHeader("malformed")
    if fields[1] == b"UNKNOWN":
        return None, None
    if len(fields) != 6 or fields[1] not in (b"TCP4", b"TCP6"):
        raise InvalidHeader("malformed")
    _, family, source, destination, sourcePort, destinationPort = fields
    ports = []
    for port in (sourcePort, destinationPort):
        if _V1_PORT.fullmatch(port) is None or int(port) > 65535:
            raise InvalidAddress("a port is not a decimal number from 0 to 65535")
        ports.append(int(port))
    kind = IPv4Address if family == b"TCP4" else IPv6Address
    try:
        hosts = source.decode("ascii"), destination.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidAddress(
            f"an address is not an IPv{family[-1:].decode()} address"
        ) from None
    return (
        checkedAddress(kind("TCP", hosts[0], ports[0])),
        checkedAddress(kind("TCP", hosts[1], ports[1])),
    )


def fromTrustedProxy(peer: IAddress, networks: Sequence[Network]) -> bool:
    """
    @param peer: The address a connection was accepted from.
    @param networks: The C{--proxy-from} networks.
    @return: Whether C{peer} may send a PROXY header: its IP address (an
        IPv4 address mapped into IPv6 counts as itself) is in one of the
        networks.  A UNIX socket's peer has no address; who may connect to
        it is up to the socket file's permissions, so it is trusted.
    """
    if isinstance(peer, UNIXAddress):
        return True
    host = getattr(peer, "host", None)
    address = clientIP(host) if isinstance(host, str) else None
    if address is None:
        return False
    return any(address in network for network in networks)


def _startsLike(data: bytes, signature: bytes) -> bool:
    """
    @return: Whether C{data} and C{signature} agree as far as both go.
    """
    size = min(len(data), len(signature))
    return data[:size] == signature[:size]


class HeaderFirstWrapper(ProtocolWrapper):
    """
    Connect the wrapped protocol only after a valid PROXY header is parsed.

    A connection that closes, or sends a bad header, before that is never
    seen by the wrapped protocol at all.

    It is a plain L{ProtocolWrapper}: Twisted's own C{haproxy:} wrapper
    parses as the bytes arrive and connects the wrapped protocol at once,
    which is what this one must not do, so nothing of it is used.

    @ivar rawPeer: The address the connection came from: the proxy's.
    """

    factory: HeaderFirstWrappingFactory
    phase = PROXY_HEADER
    rawPeer: IAddress
    _wrappedConnected = False
    _guarded = False
    _closed = False
    _start = b""
    _v2Size = 0
    _received = 0
    _chunks: list[bytes] = []
    _client: IAddress | None = None
    _server: IAddress | None = None

    def makeConnection(self, transport: ITransport) -> None:
        """
        Connect the wrapper itself, but not yet the wrapped protocol: check
        where the connection comes from, and start its deadline.
        """
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)
        # Twisted's WrappingFactory.registerProtocol is unannotated.
        self.factory.registerProtocol(self)  # type: ignore[no-untyped-call]
        self.rawPeer = peer = transport.getPeer()
        factory = self.factory
        guard = factory.guard
        if factory.proxyFrom is not None and not fromTrustedProxy(
            peer, factory.proxyFrom
        ):
            if factory.log is not None:
                factory.log.refuseSource(peer)
            self._closeUnwelcomed()
            return
        if guard is not None:
            if not guard.start(self, None):
                self._closeUnwelcomed()
                return
            self._guarded = True

    def dataReceived(self, data: bytes) -> None:
        """
        Parse the header, however the network splits it; once complete and
        valid, connect the wrapped protocol.
        """
        if self._wrappedConnected:
            self.wrappedProtocol.dataReceived(data)
            return
        if self._closed:
            return
        try:
            parsed = self._parse(data)
        except InvalidHeader as e:
            self._invalid(str(e))
            return
        except (InvalidProxyHeader, ValueError, LookupError):
            # Twisted's version 2 parser's errors, or a struct that does
            # not unpack.
            self._invalid("malformed")
            return
        if parsed is None:
            return
        (self._client, self._server), remaining = parsed
        self._wrappedConnected = True
        if self._guarded and self.factory.guard is not None:
            self.factory.guard.finish(self)
        # The wrapper provides its transport's interfaces (directlyProvides
        # in makeConnection), which a type checker cannot see.
        self.wrappedProtocol.makeConnection(cast(ITransport, self))
        if remaining:
            self.wrappedProtocol.dataReceived(remaining)

    def _parse(self, data: bytes) -> tuple[Addresses, bytes] | None:
        """
        Add C{data} to what has arrived of the header.

        @return: The addresses the header names and the bytes after it, or
            L{None} until the whole header has arrived.
        @raise InvalidHeader: If it cannot become a valid header.
        """
        if self._v2Size:
            self._chunks.append(data)
            self._received += len(data)
            if self._received < self._v2Size:
                return None
            return self._parseV2(b"".join(self._chunks))
        data = self._start + data
        self._start = b""
        if _startsLike(data, _V1_START):
            return self._parseV1(data)
        if not _startsLike(data, _V2_START):
            raise InvalidHeader("not a PROXY header")
        if len(data) > len(_V2_START) and data[len(_V2_START)] & 0xF0 != 0x20:
            raise InvalidHeader("unknown version")
        if len(data) < _V2_FIXED:
            self._start = data
            return None
        self._v2Size = _V2_FIXED + int.from_bytes(data[14:16], "big")
        if len(data) < self._v2Size:
            # Chunks joined once: a header dripped a byte at a time costs
            # no more than one that arrives whole.
            self._chunks = [data]
            self._received = len(data)
            return None
        return self._parseV2(data)

    def _parseV1(self, data: bytes) -> tuple[Addresses, bytes] | None:
        """
        Read a version 1 header once its CRLF has arrived.
        """
        end = data.find(b"\r\n", 0, _V1_LONGEST)
        if end == -1:
            if len(data) >= _V1_LONGEST:
                raise InvalidHeader(f"longer than {_V1_LONGEST} bytes")
            if b"\n" in data:
                raise InvalidHeader("malformed")
            self._start = data
            return None
        line = data[:end]
        if b"\r" in line or b"\n" in line:
            raise InvalidHeader("malformed")
        return parseV1Line(line), data[end + 2 :]

    def _parseV2(self, data: bytes) -> tuple[Addresses, bytes]:
        """
        Read a version 2 header that has arrived whole.
        """
        size = self._v2Size
        self._v2Size = 0
        self._chunks = []
        info = V2Parser.parse(data[:size])
        addresses = checkedAddress(info.source), checkedAddress(info.destination)
        return addresses, data[size:]

    def getPeer(self) -> IAddress:
        """
        @return: The client the header named, else the proxy's address.
        """
        if self._client is not None:
            return self._client
        assert self.transport is not None
        return self.transport.getPeer()

    def getHost(self) -> IAddress:
        """
        @return: The server address the header named, else the socket's own.
        """
        if self._server is not None:
            return self._server
        assert self.transport is not None
        return self.transport.getHost()

    def _invalid(self, why: str) -> None:
        """
        Close a connection whose header is invalid, counting it.
        """
        factory = self.factory
        if factory.guard is not None and self._guarded:
            factory.guard.finish(self)
        if factory.log is not None:
            factory.log.invalidHeader(self.rawPeer, why)
        self._closeUnwelcomed()

    def _closeUnwelcomed(self) -> None:
        self._closed = True
        assert self.transport is not None
        self.transport.loseConnection()

    def abortUnfinished(self) -> None:
        """
        Drop the connection: the deadline passed, or the cap needed room.
        """
        self._closed = True
        # TCP and TLS transports can both abort.
        transport = cast(ITCPTransport, self.transport)
        transport.abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Tell the wrapped protocol, if it was ever connected; else the guard.
        """
        # Twisted's WrappingFactory.unregisterProtocol is unannotated.
        self.factory.unregisterProtocol(self)  # type: ignore[no-untyped-call]
        if self._wrappedConnected:
            self.wrappedProtocol.connectionLost(reason)
        elif self._guarded and self.factory.guard is not None:
            self.factory.guard.lost(self)


class HeaderFirstWrappingFactory(WrappingFactory):
    """
    Wrap each connection in a L{HeaderFirstWrapper}.

    @ivar guard: Bounds the connections until their header is read, or
        L{None} for no bounds.
    @ivar proxyFrom: The networks that may send a PROXY header, or L{None}
        for anyone.
    @ivar log: Counts and logs the connections closed for their header or
        source (in the guard's counters), or L{None} without a guard.
    """

    protocol = HeaderFirstWrapper
    # The listener logs where it listens; "Starting factory <...>" adds nothing.
    noisy = False

    def __init__(
        self,
        wrappedFactory: IProtocolFactory,
        guard: HandshakeGuard | None = None,
        proxyFrom: Sequence[Network] | None = None,
    ) -> None:
        # Twisted's WrappingFactory.__init__ is unannotated.
        super().__init__(wrappedFactory)  # type: ignore[no-untyped-call]
        self.guard = guard
        self.proxyFrom = proxyFrom
        self.log = None if guard is None else ProxyHeaderLog(guard.stats, guard.clock)

    def logPrefix(self) -> str:
        """
        @return: The wrapped factory's prefix, marked as behind a PROXY
            header, as Twisted's C{haproxy:} endpoint marks it.
        """
        wrapped = self.wrappedFactory
        if ILoggingContext.providedBy(wrapped):
            prefix: str = wrapped.logPrefix()
        else:
            prefix = type(wrapped).__name__
        return f"{prefix} (PROXY)"

    def stopFactory(self) -> None:
        """
        Sum up the log lines not yet written; the listener has stopped.
        """
        # Twisted's WrappingFactory.stopFactory is unannotated.
        super().stopFactory()  # type: ignore[no-untyped-call]
        if self.log is not None:
            self.log.flush()


@implementer(IStreamServerEndpoint)
class HeaderFirstEndpoint:
    """
    Listen on another endpoint, expecting a PROXY header on every connection.
    """

    _log = Logger()

    def __init__(
        self,
        wrapped: IStreamServerEndpoint,
        guard: HandshakeGuard | None = None,
        proxyFrom: Sequence[Network] | None = None,
    ) -> None:
        """
        @param wrapped: The endpoint the connections arrive on.
        @param guard: Bounds them until their header is read.
        @param proxyFrom: The networks that may send a header; L{None} for
            anyone, which is logged once the endpoint listens.
        """
        self._wrapped = wrapped
        self._guard = guard
        self._proxyFrom = proxyFrom

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Listen on the wrapped endpoint with C{protocolFactory} behind the
        header parser.
        """
        wrapping = HeaderFirstWrappingFactory(
            protocolFactory, self._guard, self._proxyFrom
        )
        listening = self._wrapped.listen(wrapping)
        if self._proxyFrom is None:
            listening.addCallback(self._warnUnrestricted)
        return listening

    def _warnUnrestricted(self, port: IListeningPort) -> IListeningPort:
        self._log.warn(
            "PROXY headers on {address} are accepted from any address: any "
            "client that can reach it can claim to be any client (restrict "
            "the proxies with --proxy-from)",
            address=describeAddress(port.getHost()),
        )
        return port
