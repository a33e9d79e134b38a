# -*- test-case-name: tests.test_builder -*-
"""
The one place a listener is built from its description.

For any description C{--listen} takes (one port, a port range, C{udp:}, a
UDP range), for a C{--workers} process's adopted socket and for the
C{--metrics} port, L{ListenerBuilder.build} returns the listener's
L{IService}: nothing else wraps a listener.  A range is one service
(L{PortRangeService}) with one start-up line and one shutdown line,
whatever its kind.  Every stream listener goes through the same stages:

 1. I{accept}: a L{DirectPort} for every TCP socket (C{tcp:}, C{tcp6:},
    C{ssl:}, C{tls:}, C{systemd:} and an inherited worker socket; see
    L{DirectListeningReactor}), Twisted's port for UNIX sockets; on both,
    running out of descriptors pauses accepting
    (L{PausingAcceptEndpoint}) and an error raised for one connection ends
    that connection only;
 2. I{admission} and I{before the welcome}: the TLS handshake and the PROXY
    header under the admission's deadline and cap
    (L{HandshakeFirstEndpoint}, L{HeaderFirstEndpoint});
 3. the factory's protocol: the welcome, then the idle timer and a close
    that ends.

A C{udp:} listener goes through the same stages for a datagram: I{accept},
a bounded number of datagrams per reactor turn; I{admission}, the size rule
and the reply rate limits; the welcome, the factory's message and counters.

What the listeners of one service share is made once, by the builder: the
warning of running out of descriptors, and for datagrams the reply rate
limiter, the per-turn read budget and the logs of refused datagrams.  So a
range of 10,000 ports reads no more datagrams a turn, and logs no more
lines, than one port.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from twisted.application.service import IService
from twisted.internet.endpoints import AdoptedStreamServerEndpoint, serverFromString
from twisted.internet.interfaces import (
    IProtocolFactory,
    IReactorCore,
    IReactorSocket,
    IReactorTCP,
    IReactorTime,
    IReactorUDP,
    IReactorUNIX,
    IStreamServerEndpoint,
)
from zope.interface import directlyProvides

from welcome_protocol.admission.unfinished import HandshakeGuard
from welcome_protocol.handshaking.handshakes import HandshakeFirstEndpoint
from welcome_protocol.handshaking.proxyheader import HeaderFirstEndpoint, Network
from welcome_protocol.listening.backlog import withBacklog
from welcome_protocol.listening.datagram import DatagramListeningService
from welcome_protocol.listening.directreactor import DirectListeningReactor
from welcome_protocol.listening.directtcp.pausing import shortOfDescriptorsLog
from welcome_protocol.listening.fdexhaustion import PausingAcceptEndpoint
from welcome_protocol.listening.portrange import PortListener, PortRangeService
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.listening.systemdsockets import systemdEndpoint
from welcome_protocol.shared.descriptions import (
    DescriptionError,
    checkTLSPort,
    endpointType,
    explainParseError,
    withoutProxy,
)
from welcome_protocol.shared.portranges import expandPortRange
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.udp.description import isUDP, parseUDPDescription
from welcome_protocol.udp.logs import DatagramLogs
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol, WelcomeSource
from welcome_protocol.udp.ratelimit import ReplyLimiter
from welcome_protocol.udp.readbound import ReadBudget
from welcome_protocol.udp.settings import DatagramSettings

_TLS_KINDS = frozenset({"ssl", "tls"})


class ListenerReactor(IReactorUDP, IReactorTime):
    """
    What the builder needs of a reactor: to listen on UDP, and to tell the
    time (retries after running out of descriptors, the UDP budget and
    rate limits).  Stream listeners listen through Twisted's endpoints,
    which find what they need (L{IReactorTCP}, L{IReactorUNIX},
    L{IReactorSocket}) on the reactor themselves.
    """


class Admitting(Protocol):
    """
    What a listener needs of the admission (L{Admission
    <welcome_protocol.admission.admission.Admission>} has it): the bound on
    unfinished connections, and the counters its pauses are counted in.
    """

    unfinished: HandshakeGuard
    stats: ServerStats


def buildEndpoint(
    reactor: IReactorTime,
    description: str,
    admission: Admitting | None = None,
    proxyFrom: Sequence[Network] | None = None,
    backlog: int | None = None,
    adoptedFD: int | None = None,
    announce: bool = True,
    unfinished: HandshakeGuard | None = None,
    warning: RateLimitedLog | None = None,
) -> PausingAcceptEndpoint:
    """
    Build the endpoint C{description} names, with every stage of the
    pipeline that comes before the factory's protocol.

    @param reactor: The reactor to listen with (the endpoint the
        description names finds the interface it listens with on it) and to
        time the retries after running out of descriptors.
    @param description: An endpoint description, checked already.
    @param admission: The limits, the cap and the deadline on unfinished
        connections, shared with the factory; L{None} for a listener that
        has none (the metrics port).
    @param proxyFrom: The networks that may send a PROXY header; L{None}
        for any address.
    @param backlog: The listen backlog for descriptions that set none;
        L{None} for Twisted's default.
    @param adoptedFD: A listening socket inherited from the parent process
        to accept on instead of the one C{description} names (a
        C{--workers} process); the description still says what goes on top.
    @param announce: Whether the port logs its start and close (the ports
        of a range do not; the range logs one line).
    @param unfinished: For a listener without an admission (the metrics
        port), the deadline and cap on its connections until their PROXY
        header or TLS handshake is complete.
    @param warning: The service's one warning of running out of
        descriptors; L{None} for one of the port's own.
    @raise DescriptionError: If the description is bad, saying why.
    """
    if backlog is not None:
        description = withBacklog(description, backlog)
    guard = unfinished if admission is None else admission.unfinished
    endpoint = endpointLayers(
        # It provides every interface the reactor it wraps provides.
        cast(IReactorCore, DirectListeningReactor(reactor, announce)),
        description,
        guard,
        proxyFrom,
        adoptedFD,
    )
    stats = None if admission is None else admission.stats
    return PausingAcceptEndpoint(endpoint, reactor, stats, warning=warning)


def buildEndpoints(
    reactor: IReactorTime,
    description: str,
    admission: Admitting | None = None,
    proxyFrom: Sequence[Network] | None = None,
    backlog: int | None = None,
    warning: RateLimitedLog | None = None,
) -> list[tuple[str, PausingAcceptEndpoint]]:
    """
    Build an endpoint for each port C{description} names: one for a single
    port, one per port of a range (L{expandPortRange}), each by
    L{buildEndpoint} with the same stages.

    @return: Each port's own description and its endpoint, in port order.
    @raise DescriptionError: If the description is bad, saying why.
    @raise welcome_protocol.shared.portranges.PortRangeError: If its range is.
    """
    singles = expandPortRange(description)
    announce = len(singles) == 1
    return [
        (
            single,
            buildEndpoint(
                reactor,
                single,
                admission,
                proxyFrom,
                backlog,
                announce=announce,
                warning=warning,
            ),
        )
        for single in singles
    ]


def endpointLayers(
    reactor: IReactorCore,
    description: str,
    guard: HandshakeGuard | None = None,
    proxyFrom: Sequence[Network] | None = None,
    adoptedFD: int | None = None,
) -> IStreamServerEndpoint:
    """
    Build the socket, TLS and PROXY layers C{description} names: Twisted's
    endpoint (or an adopted socket's), with the TLS handshake (C{ssl:},
    C{tls:}) and the PROXY header (C{haproxy:}) under C{guard} until the
    welcome.

    @param reactor: The reactor the endpoint listens with: Twisted's
        endpoints take it as an L{IReactorCore} and find the interface they
        listen with on it (C{systemd:} and adopted sockets need
        L{IReactorSocket}).
    @param guard: Bounds the unfinished connections; L{None} to check a
        description only.
    @raise DescriptionError: If the description is bad, saying why.
    """
    checkTLSPort(description)
    inner = withoutProxy(description)
    kind = endpointType(inner)
    try:
        endpoint: IStreamServerEndpoint
        if adoptedFD is not None:
            with socket.socket(fileno=os.dup(adoptedFD)) as inherited:
                family = inherited.family
            endpoint = AdoptedStreamServerEndpoint(
                IReactorSocket(reactor), adoptedFD, family
            )
        elif kind == "systemd":
            endpoint = systemdEndpoint(IReactorSocket(reactor), inner)
        else:
            endpoint = serverFromString(reactor, inner)
    except Exception as e:
        raise DescriptionError(explainParseError(e)) from None
    if guard is not None and kind in _TLS_KINDS:
        endpoint = HandshakeFirstEndpoint(endpoint, guard)
    if inner is not description:
        endpoint = HeaderFirstEndpoint(endpoint, guard, proxyFrom)
    return endpoint


def replyLimiter(reactor: IReactorTime, settings: DatagramSettings) -> ReplyLimiter:
    """
    The rate limiter every C{udp:} listener of a service shares, so that
    its global bucket bounds them all and a source prefix has one budget
    whichever port it sends to.

    @param reactor: Tells the time the buckets refill by.
    @param settings: The limits.
    """
    return ReplyLimiter(
        reactor,
        settings.perPrefix,
        settings.overall,
        settings.tableSize,
        settings.ipv4Prefix,
        settings.ipv6Prefix,
    )


def buildDatagramListener(
    reactor: ListenerReactor,
    description: str,
    source: WelcomeSource,
    stats: ServerStats,
    limiter: ReplyLimiter,
    settings: DatagramSettings,
    budget: ReadBudget | None = None,
    logs: DatagramLogs | None = None,
) -> DatagramListeningService:
    """
    Build the listener a single-port C{udp:} description names.

    @param reactor: Listens (C{listenUDP}) and keeps time.
    @param description: A C{udp:} description of one port, checked already.
    @param source: Holds the welcome: the factory, so that a reload of the
        message file reaches datagrams too.
    @param stats: The counters the datagrams are counted in: the factory's.
    @param limiter: The service's one L{replyLimiter}.
    @param settings: The limits.
    @param budget: The service's one read budget; L{None} for one of the
        port's own.
    @param logs: The service's one set of logs of refused datagrams;
        L{None} for logs of the port's own.
    @raise DescriptionError: If the description is bad, saying why.
    """
    return DatagramListeningService(
        description,
        parseUDPDescription(description),
        reactor,
        WelcomeDatagramProtocol(
            source, limiter, stats, reactor, settings.perTurn, budget, logs
        ),
        settings.maxDatagram,
    )


def serverEndpoint(
    reactor: IReactorCore,
    description: str,
    guard: HandshakeGuard | None = None,
    proxyFrom: Sequence[Network] | None = None,
) -> IStreamServerEndpoint:
    """
    Build the server endpoint C{description} names, without the accept
    stage: see L{endpointLayers}, which this calls, and L{ListenerBuilder},
    which builds the listeners.

    @param reactor: The reactor the endpoint listens with.
    @param guard: Bounds the connections until their PROXY header or TLS
        handshake is done; L{None} to check a description only.
    @param proxyFrom: The networks that may send a PROXY header; L{None}
        for any address.
    @raise DescriptionError: If the description is bad, saying why.
    """
    return endpointLayers(reactor, description, guard, proxyFrom)


class _NotListening:
    """
    A reactor that endpoints can be built with but never listen with: the
    description check at start-up parses a description into its endpoint
    (which holds on to a reactor until it listens) and throws it away.  It
    has no methods at all, so anything that tried to use it would fail at
    once.

    Not Twisted's C{MemoryReactor}, which brings C{twisted.trial} and
    C{unittest} into every process that checks a description.
    """


def checkServerDescription(description: str) -> None:
    """
    Check a server endpoint description without listening.

    @raise DescriptionError: If it is bad, saying why.
    """
    reactor = _NotListening()
    # Declared, so that C{systemd:} finds the interface it would listen
    # with; endpoints only hold on to the reactor until they listen, and
    # this one is thrown away unlistened.
    directlyProvides(reactor, IReactorTCP, IReactorUNIX, IReactorSocket)
    serverEndpoint(cast(IReactorCore, reactor), description)


class _Datagrams:
    """
    What every C{udp:} listener of a service shares: the welcome's source,
    the counters, the reply rate limiter, the per-turn read budget and the
    logs of refused datagrams.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        source: WelcomeSource,
        stats: ServerStats,
        settings: DatagramSettings,
    ) -> None:
        self.source = source
        self.stats = stats
        self.settings = settings
        self.limiter = replyLimiter(reactor, settings)
        self.budget = ReadBudget(reactor, settings.perTurn)
        self.logs = DatagramLogs(reactor)


