"""
Tests for port ranges on the server: L{buildEndpoints} builds a listener per
port, every kind the same way, and L{PortRangeService} starts them with one
line.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from twisted.application.service import MultiService
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.logger import LogEvent, capturedLogs
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import freePortRange, temporaryPath
from tests.test_udp_listener import UDPMemoryReactor
from welcome_protocol.admission.admission import Admission
from welcome_protocol.configuration.filelimit import listenerLimitProblem
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.message import Message
from welcome_protocol.listening.builder import (
    ListenerBuilder,
    ListenerReactor,
    buildEndpoints,
)
from welcome_protocol.listening.datagram import DatagramListeningService
from welcome_protocol.listening.directtcp import DirectPort
from welcome_protocol.listening.fdexhaustion import PausingAcceptEndpoint
from welcome_protocol.listening.portrange import PortRangeService, describeRange
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol
from welcome_protocol.udp.settings import DatagramSettings


class BuildEndpointsTests(TestCase):
    """
    L{buildEndpoints} on the real reactor, on loopback.
    """

    def listenAll(self, description: str, count: int) -> list[DirectPort]:
        """
        Build and listen on every port C{description} names.
        """
        admission = Admission(ServerSettings(), ServerStats(0), reactor)
        self.addCleanup(admission.unfinished.stop)
        built = buildEndpoints(reactor, description, admission)
        self.assertEqual(len(built), count)
        ports = []
        for _, endpoint in built:
            port = self.successResultOf(endpoint.listen(Factory.forProtocol(Protocol)))
            self.addCleanup(port.stopListening)
            assert isinstance(port, DirectPort)
            ports.append(port)
        return ports

    def test_everyKind(self) -> None:
        """
        C{tcp:}, C{tcp6:}, C{ssl:}, C{tls:} and C{haproxy:tcp:} ranges: a
        L{DirectPort} per port, on consecutive ports, each built with the
        same stages as a single listener; the ports of a range do not log
        their own start.
        """
        scratch = Path(temporaryPath(self))
        scratch.mkdir()
        cert, key = makeCertificate(scratch)
        (scratch / "localhost.pem").write_bytes(key.read_bytes() + cert.read_bytes())
        for template, host in [
            ("tcp:{range}:interface=127.0.0.1", "127.0.0.1"),
            (r"tcp6:{range}:interface=\:\:1", "::1"),
            (
                f"ssl:{{range}}:interface=127.0.0.1:privateKey={key}:certKey={cert}",
                "127.0.0.1",
            ),
            (f"tls:{scratch}:port={{range}}:interface=127.0.0.1", "127.0.0.1"),
            ("haproxy:tcp:{range}:interface=127.0.0.1", "127.0.0.1"),
        ]:
            first = freePortRange(3, host)
            description = template.format(range=f"{first}-{first + 2}")
            ports = self.listenAll(description, 3)
            self.assertEqual(
                [p.getHost().port for p in ports], [first, first + 1, first + 2]
            )
            self.assertEqual({p.announce for p in ports}, {False}, description)

    def test_singleAnnounces(self) -> None:
        """
        A single port still logs its own start.
        """
        (port,) = self.listenAll("tcp:0:interface=127.0.0.1", 1)
        self.assertTrue(port.announce)


class PortRangeServiceTests(TestCase):
    """
    L{PortRangeService}.
    """

    def test_oneLine(self) -> None:
        """
        Started, every port listens and one line names the range; stopped,
        every port is closed.
        """
        first = freePortRange(4)
        description = f"tcp:{first}-{first + 3}:interface=127.0.0.1"
        factory = Factory.forProtocol(Protocol)
        listeners = [
            ListeningService(single, endpoint, factory)
            for single, endpoint in buildEndpoints(reactor, description)
        ]
        parent = MultiService()
        PortRangeService(description, listeners).setServiceParent(parent)
        with capturedLogs() as events:
            parent.privilegedStartService()
            parent.startService()
        self.addCleanup(parent.stopService)
        lines = [e for e in events if e.get("log_format", "").startswith("Listening")]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["address"], f"127.0.0.1:{first}-{first + 3}")
        self.assertEqual((lines[0]["description"], lines[0]["count"]), (description, 4))
        self.assertNotIn("starting on", str([e.get("log_format") for e in events]))
        self.assertTrue(all(listener.port is not None for listener in listeners))

    def test_describeRange(self) -> None:
        """
        Consecutive ports of one host are a range; anything else is listed.
        """
        self.assertEqual(describeRange([]), "no ports")


class ListenerLimitTests(TestCase):
    """
    L{listenerLimitProblem}: the listeners must fit the hard open-file limit.
    """

    def test_fits(self) -> None:
        """
        Within the hard limit, with the spare descriptors: fine.
        """
        self.assertIsNone(listenerLimitProblem(4064, lambda _: (1024, 4096)))

    def test_tooMany(self) -> None:
        """
        Beyond it: one line with the need, the limit and what to do.
        """
        self.assertEqual(
            listenerLimitProblem(5000, lambda _: (1024, 4096)),
            "5000 listening ports need 5032 open files, above the hard open-file "
            "limit of 4096 (ulimit -Hn; LimitNOFILE= in systemd); listen on fewer "
            "ports or raise it",
        )


def _rangeBuilder(
    perTurn: int = 64,
) -> tuple[ListenerBuilder, ServerStats, Factory[Protocol]]:
    """
    A builder on the real reactor for a service that greets with
    C{Welcome!}, UDP included.
    """
    settings = ServerSettings()
    stats = ServerStats(0.0)
    factory = Factory.forProtocol(Protocol)
    source = _Welcome()
    builder = ListenerBuilder(
        cast(ListenerReactor, reactor),
        factory,
        datagrams=(source, stats, DatagramSettings(perTurn=perTurn)),
        backlog=settings.backlog,
    )
    return builder, stats, factory


class _Welcome:
    """
    Where a UDP listener takes its welcome from.
    """

    welcome: bytes = b"Welcome!"
    template: Message | None = None


def _formats(events: Sequence[LogEvent], start: str) -> list[LogEvent]:
    """
    @return: The events of ours (not Twisted's) whose format starts so.
    """
    return [
        e
        for e in events
        if str(e.get("log_format", "")).startswith(start)
        and str(e.get("log_namespace", "")).startswith("welcome_protocol")
    ]


class RangeIsOneListenerTests(TestCase):
    """
    A range is one listener, whatever its kind: one service, one start-up
    line and one shutdown line, and one log or budget for what its ports
    share.
    """

    def startRange(
        self, description: str, perTurn: int = 64
    ) -> tuple[PortRangeService, ServerStats, Sequence[LogEvent], ListenerBuilder]:
        """
        Build and start the range on loopback; stop it at cleanup.
        """
        builder, stats, _ = _rangeBuilder(perTurn)
        service = builder.build(description)
        assert isinstance(service, PortRangeService)
        with capturedLogs() as events:
            service.privilegedStartService()
            service.startService()
        return service, stats, events, builder

    async def test_udpRangeOneLineEachWay(self) -> None:
        """
        A C{udp:} range is one service that logs one line when it starts
        and one when it stops, however many ports it has.
        """
        first = freePortRange(20)
        description = f"udp:{first}-{first + 19}:interface=127.0.0.1"
        service, _, started, _ = self.startRange(description)
        self.assertEqual(len(service.listeners), 20)
        lines = _formats(started, "Listening")
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0]["address"], f"127.0.0.1:{first}-{first + 19}")
        with capturedLogs() as stopping:
            await service.stopService()
        self.assertEqual(len(_formats(stopping, "Stopped listening")), 1)
        self.assertEqual(len(_formats(stopping, "")), 1, _formats(stopping, ""))

    async def test_tcpRangeOneShutdownLine(self) -> None:
        """
        A TCP range logs one line when it stops too.
        """
        first = freePortRange(5)
        service, _, _, _ = self.startRange(
            f"tcp:{first}-{first + 4}:interface=127.0.0.1"
        )
        with capturedLogs() as stopping:
            await service.stopService()
        lines = _formats(stopping, "")
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0]["address"], f"127.0.0.1:{first}-{first + 4}")

    async def test_emptyDatagramToEveryPortOneLine(self) -> None:
        """
        An empty datagram to each port of a range gives one line at once
        and one summary at shutdown, not a line per port: the ports share
        one log of refused datagrams.
        """
        count = 30
        first = freePortRange(count)
        description = f"udp:{first}-{first + count - 1}:interface=127.0.0.1"
        with capturedLogs() as events:
            service, stats, _, _ = self.startRange(description)
            sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.addCleanup(sender.close)
            for port in range(first, first + count):
                sender.sendto(b"", ("127.0.0.1", port))
            while stats.datagramsTooSmall < count:
                await deferLater(reactor, 0.01, lambda: None)
            during = _formats(events, "UDP")
            await service.stopService()
        self.assertEqual(len(during), 1, during)
        summaries = _formats(events, "UDP: {count} more")
        self.assertEqual([e["count"] for e in summaries], [count - 1])

    async def test_readBudgetSharedOnLoopback(self) -> None:
        """
        The datagrams read in one reactor turn, over every port of a
        flooded range, are at most the one share.
        """
        count, perTurn, each = 8, 5, 20
        first = freePortRange(count)
        description = f"udp:{first}-{first + count - 1}:interface=127.0.0.1"
        service, stats, _, builder = self.startRange(description, perTurn)
        self.addCleanup(service.stopService)
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sender.close)
        for port in range(first, first + count):
            for _ in range(each):
                sender.sendto(b"", ("127.0.0.1", port))
        perTurnRead: list[int] = []
        last = 0

        def turn() -> None:
            nonlocal last
            perTurnRead.append(stats.datagramsTooSmall - last)
            last = stats.datagramsTooSmall
            if last < count * each:
                reactor.callLater(0, turn)

        reactor.callLater(0, turn)
        while last < count * each:
            await deferLater(reactor, 0.01, lambda: None)
        self.assertLessEqual(max(perTurnRead), perTurn, perTurnRead)
        budget = builder.datagramBudget
        assert budget is not None
        self.assertGreater(budget.turnsCut, 0)

    def test_udpRangeSharesWhatItShould(self) -> None:
        """
        The ports of a range share the service's rate limiter, read budget
        and logs.
        """
        builder = ListenerBuilder(
            cast(ListenerReactor, UDPMemoryReactor()),
            Factory.forProtocol(Protocol),
            datagrams=(_Welcome(), ServerStats(0.0), DatagramSettings()),
        )
        first = builder.build("udp:7000-7002")
        second = builder.build("udp:7005")
        assert isinstance(first, PortRangeService)
        assert isinstance(second, DatagramListeningService)
        protocols = [
            listener._protocol
            for listener in [*first.listeners, second]
            if isinstance(listener, DatagramListeningService)
            and isinstance(listener._protocol, WelcomeDatagramProtocol)
        ]
        self.assertEqual(len(protocols), 4)
        for name in ("_limiter", "_budget", "_logs"):
            self.assertEqual(len({id(getattr(p, name)) for p in protocols}), 1, name)
        self.assertIs(protocols[0]._budget, builder.datagramBudget)

    def test_emfileWarningsOverRangeOneLine(self) -> None:
        """
        Every port of a TCP range running short of descriptors gives one
        warning, then one summary, for the whole range: the ports share one
        warning.
        """
        first = freePortRange(10)
        service, _, _, _ = self.startRange(
            f"tcp:{first}-{first + 9}:interface=127.0.0.1"
        )
        self.addCleanup(service.stopService)
        ports = [listener.port for listener in service.listeners]
        with capturedLogs() as events:
            for port in ports:
                assert isinstance(port, DirectPort)
                assert port.outOfResources is not None
                port.outOfResources(errno.EMFILE)
            warnings = _formats(events, "Cannot accept")
            self.assertEqual(len(warnings), 1)
            for listener in service.listeners:
                assert isinstance(listener, ListeningService)
                endpoint = listener.endpoint
                assert isinstance(endpoint, PausingAcceptEndpoint)
                endpoint.stop()
        summaries = _formats(events, "Still short")
        self.assertEqual([e["count"] for e in summaries], [9])
