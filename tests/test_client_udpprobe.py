"""
Tests for L{welcome_protocol.client.udpprobe}: the retry schedule on a
L{Clock}, then real datagrams on loopback against our server, a closed
port, and a port that never answers; and every output mode with C{--udp}.
"""

from __future__ import annotations

import io
import json
import socket
from typing import Any, cast

from attrs import define
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorUDP
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.test_udp_listener import datagramListeners
from welcome_protocol.client.probe import DNS, REFUSED, TIMEOUT, ProbeResult
from welcome_protocol.client.reactors import ClientReactor, UDPProbeReactor
from welcome_protocol.client.script import ClientRun, parseArguments
from welcome_protocol.client.udpprobe import (
    PROBE_TEXT,
    UDPProbeProtocol,
    probeDatagram,
    udpProbe,
)
from welcome_protocol.greeting.message import Message
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.settings import DatagramSettings


@define
class Welcome:
    """
    A welcome source for the server under test.
    """

    welcome: bytes = b"Welcome!\n"
    template: Message | None = None


STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "
"""
The time that starts each C{--count} line.
"""


class FakeConnectedUDP:
    """
    A connected UDP transport that records what is sent.
    """

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.peer: tuple[str, int] | None = None

    def connect(self, host: str, port: int) -> None:
        """
        Remember the one peer.
        """
        self.peer = (host, port)

    def write(self, datagram: bytes, addr: object = None) -> None:
        """
        Record a datagram sent.
        """
        self.sent.append(datagram)


class ProbeDatagramTests(TestCase):
    """
    L{probeDatagram} is a labelled, zero-padded datagram of the size asked.
    """

    def test_padded(self) -> None:
        """
        The probe starts with its label and is padded with zeros.
        """
        datagram = probeDatagram(1200)
        self.assertEqual(len(datagram), 1200)
        self.assertTrue(datagram.startswith(PROBE_TEXT))
        self.assertEqual(datagram[len(PROBE_TEXT) :], b"\0" * (1200 - len(PROBE_TEXT)))

    def test_shorterThanLabel(self) -> None:
        """
        A probe shorter than the label is the label cut to size.
        """
        self.assertEqual(probeDatagram(3), PROBE_TEXT[:3])


class UDPProbeProtocolTests(TestCase):
    """
    L{UDPProbeProtocol}'s tries, on a L{Clock}.
    """

    def start(
        self, retries: int = 2
    ) -> tuple[UDPProbeProtocol, FakeConnectedUDP, Clock]:
        """
        A probe of 127.0.0.1:12000 with a 3 s timeout, started.
        """
        clock = Clock()
        protocol = UDPProbeProtocol(
            "127.0.0.1",
            12000,
            "127.0.0.1:12000/udp",
            clock,
            3.0,
            retries,
            100,
            64,
            clock.seconds,
        )
        transport = FakeConnectedUDP()
        # A stand-in for the connected UDP port: only what the protocol uses.
        protocol.makeConnection(transport)  # type: ignore[arg-type]
        return protocol, transport, clock

    def test_connectsAndSends(self) -> None:
        """
        The socket is connected to the server (so ICMP errors come back) and
        the first padded try leaves at once.
        """
        _, transport, _ = self.start()
        self.assertEqual(transport.peer, ("127.0.0.1", 12000))
        self.assertEqual(transport.sent, [probeDatagram(100)])

    def test_retriesThenTimeout(self) -> None:
        """
        Without a reply, the probe is sent again every timeout / tries
        seconds, and after the last wait the result is a timeout that says
        what silence means.
        """
        protocol, transport, clock = self.start()
        clock.advance(1.0)
        self.assertEqual(len(transport.sent), 2)
        clock.advance(1.0)
        self.assertEqual(len(transport.sent), 3)
        self.assertNoResult(protocol.outcome)
        clock.advance(1.0)
        result = self.successResultOf(protocol.outcome)
        self.assertEqual(result.kind, TIMEOUT)
        self.assertEqual(result.tries, 3)
        self.assertEqual(
            result.message,
            "no reply from 127.0.0.1:12000/udp within 3 s (3 tries): "
            "the port is open or filtered, or a welcome server dropped the "
            "100-byte probe as no larger than its welcome: pad the probe "
            "(--pad 1200)",
        )
        self.assertEqual(len(transport.sent), 3)

    def test_replyTimedFromLastTry(self) -> None:
        """
        A reply ends the probe, timed from the last try, and no more tries
        are sent.
        """
        protocol, transport, clock = self.start()
        clock.advance(1.0)
        clock.advance(0.25)
        protocol.datagramReceived(b"Welcome!\n" + b"x" * 100, ("127.0.0.1", 12000))
        result = self.successResultOf(protocol.outcome)
        self.assertEqual(
            (result.kind, result.tries, result.welcomeSeconds, result.welcome),
            (None, 2, 0.25, b"Welcome!\n" + b"x" * 55),
        )
        self.assertEqual(result.totalSeconds, 0.25)
        clock.advance(10)
        self.assertEqual(len(transport.sent), 2)

    def test_refused(self) -> None:
        """
        An ICMP port unreachable (C{connectionRefused}) ends the probe as
        refused, without more tries.
        """
        protocol, _, clock = self.start()
        protocol.connectionRefused()
        result = self.successResultOf(protocol.outcome)
        self.assertEqual((result.kind, result.tries), (REFUSED, 1))
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_noRetries(self) -> None:
        """
        With no retries, one try gets the whole timeout.
        """
        protocol, transport, clock = self.start(retries=0)
        clock.advance(2.9)
        self.assertNoResult(protocol.outcome)
        clock.advance(0.1)
        self.assertEqual(self.successResultOf(protocol.outcome).tries, 1)
        self.assertEqual(len(transport.sent), 1)


