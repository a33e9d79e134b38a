"""
Tests for L{welcome_protocol.udp.protocol}.
"""

from __future__ import annotations

import errno
from typing import cast

from attrs import define
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress, IUDPTransport
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from welcome_protocol.greeting.currentwelcome import CurrentWelcome
from welcome_protocol.greeting.message import Message, parseMessage
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.protocol import (
    REFLECTION_PORTS,
    WelcomeDatagramProtocol,
    WelcomeSource,
)
from welcome_protocol.udp.ratelimit import RateLimit, ReplyLimiter

SOURCE = ("192.0.2.10", 40000)
PADDED = b"\0" * 1200
PER_PREFIX = RateLimit(100.0, 200)
OVERALL = RateLimit(1000.0, 2000)


@define
class Welcome:
    """
    A welcome source, as the TCP factory is one.
    """

    welcome: bytes = b"Welcome!\n"
    template: Message | None = None


class UnrenderableMessage(Message):
    """
    A template that fails whenever it is filled in, as one might for an
    address nobody foresaw.
    """

    def render(self, peer: IAddress, host: IAddress, now: float) -> bytes:
        """
        Fail.
        """
        raise ValueError("no such address")


class FakeUDPPort:
    """
    The parts of Twisted's UDP port the protocol uses.
    """

    maxThroughput = 256 * 1024

    def __init__(self, fail: OSError | None = None) -> None:
        self.sent: list[tuple[bytes, tuple[str, int]]] = []
        self.fail = fail

    def write(self, datagram: bytes, addr: tuple[str, int]) -> None:
        """
        Record a datagram sent, or fail as the port was told to.
        """
        if self.fail is not None:
            raise self.fail
        self.sent.append((datagram, addr))

    def getHost(self) -> IAddress:
        """
        The port's own address.
        """
        return IPv4Address("UDP", "198.51.100.1", 12000)


