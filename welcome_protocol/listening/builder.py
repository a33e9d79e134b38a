# -*- test-case-name: tests.test_builder -*-
"""
The one place a listener is built from its description.

The service's listeners, each C{--workers} process's listener and the
C{--metrics} listener all come from L{buildEndpoint}, so a connection goes
through the same stages on every path.  A description whose port is a
range (C{tcp:20000-20099}) is one listener per port, each built here by
L{buildEndpoints}, the same way as a single one:

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

A C{udp:} listener is built here too (L{buildDatagramListener}), through
the same stages for a datagram: I{accept}, a bounded number of datagrams
per reactor turn; I{admission}, the size rule and the reply rate limits;
the welcome, the factory's message and counters.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twisted.internet.endpoints import AdoptedStreamServerEndpoint, serverFromString
from twisted.internet.interfaces import IStreamServerEndpoint

from welcome_protocol.handshaking.handshakes import (
    HandshakeFirstEndpoint,
    HandshakeGuard,
)
from welcome_protocol.listening.backlog import withBacklog
from welcome_protocol.listening.directreactor import DirectListeningReactor
from welcome_protocol.listening.fdexhaustion import PausingAcceptEndpoint
from welcome_protocol.listening.systemdsockets import systemdEndpoint
from welcome_protocol.shared.descriptions import (
    DescriptionError,
    checkTLSPort,
    endpointType,
    explainParseError,
    withoutProxy,
)
from welcome_protocol.shared.portranges import expandPortRange
from welcome_protocol.udp.description import parseUDPDescription
from welcome_protocol.udp.listener import DatagramListeningService
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol, WelcomeSource
from welcome_protocol.udp.ratelimit import ReplyLimiter
from welcome_protocol.udp.settings import DatagramSettings

if TYPE_CHECKING:
    from welcome_protocol.admission.admission import Admission
    from welcome_protocol.handshaking.proxyheader import Network
    from welcome_protocol.shared.stats import ServerStats

_TLS_KINDS = frozenset({"ssl", "tls"})


def buildEndpoint(
    reactor: Any,
    description: str,
    admission: Admission | None = None,
    proxyFrom: Sequence[Network] | None = None,
    backlog: int | None = None,
    adoptedFD: int | None = None,
    announce: bool = True,
    unfinished: HandshakeGuard | None = None,
) -> PausingAcceptEndpoint:
    """
    Build the endpoint C{description} names, with every stage of the
    pipeline that comes before the factory's protocol.

    @param reactor: The reactor to listen with.
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
    @raise DescriptionError: If the description is bad, saying why.
    """
    if backlog is not None:
        description = withBacklog(description, backlog)
    guard = unfinished if admission is None else admission.unfinished
    endpoint = endpointLayers(
        DirectListeningReactor(reactor, announce),
        description,
        guard,
        proxyFrom,
        adoptedFD,
    )
    stats = None if admission is None else admission.stats
    return PausingAcceptEndpoint(endpoint, reactor, stats)


def buildEndpoints(
    reactor: Any,
    description: str,
    admission: Admission | None = None,
    proxyFrom: Sequence[Network] | None = None,
    backlog: int | None = None,
) -> list[tuple[str, PausingAcceptEndpoint]]:
    """
    Build a listener for each port C{description} names: one for a single
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
                reactor, single, admission, proxyFrom, backlog, announce=announce
            ),
        )
        for single in singles
    ]


def endpointLayers(
    reactor: Any,
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

    @param reactor: The reactor the endpoint listens with.
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
            endpoint = AdoptedStreamServerEndpoint(reactor, adoptedFD, family)
        elif kind == "systemd":
            endpoint = systemdEndpoint(reactor, inner)
        else:
            endpoint = serverFromString(reactor, inner)
    except Exception as e:
        raise DescriptionError(explainParseError(e)) from None
    if guard is not None and kind in _TLS_KINDS:
        endpoint = HandshakeFirstEndpoint(endpoint, guard)
    if inner is not description:
        # Imported here: only haproxy: listeners need the PROXY parser.
        from welcome_protocol.handshaking.proxyheader import HeaderFirstEndpoint

        endpoint = HeaderFirstEndpoint(endpoint, guard, proxyFrom)
    return endpoint


def replyLimiter(reactor: Any, settings: DatagramSettings) -> ReplyLimiter:
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
    reactor: Any,
    description: str,
    source: WelcomeSource,
    stats: ServerStats,
    limiter: ReplyLimiter,
    settings: DatagramSettings,
) -> DatagramListeningService:
    """
    Build the listener a C{udp:} description names.

    @param reactor: Listens (C{listenUDP}) and keeps time.
    @param description: A C{udp:} description, checked already.
    @param source: Holds the welcome: the factory, so that a reload of the
        message file reaches datagrams too.
    @param stats: The counters the datagrams are counted in: the factory's.
    @param limiter: The service's one L{replyLimiter}.
    @param settings: The limits.
    @raise DescriptionError: If the description is bad, saying why.
    """
    return DatagramListeningService(
        description,
        parseUDPDescription(description),
        reactor,
        WelcomeDatagramProtocol(source, limiter, stats, reactor, settings.perTurn),
        settings.maxDatagram,
    )


def serverEndpoint(
    reactor: Any,
    description: str,
    guard: HandshakeGuard | None = None,
    proxyFrom: Sequence[Network] | None = None,
) -> IStreamServerEndpoint:
    """
    Build the server endpoint C{description} names, without the accept
    stage: see L{endpointLayers}, which
    this calls, and L{buildEndpoint},
    which builds the listeners.

    @param reactor: The reactor the endpoint listens with.
    @param guard: Bounds the connections until their PROXY header or TLS
        handshake is done; L{None} to check a description only.
    @param proxyFrom: The networks that may send a PROXY header; L{None}
        for any address.
    @raise DescriptionError: If the description is bad, saying why.
    """
    return endpointLayers(reactor, description, guard, proxyFrom)


def checkServerDescription(description: str) -> None:
    """
    Check a server endpoint description without listening.

    @raise DescriptionError: If it is bad, saying why.
    """
    # Imported here, not at start-up: the test double brings in trial and
    # unittest, which a running service has no use for.
    from twisted.internet.testing import MemoryReactor

    serverEndpoint(MemoryReactor(), description)
