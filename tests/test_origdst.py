"""
Tests for L{welcome_protocol.listening.directtcp.origdst}: the C{redirect:}
and C{tproxy:} listeners, which greet with the address a client asked for.

The kernel rules that redirect are tested for real in
L{tests.test_everyport}, in network namespaces; here a socket's answers are
scripted, or a real loopback connection arrives without a redirect.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any, cast

from twisted.internet import reactor as globalReactor
from twisted.internet import threads
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort, IReactorFDSet
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from welcome_protocol.listening.builder import buildEndpoint
from welcome_protocol.listening.directtcp.origdst import (
    IP6T_SO_ORIGINAL_DST,
    SO_ORIGINAL_DST,
    RedirectedPort,
    RedirectedServerEndpoint,
    RedirectedTransport,
    TransparentTransport,
    listenRedirected,
    parseSockaddr,
)
from welcome_protocol.listening.directtcp.transport import DirectTransport
from welcome_protocol.listening.service import explainListenFailure

reactor = cast(Any, globalReactor)


def _sockaddrIn(host: str, port: int) -> bytes:
    """
    @return: A C{sockaddr_in} as C{SO_ORIGINAL_DST} returns it.
    """
    return (
        struct.pack("=H", socket.AF_INET)
        + struct.pack("!H", port)
        + socket.inet_pton(socket.AF_INET, host)
        + bytes(8)
    )


def _sockaddrIn6(host: str, port: int) -> bytes:
    """
    @return: A C{sockaddr_in6} as C{IP6T_SO_ORIGINAL_DST} returns it.
    """
    return (
        struct.pack("=H", socket.AF_INET6)
        + struct.pack("!H", port)
        + bytes(4)
        + socket.inet_pton(socket.AF_INET6, host)
        + bytes(4)
    )


class _AnsweringSocket:
    """
    An accepted socket whose C{getsockopt} answers from a script, and which
    records what it was asked.
    """

    def __init__(self, answer: bytes | None, own: tuple[str, int]) -> None:
        self.answer = answer
        self.own = own
        self.asked: list[tuple[int, int, int]] = []

    def fileno(self) -> int:
        return 99

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        self.asked.append((level, option, size))
        if self.answer is None:
            raise OSError(errno.ENOENT, "No such file or directory")
        return self.answer

    def getsockname(self) -> tuple[str, int]:
        return self.own


def _transport(
    skt: _AnsweringSocket, peer: IPv4Address | IPv6Address
) -> RedirectedTransport:
    return RedirectedTransport(
        cast(socket.socket, skt), Protocol(), peer, cast(IReactorFDSet, None)
    )


class ParseSockaddrTests(TestCase):
    """
    L{parseSockaddr} reads what the kernel returns.
    """

    def test_ipv4(self) -> None:
        """
        A 16-byte C{sockaddr_in} is a dotted host and a port.
        """
        self.assertEqual(
            parseSockaddr(_sockaddrIn("192.0.2.9", 23456)), ("192.0.2.9", 23456)
        )

    def test_ipv6(self) -> None:
        """
        A 28-byte C{sockaddr_in6} is an IPv6 host and a port.
        """
        self.assertEqual(
            parseSockaddr(_sockaddrIn6("2001:db8::9", 443)), ("2001:db8::9", 443)
        )

    def test_other(self) -> None:
        """
        Anything else is no address.
        """
        self.assertIsNone(parseSockaddr(b"\xff\xff" + bytes(14)))
        self.assertIsNone(parseSockaddr(b""))


class RedirectedTransportTests(TestCase):
    """
    L{RedirectedTransport.getHost} is the original destination.
    """

    def test_ipv4(self) -> None:
        """
        An IPv4 connection asks C{SOL_IP}/C{SO_ORIGINAL_DST} for 16 bytes,
        once, and gives the port the client asked for.
        """
        skt = _AnsweringSocket(_sockaddrIn("192.0.2.1", 23456), ("192.0.2.1", 12345))
        transport = _transport(skt, IPv4Address("TCP", "192.0.2.7", 40000))
        self.assertEqual(transport.getHost(), IPv4Address("TCP", "192.0.2.1", 23456))
        self.assertEqual(transport.getHost(), IPv4Address("TCP", "192.0.2.1", 23456))
        self.assertEqual(skt.asked, [(socket.SOL_IP, SO_ORIGINAL_DST, 16)])

    def test_ipv6(self) -> None:
        """
        An IPv6 peer asks C{SOL_IPV6}/C{IP6T_SO_ORIGINAL_DST} for 28 bytes.
        """
        skt = _AnsweringSocket(_sockaddrIn6("2001:db8::1", 80), ("2001:db8::1", 1))
        transport = _transport(skt, IPv6Address("TCP", "2001:db8::7", 40000))
        self.assertEqual(transport.getHost(), IPv6Address("TCP", "2001:db8::1", 80))
        self.assertEqual(skt.asked, [(socket.IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, 28)])

    def test_mappedPeerAsksIPv4(self) -> None:
        """
        An IPv4-mapped peer of a dual-stack socket asks the IPv4 table, and
        the address stays mapped, as the socket's own would be.
        """
        skt = _AnsweringSocket(_sockaddrIn("192.0.2.1", 2222), ("::ffff:192.0.2.1", 1))
        transport = _transport(skt, IPv6Address("TCP", "::ffff:192.0.2.7", 40000))
        self.assertEqual(
            transport.getHost(), IPv6Address("TCP", "::ffff:192.0.2.1", 2222)
        )
        self.assertEqual(skt.asked, [(socket.SOL_IP, SO_ORIGINAL_DST, 16)])

    def test_notRedirected(self) -> None:
        """
        Without a connection-tracking entry, the socket's own address.
        """
        skt = _AnsweringSocket(None, ("192.0.2.1", 12345))
        transport = _transport(skt, IPv4Address("TCP", "192.0.2.7", 40000))
        self.assertEqual(transport.getHost(), IPv4Address("TCP", "192.0.2.1", 12345))


class _Refusing(socket.socket):
    """
    A socket on a system without C{CAP_NET_ADMIN}: C{IP_TRANSPARENT} fails.
    """

    def setsockopt(self, level: int, option: int, value: Any, *rest: Any) -> None:
        if (level, option) == (socket.SOL_IP, 19):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        super().setsockopt(level, option, value, *rest)


class _PortReporter(Protocol):
    """
    Write the port C{getHost()} gives, and hang up.
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(
            b"%d" % (cast(IPv4Address, self.transport.getHost()).port,)
        )
        self.transport.loseConnection()


