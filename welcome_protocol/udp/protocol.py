# -*- test-case-name: tests.test_udp_protocol -*-
"""
The welcome for datagrams: each datagram answered with the welcome, filled
in for its source, unless a rule says no.

The rules, in the order they are applied (the cheapest first, and none of
them costs a token of the rate limiter unless the reply was sent):

  1. a datagram from port 0, or from the port of a service that answers
     anything (echo 7, qotd 17, chargen 19), is dropped: answering it
     would start a loop between the two services, each answering the other;
  2. a datagram not larger than the welcome gets no reply (L{sizerule}):
     first against the template's literal text, before anything else is
     done, then against the welcome as filled in for this source;
  3. a reply needs a token from its prefix's bucket and the global one
     (L{ratelimit}).  The buckets are looked at before the template is
     filled in (a flood over the limits costs no rendering), but the tokens
     are taken only once the reply has gone out: a datagram too small for
     the rendered welcome, a template that cannot be filled in, or a write
     the socket refuses, costs nobody's budget.

Every datagram is counted under one outcome, in L{ServerStats}, with the
bytes in and out; what is refused or fails is logged through
the service's L{DatagramLogs}, a line per incident and a summary per interval, never a
line per datagram.  Nothing raises out of C{datagramReceived}: Twisted's UDP
port would log every exception, a traceback per datagram.
"""

from __future__ import annotations

from typing import Protocol, cast

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import MessageLengthError
from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from welcome_protocol.greeting.message import Message
from welcome_protocol.shared.addresses import printable
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.logs import DatagramLogs
from welcome_protocol.udp.ratelimit import ReplyLimiter
from welcome_protocol.udp.readbound import (
    DEFAULT_PER_TURN,
    ReadBudget,
    ThroughputBounded,
    TurnBound,
)
from welcome_protocol.udp.sizerule import mayAnswer, smallestWelcome

#: Source ports never answered: port 0 (no real sender uses it) and the
#: services of RFC 862, 865 and 864, which answer whatever they receive.
REFLECTION_PORTS = frozenset({0, 7, 17, 19})


class WelcomeSource(Protocol):
    """
    Where the welcome comes from: the service's
    L{CurrentWelcome<welcome_protocol.greeting.currentwelcome.CurrentWelcome>},
    which the TCP factory holds too and which a reload of the message file
    updates.

    @ivar welcome: The welcome when it has no placeholders.
    @ivar template: The message when it has placeholders, else L{None}.
    """

    welcome: bytes
    template: Message | None