class ListenerBuilder:
    """
    Build each listener of one service, as a service, with what the
    service's listeners share.

    @ivar acceptPauses: For each stream listener built, its description
        and a function returning how many times accepting on it (on any of
        a range's ports) paused for lack of descriptors.
    @ivar datagramBudget: The read budget every C{udp:} listener shares,
        or L{None} before the first is built.
    """

    def __init__(
        self,
        reactor: ListenerReactor,
        factory: IProtocolFactory,
        admission: Admitting | None = None,
        proxyFrom: Sequence[Network] | None = None,
        backlog: int | None = None,
        unfinished: HandshakeGuard | None = None,
        datagrams: tuple[WelcomeSource, ServerStats, DatagramSettings] | None = None,
    ) -> None:
        """
        @param reactor: Listens, and keeps the time.
        @param factory: Makes each connection's protocol.
        @param admission: The admission of the service's connections; see
            L{buildEndpoint}.
        @param proxyFrom: The networks that may send a PROXY header.
        @param backlog: The listen backlog for descriptions that set none.
        @param unfinished: For a listener without an admission (the metrics
            port), the bound on its unfinished connections.
        @param datagrams: For C{udp:} listeners: where the welcome comes
            from, the counters and the limits; L{None} if there are none.
        """
        self._reactor = reactor
        self._factory = factory
        self._admission = admission
        self._proxyFrom = proxyFrom
        self._backlog = backlog
        self._unfinished = unfinished
        self._datagramParts = datagrams
        self._datagrams: _Datagrams | None = None
        self._warning = shortOfDescriptorsLog(reactor)
        self.acceptPauses: list[tuple[str, Callable[[], int]]] = []

    @property
    def datagramBudget(self) -> ReadBudget | None:
        """
        The read budget every C{udp:} listener shares, once one is built.
        """
        return None if self._datagrams is None else self._datagrams.budget

    def build(
        self, description: str, name: str | None = None, adoptedFD: int | None = None
    ) -> IService:
        """
        Build the listener C{description} names: one port's service, or one
        service for a whole range.

        @param description: A C{--listen} (or C{--metrics}) description,
            checked already; its port may be a range.
        @param name: The listener's name in messages; the description by
            default.
        @param adoptedFD: A listening socket inherited from the parent to
            accept on (a C{--workers} process).
        @raise DescriptionError: If the description is bad, saying why.
        @raise welcome_protocol.shared.portranges.PortRangeError: If its
            range is.
        """
        shown = description if name is None else name
        singles = expandPortRange(description)
        ports: list[PortListener]
        if isUDP(description):
            ports = [self._datagramListener(single) for single in singles]
        else:
            ports = [
                self._streamListener(
                    single,
                    shown if len(singles) == 1 else single,
                    adoptedFD,
                    len(singles) == 1,
                )
                for single in singles
            ]
            counters = [
                listener.endpoint.pauses
                for listener in ports
                if isinstance(listener, ListeningService)
                and isinstance(listener.endpoint, PausingAcceptEndpoint)
            ]
            self.acceptPauses.append((shown, lambda: sum(c() for c in counters)))
        if len(ports) == 1:
            return IService(ports[0])
        return PortRangeService(shown, ports)

    def _streamListener(
        self, description: str, shown: str, adoptedFD: int | None, announce: bool
    ) -> ListeningService:
        endpoint = buildEndpoint(
            self._reactor,
            description,
            self._admission,
            self._proxyFrom,
            self._backlog,
            adoptedFD=adoptedFD,
            announce=announce,
            unfinished=self._unfinished,
            warning=self._warning,
        )
        return ListeningService(shown, endpoint, self._factory, onStop=endpoint.stop)

    def _datagramListener(self, description: str) -> DatagramListeningService:
        if self._datagrams is None:
            if self._datagramParts is None:
                raise DescriptionError("udp: listeners are not served here")
            source, stats, settings = self._datagramParts
            self._datagrams = _Datagrams(self._reactor, source, stats, settings)
        shared = self._datagrams
        return buildDatagramListener(
            self._reactor,
            description,
            shared.source,
            shared.stats,
            shared.limiter,
            shared.settings,
            shared.budget,
            shared.logs,
        )