class NeverResolves:
    """
    A reactor whose name resolver never answers, on a L{Clock}.
    """

    def __init__(self) -> None:
        self.clock = Clock()
        self.callLater = self.clock.callLater
        self.nameResolver = self

    def resolveHostName(self, receiver: object, *args: object) -> None:
        """
        Never call the receiver back.
        """


class ResolvingTests(TestCase):
    """
    Resolving a name counts against the probe's timeout.
    """

    def test_resolvingTimesOut(self) -> None:
        """
        A name whose resolution never ends gives a timeout, at the timeout.
        """
        reactor = NeverResolves()
        result = udpProbe(
            cast(UDPProbeReactor, reactor), "example.test", 1, "example.test:1/udp", 5.0
        )
        reactor.clock.advance(4.9)
        self.assertNoResult(result)
        reactor.clock.advance(0.1)
        outcome = self.successResultOf(result)
        self.assertEqual((outcome.kind, outcome.tries), (TIMEOUT, 0))
        self.assertEqual(
            outcome.message,
            "cannot probe example.test:1/udp: timed out after 5 s resolving the "
            "host name",
        )

    def test_cancel(self) -> None:
        """
        Cancelling a probe leaves no timer behind.
        """
        reactor = NeverResolves()
        result = udpProbe(
            cast(UDPProbeReactor, reactor), "example.test", 1, "example.test:1/udp", 5.0
        )
        result.cancel()
        self.failureResultOf(result)
        self.assertEqual(reactor.clock.getDelayedCalls(), [])