def _source(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class WelcomeDatagramProtocol(DatagramProtocol):
    """
    Answer datagrams with the welcome, within the size rule and the rate
    limits, counting each datagram's outcome.
    """

    _log = Logger()
    noisy = False

    def __init__(
        self,
        source: WelcomeSource,
        limiter: ReplyLimiter,
        stats: ServerStats,
        clock: IReactorTime,
        perTurn: int = DEFAULT_PER_TURN,
        budget: ReadBudget | None = None,
        logs: DatagramLogs | None = None,
    ) -> None:
        """
        @param source: Holds the welcome (and its template) to send.
        @param limiter: Grants the tokens replies need; one is shared by
            every UDP listener, so the global bucket bounds them all.
        @param stats: The counters of the stats line and the metrics.
        @param clock: Fills in C{{time}}, and times the logs and the
            per-turn bound.
        @param perTurn: Datagrams read per reactor turn at most, when the
            port has a budget of its own.
        @param budget: The read budget every UDP listener of the service
            shares; L{None} for one of this port's own, of C{perTurn}.
        @param logs: The logs of refused datagrams every UDP listener of the
            service shares; L{None} for logs of this port's own.
        """
        self._welcomeSource = source
        self._limiter = limiter
        self.stats = stats
        self._clock = clock
        self._perTurn = perTurn
        self._bound: TurnBound | None = None
        self._host: IAddress | None = None
        self._hostPerDatagram = False
        self._smallest: tuple[Message | None, int] = (None, 0)
        self._budget = budget
        # Shared with every UDP listener of the service (the builder's), so
        # that a range logs one line per incident, not one per port.
        self._logs = DatagramLogs(clock) if logs is None else logs
        self._limitedLog = self._logs.limited
        self._droppedLog = self._logs.dropped
        self._tooSmallLog = self._logs.tooSmall
        self._renderLog = self._logs.render

    def startProtocol(self) -> None:
        """
        Bound the port's reads per turn, and note its address for
        C{{server_host}} and C{{server_port}}.
        """
        transport = self.transport
        assert transport is not None
        self._host = transport.getHost()
        # A TPROXY port answers for many addresses: its getHost() is the
        # current datagram's destination.
        self._hostPerDatagram = bool(getattr(transport, "hostPerDatagram", False))
        # The transport is a UDP port whose read loop checks maxThroughput
        # (ours, or Twisted's udp.Port: a public attribute, not part of
        # IUDPTransport) and that can stop and start reading.
        self._bound = TurnBound(
            cast(ThroughputBounded, transport), self._clock, self._perTurn, self._budget
        )

    def stopProtocol(self) -> None:
        """
        Stop the per-turn bound and log what the rate-limited logs hold.
        """
        if self._bound is not None:
            self._bound.stop()
        self._logs.flush()

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        """
        Answer one datagram, or count why not.
        """
        stats = self.stats
        size = len(datagram)
        stats.datagramBytesIn += size
        if self._bound is not None:
            self._bound.read()
        host, port = addr[0], addr[1]
        if port in REFLECTION_PORTS:
            stats.datagramsDropped += 1
            self._droppedLog.emit(
                "UDP: dropped a datagram from {source}: port {port} would make a "
                "reflection loop",
                source=_source(host, port),
                port=port,
            )
            return
        source = self._welcomeSource
        template = source.template
        welcome = source.welcome
        smallest = len(welcome) if template is None else self._smallestOf(template)
        if not mayAnswer(smallest, size):
            self._tooSmall(host, port, size, smallest)
            return
        limiter = self._limiter
        slot = limiter.available(host)
        if slot is None:
            stats.datagramsRateLimited += 1
            self._limitedLog.emit(
                "UDP: not answering {source}: over the reply rate limit "
                "(its prefix's or the global one)",
                source=_source(host, port),
            )
            return
        if template is not None:
            rendered = self._render(template, host, port)
            if rendered is None:
                return
            if not mayAnswer(len(rendered), size):
                self._tooSmall(host, port, size, len(rendered))
                return
            welcome = rendered
        transport = self.transport
        assert transport is not None
        try:
            transport.write(welcome, (host, port))
        except (OSError, MessageLengthError) as e:
            # A full send buffer (EAGAIN) or a local error: the datagram is
            # lost, as UDP allows; a flood must not raise per datagram.  No
            # token is taken for a reply that did not go out.
            stats.datagramsDropped += 1
            self._droppedLog.emit(
                "UDP: cannot answer {source}: {why}",
                source=_source(host, port),
                why=(getattr(e, "strerror", None) or str(e)).lower(),
            )
            return
        limiter.spend(slot)
        stats.datagramsAnswered += 1
        stats.datagramBytesOut += len(welcome)

    def _render(self, template: Message, host: str, port: int) -> bytes | None:
        """
        Fill in the template for one source, or count and log why not.

        The template was tried with the most unlikely addresses when it was
        loaded, but a failure here must still stay with this datagram: it
        is counted as dropped and logged rate-limited, never raised.

        @return: The welcome for this source, or L{None} if it failed.
        """
        try:
            return template.render(
                self._peer(host, port), self._hostAddress(), self._clock.seconds()
            )
        except Exception as e:
            self.stats.datagramsDropped += 1
            self._renderLog.emit(
                "UDP: not answering {source}: the message could not be filled "
                "in for it ({why})",
                source=_source(host, port),
                why=printable(f"{type(e).__name__}: {e}"),
            )
            return None

    def _tooSmall(self, host: str, port: int, size: int, welcome: int) -> None:
        self.stats.datagramsTooSmall += 1
        self._tooSmallLog.emit(
            "UDP: not answering {source}: its {size}-byte datagram is not larger "
            "than the {welcome}-byte welcome (pad the probe)",
            source=_source(host, port),
            size=size,
            welcome=welcome,
        )

    def _smallestOf(self, template: Message) -> int:
        cached, smallest = self._smallest
        if cached is not template:
            smallest = smallestWelcome(template)
            self._smallest = (template, smallest)
        return smallest

    def _peer(self, host: str, port: int) -> IAddress:
        if ":" in host:
            return IPv6Address("UDP", host, port)
        return IPv4Address("UDP", host, port)

    def _hostAddress(self) -> IAddress:
        if self._hostPerDatagram:
            transport = self.transport
            assert transport is not None
            return transport.getHost()
        assert self._host is not None
        return self._host
