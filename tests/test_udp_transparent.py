"""
Tests for L{welcome_protocol.udp.transparent}: the TPROXY UDP port, with
the original destination of each datagram and a reply from it.

On loopback without a rule the original destination is the port's own
address, which is enough to see the socket options, C{recvmsg} and the
reply socket at work on a real socket; the namespace test
(L{tests.test_everyport}) sends datagrams to ports a TPROXY rule diverts.
A transparent socket needs C{CAP_NET_ADMIN}: without it the real-socket
tests skip, and fail under C{CI=true}.
"""

from __future__ import annotations

import errno
import os
import socket
from typing import Any, cast

from twisted.internet import reactor
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IReactorFDSet, IReactorTime
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from welcome_protocol.greeting.message import Message
from welcome_protocol.listening.service import explainListenFailure
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.description import parseUDPDescription
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol
from welcome_protocol.udp.ratelimit import RateLimit, ReplyLimiter
from welcome_protocol.udp.transparent import (
    IP_RECVORIGDSTADDR,
    IPV6_RECVORIGDSTADDR,
    TransparentDatagramPort,
    originalDestination,
)


class _Source:
    """
    A welcome source whose message is C{{server_port}}.
    """

    def __init__(self) -> None:
        self.welcome = b""
        self.template: Message | None = Message(None, (("", "server_port"),))


class _Refusing(socket.socket):
    """
    A socket on a system without C{CAP_NET_ADMIN}.
    """

    def setsockopt(self, level: int, option: int, value: Any, *rest: Any) -> None:
        if option in (19, 75):
            raise PermissionError(errno.EPERM, "Operation not permitted")
        super().setsockopt(level, option, value, *rest)


def _limiter() -> ReplyLimiter:
    return ReplyLimiter(Clock(), RateLimit(100, 200), RateLimit(1000, 2000), 64)


def _port(protocol: DatagramProtocol) -> TransparentDatagramPort:
    return TransparentDatagramPort(
        cast(IReactorFDSet, reactor),
        cast(IReactorTime, reactor),
        0,
        protocol,
        "127.0.0.1",
        2048,
    )


class OriginalDestinationTests(TestCase):
    """
    L{originalDestination} reads C{recvmsg}'s ancillary data.
    """

    def test_ipv4(self) -> None:
        """
        An C{IP_ORIGDSTADDR} message is a C{sockaddr_in}.
        """
        data = b"\x02\x00" + (5353).to_bytes(2, "big") + bytes([10, 200, 0, 1])
        self.assertEqual(
            originalDestination([(0, IP_RECVORIGDSTADDR, data + bytes(8))]),
            (socket.AF_INET, "10.200.0.1", 5353),
        )

    def test_ipv6(self) -> None:
        """
        An C{IPV6_ORIGDSTADDR} message is a C{sockaddr_in6}.
        """
        data = (
            b"\x0a\x00"
            + (53).to_bytes(2, "big")
            + bytes(4)
            + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
            + bytes(4)
        )
        self.assertEqual(
            originalDestination([(41, IPV6_RECVORIGDSTADDR, data)]),
            (socket.AF_INET6, "2001:db8::1", 53),
        )

    def test_none(self) -> None:
        """
        Without one, there is none.
        """
        self.assertIsNone(originalDestination([]))
        self.assertIsNone(originalDestination([(1, 2, b"xx")]))


class DescriptionTests(TestCase):
    """
    C{udp:PORT:tproxy=yes} asks for a transparent port.
    """

    def test_tproxy(self) -> None:
        """
        C{tproxy=yes} may come before C{interface=}.
        """
        self.assertTrue(parseUDPDescription("udp:12345:tproxy=yes").tproxy)
        parsed = parseUDPDescription("udp:12345:tproxy=yes:interface=::1")
        self.assertEqual((parsed.tproxy, parsed.interface), (True, "::1"))
        self.assertFalse(parseUDPDescription("udp:12345").tproxy)

    def test_bad(self) -> None:
        """
        Anything but yes or no is refused, in one line.
        """
        with self.assertRaises(Exception) as caught:
            parseUDPDescription("udp:12345:tproxy=maybe")
        self.assertEqual(str(caught.exception), "tproxy must be yes or no, not 'maybe'")


class TransparentPortTests(TestCase):
    """
    L{TransparentDatagramPort} answers from the address a datagram was
    sent to, with the protocol's rules.
    """

    def test_refusedIsOneLine(self) -> None:
        """
        Without C{CAP_NET_ADMIN}, binding fails with one line saying what
        it needs.
        """
        port = _port(DatagramProtocol())
        skt = _Refusing(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(skt.close)
        with self.assertRaises(CannotListenError) as caught:
            port._prepare(skt)
        self.assertEqual(
            explainListenFailure("udp:12345:tproxy=yes", caught.exception),
            "cannot listen on udp:12345:tproxy=yes: tproxy needs IP_TRANSPARENT, "
            "which needs CAP_NET_ADMIN (root, or a network namespace of your own)",
        )

    def listening(self, protocol: DatagramProtocol) -> TransparentDatagramPort:
        """
        A transparent port on loopback, or skip (fail under C{CI=true})
        where the system will not make one.
        """
        port = _port(protocol)
        try:
            port.startListening()
        except CannotListenError:
            if os.environ.get("CI") == "true":
                raise
            raise self.skipTest("IP_TRANSPARENT needs CAP_NET_ADMIN") from None
        self.addCleanup(port.stopListening)
        return port

    async def test_answersFromDestination(self) -> None:
        """
        A datagram is answered from the address and port it was sent to
        (a connected client socket gets the reply), with that port as
        C{{server_port}}; outside the datagram, the port's own address.
        """
        stats = ServerStats(0.0)
        protocol = WelcomeDatagramProtocol(_Source(), _limiter(), stats, Clock())
        port = self.listening(protocol)
        number = port.getHost().port

        def ask() -> bytes:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(5)
                client.connect(("127.0.0.1", number))
                client.send(b"x" * 100)
                return client.recv(100)

        self.assertEqual(await deferToThread(ask), str(number).encode())
        self.assertEqual(stats.datagramsAnswered, 1)
        self.assertEqual(port.getHost().port, number)

    async def test_sizeRuleHolds(self) -> None:
        """
        A datagram not larger than the welcome gets no reply, as on any
        C{udp:} port.
        """
        stats = ServerStats(0.0)
        protocol = WelcomeDatagramProtocol(_Source(), _limiter(), stats, Clock())
        port = self.listening(protocol)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.sendto(b"x", ("127.0.0.1", port.getHost().port))
        while stats.datagramsTooSmall == 0:
            await deferToThread(lambda: None)
        self.assertEqual(stats.datagramsAnswered, 0)