class LoopbackTests(TestCase):
    """
    L{udpProbe} with real datagrams on loopback.
    """

    def serve(self, interface: str = "127.0.0.1") -> tuple[int, ServerStats]:
        """
        Start our UDP listener on a free port.
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
        return cast(Any, service.port).getHost().port, stats

    def probe(self, host: str, port: int, **kwargs: Any) -> Deferred[ProbeResult]:
        """
        Probe C{host}:C{port} with the real reactor.
        """
        kwargs.setdefault("timeout", 10.0)
        return udpProbe(
            cast(UDPProbeReactor, reactor), host, port, f"{host}:{port}/udp", **kwargs
        )

    async def test_ourServer(self) -> None:
        """
        Our server answers the padded probe with the welcome, at once.
        """
        port, stats = self.serve()
        result = await self.probe("127.0.0.1", port)
        self.assertEqual(
            (result.kind, result.welcome, result.tries), (None, b"Welcome!\n", 1)
        )
        self.assertEqual(result.address, "127.0.0.1")
        self.assertEqual(stats.datagramBytesIn, 1200)

    async def test_ourServerIPv6(self) -> None:
        """
        The same over IPv6.
        """
        port, _ = self.serve("::1")
        result = await self.probe("::1", port)
        self.assertEqual((result.kind, result.welcome), (None, b"Welcome!\n"))

    async def test_nameResolved(self) -> None:
        """
        A host name is resolved, to the family asked for.
        """
        port, _ = self.serve()
        result = await self.probe("localhost", port, family=4)
        self.assertEqual((result.kind, result.address), (None, "127.0.0.1"))

    async def test_unpaddedProbeUnanswered(self) -> None:
        """
        A probe not larger than the welcome gets no reply from our server:
        a timeout, as silence must be.
        """
        port, stats = self.serve()
        result = await self.probe("127.0.0.1", port, pad=9, timeout=0.6, retries=1)
        self.assertEqual((result.kind, result.tries), (TIMEOUT, 2))
        self.assertEqual(stats.datagramsTooSmall, 2)

    async def test_closedPortRefused(self) -> None:
        """
        A port nothing listens on answers with ICMP port unreachable: the
        probe says refused, long before its timeout.
        """
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        result = await self.probe("127.0.0.1", port, timeout=30.0)
        self.assertEqual(result.kind, REFUSED)
        self.assertEqual(
            result.reason,
            "refused: ICMP port unreachable, nothing listens on that UDP port",
        )

    async def test_silentPortTimesOut(self) -> None:
        """
        A port that is open but never answers gives a timeout after every
        try: open or filtered.
        """
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        result = await self.probe("127.0.0.1", port, timeout=0.9, retries=2)
        self.assertEqual((result.kind, result.tries), (TIMEOUT, 3))
        self.assertIn("open or filtered", result.message)
        received = [silent.recv(65535) for _ in range(3)]
        self.assertEqual(received, [probeDatagram(1200)] * 3)

    async def test_lostFirstTryRetried(self) -> None:
        """
        A server that misses the first datagram answers the second: the
        probe succeeds on its second try.
        """

        class SecondOnly(DatagramProtocol):
            seen = 0

            def datagramReceived(self, datagram: bytes, addr: Any) -> None:
                self.seen += 1
                if self.seen == 2:
                    assert self.transport is not None
                    self.transport.write(b"late", addr)

        server = cast(IReactorUDP, reactor).listenUDP(
            0, SecondOnly(), "127.0.0.1", 8192
        )
        self.addCleanup(server.stopListening)
        port = cast(Any, server).getHost().port
        result = await self.probe("127.0.0.1", port, timeout=0.6, retries=2)
        self.assertEqual(
            (result.kind, result.welcome, result.tries), (None, b"late", 2)
        )

    async def test_unresolvableName(self) -> None:
        """
        A name that does not resolve is a DNS failure.
        """
        result = await self.probe("no-such-host.invalid", 12000)
        self.assertEqual(result.kind, DNS)


class ModesTests(TestCase):
    """
    C{welcome-client --udp} in every mode, against our server on loopback.
    """

    def runClient(self, *argv: str) -> Deferred[tuple[int, str, str, int]]:
        """
        Run the client with C{argv} against a fresh server.

        @return: Fires with the status, stdout and stderr.
        """
        stats = ServerStats(0.0)
        [service] = datagramListeners(
            ["udp:0:interface=127.0.0.1"], DatagramSettings(), reactor, Welcome(), stats
        )
        service.startService()
        self.addCleanup(service.stopService)
        port = cast(Any, service.port).getHost().port
        config = parseArguments(["--udp", *argv, f"127.0.0.1:{port}"], io.StringIO())
        assert config is not None
        out, err = io.StringIO(), io.StringIO()
        done = ClientRun.fromOptions(
            cast(ClientReactor, reactor), config, out, err
        ).start()
        return done.addCallback(
            lambda status: (status, out.getvalue(), err.getvalue(), port)
        )

    async def test_plain(self) -> None:
        """
        The default mode prints the welcome and exits 0.
        """
        status, out, err, _ = await self.runClient()
        self.assertEqual((status, out, err), (0, "Welcome!\n", ""))

    async def test_count(self) -> None:
        """
        C{--count} prints a line per attempt with the reply's time and the
        try, then the summary.
        """
        status, out, _, port = await self.runClient("--count", "2", "--interval", "0.1")
        lines = out.splitlines()
        self.assertEqual(status, 0)
        self.assertRegex(
            lines[0],
            rf"^{STAMP}Welcome from 127\.0\.0\.1:{port}/udp: 9 bytes, "
            r"reply [0-9.]+ ms, try 1$",
        )
        self.assertEqual(lines[-2], "2 attempts, 2 welcomed, 0.0% failed")

    async def test_json(self) -> None:
        """
        C{--json} says the transport and the tries.
        """
        status, out, _, port = await self.runClient("--json")
        attempt, summary = (json.loads(line) for line in out.splitlines())
        self.assertEqual(status, 0)
        self.assertEqual(
            (
                attempt["transport"],
                attempt["tries"],
                attempt["welcome"],
                attempt["port"],
            ),
            ("udp", 1, "Welcome!\n", port),
        )
        self.assertIsNone(attempt["connect_seconds"])
        self.assertEqual(attempt["total_seconds"], attempt["welcome_seconds"])
        self.assertEqual(summary["transport"], "udp")

    async def test_nagios(self) -> None:
        """
        C{--nagios}: OK, naming the UDP port, with the response time.
        """
        status, out, _, port = await self.runClient("--nagios")
        self.assertEqual(status, 0)
        self.assertRegex(
            out,
            rf"^WELCOME OK - [0-9.]+ second response time on 127\.0\.0\.1 UDP port "
            rf"{port} \[Welcome!\]\|time=",
        )

    async def test_expect(self) -> None:
        """
        C{--expect} checks the reply: a mismatch fails with exit 1.
        """
        status, _, err, port = await self.runClient("--expect", "Goodbye")
        self.assertEqual(status, 1)
        self.assertEqual(
            err,
            f"welcome-client: unexpected welcome from 127.0.0.1:{port}/udp: "
            "'Welcome!\\n'\n",
        )
        status, out, _, _ = await self.runClient("--expect", "Welcome")
        self.assertEqual((status, out), (0, "Welcome!\n"))

    async def test_refusedInNagios(self) -> None:
        """
        In C{--nagios}, an ICMP port unreachable is C{--refused}'s state,
        named as such.
        """
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        config = parseArguments(
            ["--udp", "--nagios", "--refused", "warn", f"127.0.0.1:{port}"],
            io.StringIO(),
        )
        assert config is not None
        out = io.StringIO()
        status = await ClientRun.fromOptions(
            cast(ClientReactor, reactor), config, out, io.StringIO()
        ).start()
        self.assertEqual(status, 1)
        self.assertEqual(
            out.getvalue(),
            f"WELCOME WARNING - ICMP port unreachable from 127.0.0.1 UDP port {port}\n",
        )