def _fetch(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        chunks = []
        while chunk := client.recv(100):
            chunks.append(chunk)
        return b"".join(chunks)


class RedirectedListenerTests(TestCase):
    """
    C{redirect:} and C{tproxy:} descriptions, parsed by Twisted and built by
    the listener builder, listen with a L{RedirectedPort}.
    """

    def test_parsedByTwisted(self) -> None:
        """
        C{serverFromString} knows both kinds, with C{tcp:}'s arguments.
        """
        memory = MemoryReactor()
        for description, mode in [
            ("redirect:12345", "redirect"),
            ("tproxy:12345:backlog=7:interface=127.0.0.1", "tproxy"),
        ]:
            endpoint = serverFromString(memory, description)
            self.assertIsInstance(endpoint, RedirectedServerEndpoint)
            self.assertEqual(cast(RedirectedServerEndpoint, endpoint).mode, mode)

    @inlineCallbacks
    def test_notRedirectedGreetsWithOwnPort(self) -> Any:
        """
        A connection that no rule redirected sees the listener's own port,
        through the builder's endpoint, and the start-up line names the
        mode.
        """
        events: list[LogEvent] = []
        observer = cast(ILogObserver, events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        endpoint = buildEndpoint(reactor, "redirect:0:interface=127.0.0.1")
        port: IListeningPort = yield endpoint.listen(Factory.forProtocol(_PortReporter))
        self.addCleanup(port.stopListening)
        self.assertIsInstance(port, RedirectedPort)
        number = cast(IPv4Address, port.getHost()).port
        seen = yield threads.deferToThread(_fetch, number)
        self.assertEqual(seen, b"%d" % (number,))
        self.assertTrue(
            any("SO_ORIGINAL_DST" in str(event.get("mode")) for event in events)
        )

    def test_plainListenersUnchanged(self) -> None:
        """
        A C{tcp:} listener's connections are plain L{DirectTransport}s: no
        extra system call per greeting.
        """
        endpoint = buildEndpoint(reactor, "tcp:0:interface=127.0.0.1")
        ports: list[IListeningPort] = []
        endpoint.listen(Factory.forProtocol(Protocol)).addCallback(ports.append)
        self.addCleanup(ports[0].stopListening)
        self.assertNotIsInstance(ports[0], RedirectedPort)
        self.assertIs(cast(Any, ports[0]).transport, DirectTransport)

    def test_tproxyTransportReadsOwnAddress(self) -> None:
        """
        A C{tproxy} port's connections read their own local address: it is
        the original destination.
        """
        try:
            port = listenRedirected(reactor, Factory(), "tproxy", 0, 5, "127.0.0.1")
        except CannotListenError:
            if os.environ.get("CI") == "true":
                raise
            raise self.skipTest("IP_TRANSPARENT needs CAP_NET_ADMIN") from None
        self.addCleanup(port.stopListening)
        self.assertIs(port.transport, TransparentTransport)
        self.assertIs(port.transport.getHost, DirectTransport.getHost)
        self.assertEqual(
            port.socket.getsockopt(socket.SOL_IP, 19), 1, "not transparent"
        )

    def test_tproxyRefusedIsOneLine(self) -> None:
        """
        Where C{IP_TRANSPARENT} is refused, listening fails with one line
        that says what it needs.
        """
        with self.assertRaises(CannotListenError) as caught:
            listenRedirected(
                reactor, Factory(), "tproxy", 0, 5, "127.0.0.1", makeSocket=_Refusing
            )
        line = explainListenFailure("tproxy:12345", caught.exception)
        self.assertEqual(
            line,
            "cannot listen on tproxy:12345: tproxy needs IP_TRANSPARENT, which "
            "needs CAP_NET_ADMIN (root, or a network namespace of your own)",
        )