class WelcomeDatagramProtocolTests(TestCase):
    """
    L{WelcomeDatagramProtocol} answers datagrams within the rules and
    counts each one's outcome.
    """

    def setUp(self) -> None:
        """
        A protocol on a fake port, with the default limits and a L{Clock}.
        """
        self.events: list[LogEvent] = []
        observer = cast(ILogObserver, self.events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.build()

    def build(
        self,
        source: WelcomeSource | None = None,
        port: FakeUDPPort | None = None,
        perTurn: int = 64,
        perPrefix: RateLimit = PER_PREFIX,
        overall: RateLimit = OVERALL,
    ) -> None:
        """
        (Re)build the protocol under test.
        """
        self.clock = Clock()
        self.stats = ServerStats(0.0)
        self.source = Welcome() if source is None else source
        self.port = FakeUDPPort() if port is None else port
        limiter = ReplyLimiter(self.clock, perPrefix, overall, 1024)
        self.protocol = WelcomeDatagramProtocol(
            self.source, limiter, self.stats, self.clock, perTurn
        )
        # The double has only what the protocol uses of Twisted's udp.Port.
        self.protocol.makeConnection(cast(IUDPTransport, self.port))

    def udpLines(self) -> list[LogEvent]:
        """
        @return: The log events the protocol emitted.
        """
        return [e for e in self.events if "UDP" in str(e.get("log_format", ""))]

    def test_paddedDatagramAnswered(self) -> None:
        """
        A datagram larger than the welcome gets the welcome, sent to its
        source, counted as answered with its bytes.
        """
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(self.port.sent, [(b"Welcome!\n", SOURCE)])
        self.assertEqual(self.stats.datagramsAnswered, 1)
        self.assertEqual(self.stats.datagramBytesIn, 1200)
        self.assertEqual(self.stats.datagramBytesOut, 9)

    def test_shortDatagramNotAnswered(self) -> None:
        """
        A datagram smaller than the welcome, or of its size, gets nothing
        and is counted as too small.
        """
        for size in (0, 1, 8, 9):
            self.protocol.datagramReceived(b"x" * size, SOURCE)
        self.assertEqual(self.port.sent, [])
        self.assertEqual(self.stats.datagramsTooSmall, 4)
        self.assertEqual(self.stats.datagramBytesIn, 18)
        self.assertEqual(self.stats.datagramBytesOut, 0)

    def test_oneByteLargerAnswered(self) -> None:
        """
        A datagram one byte larger than the welcome is answered.
        """
        self.protocol.datagramReceived(b"x" * 10, SOURCE)
        self.assertEqual(len(self.port.sent), 1)

    def test_reflectionPortsDropped(self) -> None:
        """
        Datagrams from port 0, echo, qotd and chargen are dropped unanswered.
        """
        self.assertEqual(REFLECTION_PORTS, {0, 7, 17, 19})
        for port in sorted(REFLECTION_PORTS):
            self.protocol.datagramReceived(PADDED, ("192.0.2.10", port))
        self.assertEqual(self.port.sent, [])
        self.assertEqual(self.stats.datagramsDropped, 4)
        self.assertEqual(self.stats.datagramBytesIn, 4800)

    def test_rateLimited(self) -> None:
        """
        Past its prefix's burst, a source gets nothing more until its bucket
        refills; those datagrams count as rate limited.
        """
        for _ in range(250):
            self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(len(self.port.sent), 200)
        self.assertEqual(self.stats.datagramsRateLimited, 50)
        self.clock.advance(0.1)
        for _ in range(50):
            self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(len(self.port.sent), 210)

    def test_outcomesAddUp(self) -> None:
        """
        Every datagram is counted under exactly one outcome.
        """
        for n in range(300):
            size = 1200 if n % 3 else 4
            port = 19 if n % 7 == 0 else 40000
            self.protocol.datagramReceived(b"x" * size, ("192.0.2.1", port))
        stats = self.stats
        self.assertEqual(
            stats.datagramsAnswered
            + stats.datagramsTooSmall
            + stats.datagramsRateLimited
            + stats.datagramsDropped,
            300,
        )

    def test_templateFilledForSource(self) -> None:
        """
        Placeholders are filled in for the datagram's source and the
        listener's address.
        """
        template = parseMessage(
            "{peer_host}:{peer_port} -> {server_host}:{server_port}",
            "utf-8",
            "--message",
        )
        self.build(Welcome(b"", template))
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(
            self.port.sent, [(b"192.0.2.10:40000 -> 198.51.100.1:12000", SOURCE)]
        )

    def test_ipv6Source(self) -> None:
        """
        An IPv6 source is answered, and named as IPv6 in the welcome.
        """
        template = parseMessage("you are {peer_host}", "utf-8", "--message")
        self.build(Welcome(b"", template))
        self.protocol.datagramReceived(PADDED, ("2001:db8::5", 40000))
        self.assertEqual(
            self.port.sent, [(b"you are 2001:db8::5", ("2001:db8::5", 40000))]
        )

    def test_templateTooLargeForDatagram(self) -> None:
        """
        A rendered welcome not smaller than the datagram is not sent, even
        when the template's literal text alone would fit.
        """
        template = parseMessage("{peer_host}", "utf-8", "--message")
        self.build(Welcome(b"", template))
        self.protocol.datagramReceived(b"x" * 10, SOURCE)
        self.assertEqual(self.port.sent, [])
        self.assertEqual(self.stats.datagramsTooSmall, 1)

    def test_reloadedMessageUsed(self) -> None:
        """
        A new welcome in the source (after SIGHUP) is sent from then on.
        """
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.source.welcome = b"Hello again\n"
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(
            [d for d, _ in self.port.sent], [b"Welcome!\n", b"Hello again\n"]
        )

    def test_sendFailureCountedNotRaised(self) -> None:
        """
        A reply the kernel will not take (a full send buffer) is counted as
        dropped; the datagram does not raise into the reactor.
        """
        self.build(
            port=FakeUDPPort(OSError(errno.EAGAIN, "Resource temporarily unavailable"))
        )
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(self.stats.datagramsDropped, 1)
        self.assertEqual(self.stats.datagramsAnswered, 0)

    def test_tooSmallForRenderedTakesNoToken(self) -> None:
        """
        Datagrams larger than the template's literal text but not than the
        welcome filled in for their source are all too small, however many:
        none takes a token, so none is ever counted as rate limited, and a
        padded datagram from the same source is answered afterwards.
        """
        template = parseMessage("you are {peer_host}", "utf-8", "--message")
        self.build(Welcome(b"", template))
        small = b"x" * 12
        for _ in range(300):
            self.protocol.datagramReceived(small, SOURCE)
        self.assertEqual(
            (self.stats.datagramsTooSmall, self.stats.datagramsRateLimited),
            (300, 0),
        )
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(self.port.sent, [(b"you are 192.0.2.10", SOURCE)])

    def test_tooSmallSprayDoesNotStarveOthers(self) -> None:
        """
        A spray of datagrams too small for the rendered welcome, from 4,000
        /24 prefixes, leaves the global bucket full: a padded probe from an
        untouched prefix is answered at once.
        """
        template = parseMessage("you are {peer_host}", "utf-8", "--message")
        self.build(
            Welcome(b"", template),
            perPrefix=RateLimit(1.0, 1),
            overall=RateLimit(1.0, 10),
        )
        for n in range(4000):
            source = (f"10.{n // 256}.{n % 256}.1", 40000)
            self.protocol.datagramReceived(b"x" * 12, source)
        self.assertEqual(self.stats.datagramsTooSmall, 4000)
        self.protocol.datagramReceived(PADDED, ("203.0.113.9", 40000))
        self.assertEqual(
            self.port.sent, [(b"you are 203.0.113.9", ("203.0.113.9", 40000))]
        )

    def test_sendFailureTakesNoToken(self) -> None:
        """
        A reply the socket refuses costs no token: with a burst of one, the
        source is answered once the socket takes replies again.
        """
        port = FakeUDPPort(OSError(errno.EAGAIN, "Resource temporarily unavailable"))
        self.build(port=port, perPrefix=RateLimit(1.0, 1), overall=RateLimit(1.0, 1))
        for _ in range(5):
            self.protocol.datagramReceived(PADDED, SOURCE)
        port.fail = None
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(self.port.sent, [(b"Welcome!\n", SOURCE)])
        self.assertEqual(
            (self.stats.datagramsDropped, self.stats.datagramsRateLimited), (5, 0)
        )

    def test_renderFailureContained(self) -> None:
        """
        A template that cannot be filled in for a source never raises into
        Twisted's UDP port (which would log a traceback per datagram): each
        datagram is counted as dropped, the first logged, the rest summed up
        in one line per interval, and no token is taken.
        """
        template = UnrenderableMessage(None, (("hi ", "peer_host"),), "utf-8")
        self.build(Welcome(b"", template), perPrefix=RateLimit(1.0, 1))
        for _ in range(1000):
            self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(self.stats.datagramsDropped, 1000)
        self.assertEqual(self.stats.datagramsRateLimited, 0)
        self.assertEqual(self.port.sent, [])
        lines = [e for e in self.udpLines() if "filled" in e["log_format"]]
        self.assertEqual(len(lines), 1)
        self.assertIn("no such address", lines[0]["why"])
        for _ in range(1000):
            self.protocol.datagramReceived(PADDED, SOURCE)
        self.clock.advance(10)
        lines = [e for e in self.udpLines() if "filled" in e["log_format"]]
        self.assertEqual(len(lines), 2)
        self.assertEqual(lines[1]["count"], 1999)

    def test_currentWelcomeReloadReachesDatagrams(self) -> None:
        """
        Given the service's L{CurrentWelcome}, which the TCP factory holds
        too, a new message set on it (SIGHUP) is what datagrams get next.
        """
        current = CurrentWelcome(b"Welcome!\n")
        self.build(current)
        self.protocol.datagramReceived(PADDED, SOURCE)
        current.setMessage(parseMessage("to {peer_host}", "utf-8", "--message"))
        self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(
            [d for d, _ in self.port.sent], [b"Welcome!\n", b"to 192.0.2.10"]
        )

    def test_floodLogsFewLines(self) -> None:
        """
        A flood of refused datagrams of each kind logs a line per kind, and
        one summary per kind when the interval ends: never a line each.
        """
        for _ in range(1000):
            self.protocol.datagramReceived(PADDED, SOURCE)
            self.protocol.datagramReceived(b"x", SOURCE)
            self.protocol.datagramReceived(PADDED, ("192.0.2.10", 7))
        self.assertEqual(len(self.udpLines()), 3)
        self.clock.advance(10)
        self.assertEqual(len(self.udpLines()), 6)

    def test_readsBoundedPerTurn(self) -> None:
        """
        After its share of datagrams in a turn, the port's read loop is
        told to stop; the next turn it reads again.
        """
        self.build(perTurn=4)
        for _ in range(4):
            self.protocol.datagramReceived(PADDED, SOURCE)
        self.assertEqual(self.port.maxThroughput, 0)
        self.clock.advance(0)
        self.assertEqual(self.port.maxThroughput, 256 * 1024)

    def test_stopFlushesLogs(self) -> None:
        """
        Stopping logs the summaries still pending and leaves no timer.
        """
        for _ in range(300):
            self.protocol.datagramReceived(PADDED, SOURCE)
        self.protocol.doStop()
        self.assertEqual(len(self.udpLines()), 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])
