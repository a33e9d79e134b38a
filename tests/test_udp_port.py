"""
Tests for L{welcome_protocol.udp.port}: the UDP port of our own, on
loopback.
"""

from __future__ import annotations

import socket
from typing import cast

from twisted.internet import reactor
from twisted.internet.error import CannotListenError, MessageLengthError
from twisted.internet.interfaces import IReactorFDSet, IReactorTime
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import deferLater
from twisted.logger import capturedLogs
from twisted.trial.unittest import TestCase

from welcome_protocol.udp.port import DatagramPort


class _Echo(DatagramProtocol):
    """
    Answer each datagram with itself; raise on C{b"boom"}.
    """

    noisy = False

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.stopped = False

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        self.received.append(datagram)
        if datagram == b"boom":
            raise ValueError("boom")
        assert self.transport is not None
        self.transport.write(datagram, addr)

    def stopProtocol(self) -> None:
        self.stopped = True


def _port(
    case: TestCase, protocol: DatagramProtocol, announce: bool = True
) -> DatagramPort:
    """
    A port on loopback, listening, closed after C{case}.
    """
    port = DatagramPort(
        cast(IReactorFDSet, reactor),
        cast(IReactorTime, reactor),
        0,
        protocol,
        "127.0.0.1",
        announce=announce,
    )
    port.startListening()
    case.addCleanup(port.stopListening)
    return port


class DatagramPortTests(TestCase):
    """
    L{DatagramPort} is Twisted's UDP port as a protocol sees it.
    """

    async def test_answers(self) -> None:
        """
        A datagram reaches the protocol, whose reply reaches the sender; the
        port's address is the bound one.
        """
        protocol = _Echo()
        port = _port(self, protocol)
        host = port.getHost()
        self.assertEqual((host.type, host.host), ("UDP", "127.0.0.1"))
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(client.close)
        client.settimeout(5)
        client.sendto(b"hello", ("127.0.0.1", host.port))
        while not protocol.received:
            await deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(client.recvfrom(100)[0], b"hello")

    def test_announceOrNot(self) -> None:
        """
        A port that announces logs its start and close as Twisted's does;
        one that does not (a range's) logs nothing.
        """
        for announce, count in [(True, 2), (False, 0)]:
            with capturedLogs() as events:
                port = _port(self, _Echo(), announce)
                port.stopListening()
            self.assertEqual(len(events), count, events)

    def test_stopListening(self) -> None:
        """
        Stopping closes the socket once, stops the protocol, and ends any
        read loop in progress.
        """
        protocol = _Echo()
        port = _port(self, protocol)
        self.successResultOf(port.stopListening())
        self.successResultOf(port.stopListening())
        self.assertTrue(protocol.stopped)
        self.assertEqual((port.fileno(), port.maxThroughput), (-1, -1))
        self.assertRaises(OSError, port.write, b"x", ("127.0.0.1", 9))

    def test_tooLong(self) -> None:
        """
        A datagram too long to send raises L{MessageLengthError}, as on
        Twisted's port.
        """
        port = _port(self, _Echo())
        self.assertRaises(
            MessageLengthError, port.write, b"x" * 70000, ("127.0.0.1", 9)
        )

    def test_portInUse(self) -> None:
        """
        A port that cannot be bound raises L{CannotListenError}.
        """
        first = _port(self, _Echo())
        second = DatagramPort(
            cast(IReactorFDSet, reactor),
            cast(IReactorTime, reactor),
            first.getHost().port,
            _Echo(),
            "127.0.0.1",
        )
        self.assertRaises(CannotListenError, second.startListening)

    async def test_errorEndsOneDatagram(self) -> None:
        """
        A datagram whose handling raises is logged once, and the next
        datagram is handled.
        """
        protocol = _Echo()
        port = _port(self, protocol)
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(client.close)
        with capturedLogs() as events:
            for data in (b"boom", b"boom", b"fine"):
                client.sendto(data, ("127.0.0.1", port.getHost().port))
            while len(protocol.received) < 3:
                await deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(protocol.received, [b"boom", b"boom", b"fine"])
        self.assertEqual(len(events), 1, events)
        self.flushLoggedErrors(ValueError)
