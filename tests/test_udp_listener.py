"""
Tests for L{welcome_protocol.udp.listener} and the builder's
L{buildDatagramListener<welcome_protocol.listening.builder.buildDatagramListener>}:
UDP listeners, on a a memory reactor and on real loopback sockets.
"""

from __future__ import annotations

import socket
from itertools import pairwise
from typing import Any, cast

from attrs import define
from twisted.internet import reactor
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IAddress, IReactorUDP
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from welcome_protocol.greeting.message import Message
from welcome_protocol.listening.builder import buildDatagramListener, replyLimiter
from welcome_protocol.listening.datagram import DatagramListeningService
from welcome_protocol.listening.service import ListenFailed
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol, WelcomeSource
from welcome_protocol.udp.settings import MAX_DATAGRAM, DatagramSettings


@define
class Welcome:
    """
    A welcome source, as the TCP factory is one.
    """

    welcome: bytes = b"Welcome!\n"
    template: Message | None = None


class Collector(DatagramProtocol):
    """
    A test client: collects the datagrams it receives.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.waiting: Deferred[None] | None = None

    def datagramReceived(self, datagram: bytes, addr: object) -> None:
        """
        Keep the datagram, and wake whoever waits for one.
        """
        self.received.append(datagram)
        waiting, self.waiting = self.waiting, None
        if waiting is not None:
            waiting.callback(None)

    def next(self, timeout: float = 10.0) -> Deferred[None]:
        """
        @return: Fires at the next datagram, or fails after C{timeout}.
        """
        self.waiting = Deferred()
        return self.waiting.addTimeout(timeout, reactor)


def datagramListeners(
    descriptions: list[str],
    settings: DatagramSettings,
    reactor: Any,
    source: WelcomeSource,
    stats: ServerStats,
) -> list[DatagramListeningService]:
    """
    Build a listener for each C{udp:} description, as C{makeService} does:
    with the builder, all sharing one limiter.
    """
    limiter = replyLimiter(reactor, settings)
    return [
        buildDatagramListener(reactor, d, source, stats, limiter, settings)
        for d in descriptions
    ]


class UDPMemoryReactor(MemoryReactorClock):
    """
    A L{MemoryReactorClock} that also records C{listenUDP} calls (Twisted's
    has no UDP), in C{udpServers}, as it records C{listenTCP} ones.
    """

    def __init__(self) -> None:
        super().__init__()
        self.udpServers: list[tuple[int, DatagramProtocol, str, int]] = []

    def listenUDP(
        self,
        port: int,
        protocol: DatagramProtocol,
        interface: str = "",
        maxPacketSize: int = 8192,
    ) -> _FakeUDPPort:
        """
        Record the call; return a port that remembers being stopped.
        """
        self.udpServers.append((port, protocol, interface, maxPacketSize))
        return _FakeUDPPort(port, interface)


class _FakeUDPPort:
    def __init__(self, port: int, interface: str) -> None:
        self.address = (IPv6Address if ":" in interface else IPv4Address)(
            "UDP", interface or "0.0.0.0", port
        )
        self.disconnected = False

    def getHost(self) -> IAddress:
        return self.address

    def stopListening(self) -> None:
        self.disconnected = True


class DatagramListenersTests(TestCase):
    """
    The builder makes one port per C{udp:} description.
    """

    def test_listensAsDescribed(self) -> None:
        """
        Each description becomes a C{listenUDP} on its port and interface,
        reading whole datagrams.
        """
        memory = UDPMemoryReactor()
        services = datagramListeners(
            ["udp:12000", "udp:12001:interface=::1"],
            DatagramSettings(),
            memory,
            Welcome(),
            ServerStats(0.0),
        )
        for service in services:
            service.startService()
        self.assertEqual(
            [(port, interface, size) for port, _, interface, size in memory.udpServers],
            [(12000, "", MAX_DATAGRAM), (12001, "::1", MAX_DATAGRAM)],
        )
        protocols = [server[1] for server in memory.udpServers]
        self.assertTrue(all(isinstance(p, WelcomeDatagramProtocol) for p in protocols))

    def test_oneLimiterForAll(self) -> None:
        """
        Every listener draws from one limiter, so the global bucket bounds
        them all together.
        """
        services = datagramListeners(
            ["udp:1", "udp:2"],
            DatagramSettings(),
            UDPMemoryReactor(),
            Welcome(),
            ServerStats(0.0),
        )
        limiters = {id(s._protocol._limiter) for s in services}  # type: ignore[attr-defined]
        self.assertEqual(len(limiters), 1)


class DatagramListeningServiceTests(TestCase):
    """
    L{DatagramListeningService} on real sockets.
    """

    def listen(self, interface: str) -> tuple[ServerStats, int]:
        """
        Listen on a free UDP port of C{interface}.

        @return: The listener's counters and port.
        """
        stats = ServerStats(0.0)
        [service] = datagramListeners(
            [f"udp:0:interface={interface}"],
            DatagramSettings(),
            reactor,
            Welcome(),
            stats,
        )
        service.startService()
        self.addCleanup(service.stopService)
        assert service.port is not None
        return stats, service.port.getHost().port  # type: ignore[attr-defined]

    @inlineCallbacks
    def check_paddedAnsweredShortNot(self, interface: str):  # type: ignore[no-untyped-def]
        """
        A short datagram gets no reply, the padded one after it gets the
        welcome: on loopback, order is kept, so the one reply that arrives
        answers the padded datagram.
        """
        stats, port = self.listen(interface)
        client = Collector()
        clientPort = cast(IReactorUDP, reactor).listenUDP(0, client, interface, 8192)
        self.addCleanup(clientPort.stopListening)
        arrived = client.next()
        assert client.transport is not None
        client.transport.write(b"hi\n", (interface, port))
        client.transport.write(b"\0" * 1200, (interface, port))
        yield arrived
        self.assertEqual(client.received, [b"Welcome!\n"])
        self.assertEqual(stats.datagramsTooSmall, 1)
        self.assertEqual(stats.datagramsAnswered, 1)
        self.assertEqual(stats.datagramBytesIn, 1203)
        self.assertEqual(stats.datagramBytesOut, 9)

    def test_ipv4(self):  # type: ignore[no-untyped-def]
        """
        On an IPv4 listener, padded datagrams are answered, short ones not.
        """
        return self.check_paddedAnsweredShortNot("127.0.0.1")

    def test_ipv6(self):  # type: ignore[no-untyped-def]
        """
        The same on an IPv6 listener.
        """
        return self.check_paddedAnsweredShortNot("::1")

    @inlineCallbacks
    def test_readsBoundedPerTurn(self):  # type: ignore[no-untyped-def]
        """
        With 200 empty datagrams waiting, one reactor turn reads 64 of them
        and the next turns the rest.  Twisted's own bound counts bytes, so
        without ours it would read every empty datagram in one turn, and a
        flood of them would keep the loop going while TCP clients wait.
        """
        stats, port = self.listen("127.0.0.1")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for _ in range(200):
                sock.sendto(b"", ("127.0.0.1", port))
        # A call due now runs at the start of a turn: between two of them,
        # one poll and its reads.
        seen = [0]
        for _ in range(20):
            yield deferLater(reactor, 0, lambda: None)
            seen.append(stats.datagramsTooSmall)
        perTurn = [after - before for before, after in pairwise(seen)]
        self.assertEqual(seen[-1], 200)
        self.assertEqual(max(perTurn), 64, perTurn)

    def test_portInUse(self) -> None:
        """
        A port already taken fails the start with one line naming it.
        """
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        [service] = datagramListeners(
            [f"udp:{port}:interface=127.0.0.1"],
            DatagramSettings(),
            reactor,
            Welcome(),
            ServerStats(0.0),
        )
        with self.assertRaises(ListenFailed) as caught:
            service.privilegedStartService()
        self.assertEqual(
            str(caught.exception),
            f"cannot listen on udp:{port}:interface=127.0.0.1: address already in use",
        )
        self.assertIsNone(service.port)

    def test_stopClosesPort(self) -> None:
        """
        Stopping the service closes its port.
        """
        memory = UDPMemoryReactor()
        [service] = datagramListeners(
            ["udp:5"], DatagramSettings(), memory, Welcome(), ServerStats(0.0)
        )
        self.assertIsInstance(service, DatagramListeningService)
        service.startService()
        port = service.port
        service.stopService()
        self.assertIsNone(service.port)
        self.assertTrue(port is not None and port.disconnected)  # type: ignore[attr-defined]
