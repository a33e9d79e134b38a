# -*- test-case-name: tests.test_exporter_probing -*-
"""
The exporter's one way into the client's probe code.

Every call the exporter makes into L{welcome_protocol.client} is in this
module, so that a change of the client's interface is met here, once.  The
exporter never copies the client: the welcome probe, the UDP probe, name
resolution, the endpoints, TLS and the classification of failures are the
client's.  What is added here is what the client has no mode for:
blackbox_exporter's C{tcp} prober without C{query_response}, which only
connects (and completes the TLS handshake), and a source address to connect
from.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.client import probe as _probe
from welcome_protocol.client import tls as _tls
from welcome_protocol.client import udpprobe as _udpprobe
from welcome_protocol.client.checks import MISMATCH
from welcome_protocol.client.hostnames import checkHostName, checkServerName
from welcome_protocol.client.probe import ProbeResult, TLSDetails
from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.client.scan import resolve as _resolve
from welcome_protocol.client.scan import states as _states
from welcome_protocol.client.target import addressFamily, describeTarget, splitHostPort

__all__ = [
    "CLOSED_WITHOUT_WELCOME",
    "DNS",
    "MISMATCH",
    "REFUSED",
    "TIMEOUT",
    "TLS",
    "ProbeResult",
    "TLSDetails",
    "addressFamily",
    "asExpected",
    "checkHostName",
    "checkServerName",
    "connectOnly",
    "describeTarget",
    "portState",
    "resolveAddress",
    "splitHostPort",
    "tlsOptions",
    "udpProbe",
    "welcomeProbe",
]

DNS = _probe.DNS
REFUSED = _probe.REFUSED
TIMEOUT = _probe.TIMEOUT
CLOSED_WITHOUT_WELCOME = _probe.CLOSED_WITHOUT_WELCOME
TLS = _probe.TLS


def portState(result: ProbeResult) -> str:
    """
    The client's name for what a port showed: C{welcomed}, C{refused},
    C{timeout} (no connection, or for UDP no reply), C{silent}, C{closed},
    C{mismatch}, or the failure's kind.
    """
    return _states.stateOf(result)


def asExpected(state: str, expectClosed: bool) -> bool:
    """
    The client's judgement: a welcome for a port expected open; a refusal
    or a timeout for a port expected closed.
    """
    return _states.asExpected(state, expectClosed)


def resolveAddress(
    reactor: ClientReactor, host: str, family: int
) -> Deferred[str | None]:
    """
    Resolve C{host} to one address of C{family}, without blocking.

    @param reactor: Provides C{nameResolver}.
    @param family: 4 or 6.
    @return: Fires with the first address of that family (C{host} itself
        if it is an address of that family), or L{None} if there is none.
    """
    literal = addressFamily(host)
    if literal is not None:
        found: Deferred[str | None] = Deferred()
        found.callback(host if literal == family else None)
        return found
    return _resolve.resolveHost(reactor, host, family)


def tlsOptions(serverName: str, caFile: str | None) -> Any:
    """
    The client's verified TLS: the certificate must be valid for
    C{serverName} and signed by C{caFile}'s certificates (or the platform's
    roots).

    @raise ValueError: If C{caFile} cannot be read, saying why.
    """
    return _tls.clientTLSOptions(serverName, caFile)


def _endpoint(
    reactor: ClientReactor,
    address: str,
    port: int,
    timeout: float,
    tls: Any,
    source: str | None,
) -> IStreamClientEndpoint:
    """
    The endpoint for one port of an address already resolved, from
    C{source} if given (the client has no source address option, so the
    endpoint is Twisted's own), wrapped in TLS if C{tls} is a connection
    creator.
    """
    bindAddress = None if source is None else (source, 0)
    endpoint: IStreamClientEndpoint
    if addressFamily(address) == 6:
        endpoint = TCP6ClientEndpoint(
            reactor, address, port, timeout=timeout, bindAddress=bindAddress
        )
    else:
        endpoint = TCP4ClientEndpoint(
            reactor, address, port, timeout=timeout, bindAddress=bindAddress
        )
    return endpoint if tls is None else wrapClientTLS(tls, endpoint)


def welcomeProbe(
    reactor: ClientReactor,
    address: str,
    port: int,
    target: str,
    timeout: float,
    tls: Any = None,
    source: str | None = None,
) -> Deferred[ProbeResult]:
    """
    The client's welcome probe of one resolved address: connect (and
    complete the TLS handshake), read the welcome until the server closes
    or goes quiet, within C{timeout}.

    @param target: How the messages name the server.
    @param tls: A connection creator from L{tlsOptions}, or L{None}.
    @param source: The address to connect from, or L{None}.
    @return: Fires with the client's L{ProbeResult}; cancelling it aborts.
    """
    endpoint = _QuietEndpoint(_endpoint(reactor, address, port, timeout, tls, source))
    return _probe.probe(endpoint, reactor, target, timeout)


@implementer(IStreamClientEndpoint)
class _QuietEndpoint:
    """
    Connect with a factory that does not log its start and stop: a scrape
    of a thousand ports would log two thousand lines.
    """

    def __init__(self, endpoint: IStreamClientEndpoint) -> None:
        self._endpoint = endpoint

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect C{protocolFactory}, made quiet.
        """
        if isinstance(protocolFactory, Factory):
            protocolFactory.noisy = False
        return self._endpoint.connect(protocolFactory)


class _ConnectOnlyProtocol(_probe.WelcomeClientProtocol):
    """
    The client's protocol, finished as soon as the connection (and, over
    TLS, its handshake) is made: blackbox_exporter's C{tcp} prober with no
    C{query_response} asks no more.

    The client's protocol keeps the time of the connection and the
    handshake's details, and classifies a connection lost before the end
    (a TLS failure) as the welcome probe does.

    @cvar expectHandshake: Whether to wait for a TLS handshake.
    """

    expectHandshake = False

    def connectionMade(self) -> None:
        """
        Note the time; done unless a TLS handshake is to come.
        """
        super().connectionMade()
        if not self.expectHandshake:
            self.finish()

    def handshakeCompleted(self) -> None:
        """
        Note the certificate, and finish.
        """
        super().handshakeCompleted()
        self.finish()


class _TLSConnectOnlyProtocol(_ConnectOnlyProtocol):
    """
    L{_ConnectOnlyProtocol} over TLS: finished once the handshake is.
    """

    expectHandshake = True


def connectOnly(
    reactor: ClientReactor,
    address: str,
    port: int,
    target: str,
    timeout: float,
    tls: Any = None,
    source: str | None = None,
    now: _probe.Now | None = None,
) -> Deferred[ProbeResult]:
    """
    Connect to one resolved address (and complete the TLS handshake), then
    close, within C{timeout}.

    @param now: The monotonic clock that times the connection; the
        client's own by default.
    @return: Fires with a L{ProbeResult} whose C{kind} is L{None} once
        connected (with the handshake's C{tls} details), or the client's
        kind of failure; cancelling it aborts.
    """
    clock: IReactorTime = reactor
    factory = _probe.WelcomeClientFactory(target, clock, now=now or time.monotonic)
    factory.protocol = (
        _TLSConnectOnlyProtocol if tls is not None else _ConnectOnlyProtocol
    )
    factory.noisy = False
    started = factory.now()
    endpoint = _endpoint(reactor, address, port, timeout, tls, source)
    timedOut = False

    def connected(protocol: Any) -> Deferred[bytes]:
        received: Deferred[bytes] = protocol.received
        return received

    connecting = endpoint.connect(factory).addCallback(connected)

    def expire() -> None:
        nonlocal timedOut
        timedOut = True
        connecting.cancel()

    deadline = clock.callLater(timeout, expire)

    def done(outcome: object) -> ProbeResult:
        if deadline.active():
            deadline.cancel()
        protocol = factory.connected
        connectSeconds = None
        peer = None
        details = None
        if protocol is not None and protocol.connectedAt is not None:
            connectSeconds = protocol.connectedAt - started
            details = protocol.tls
            if protocol.transport is not None:
                peer = _probe.describeAddress(protocol.transport.getPeer())
        if not isinstance(outcome, Failure):
            return ProbeResult(
                None, address=peer, connectSeconds=connectSeconds, tls=details
            )
        # An endpoint reports its cancellation as ConnectingCancelledError.
        if outcome.check(CancelledError, ConnectingCancelledError) and timedOut:
            why = f"timed out after {timeout:g} s connecting"
            return ProbeResult(TIMEOUT, f"{why} to {target}", why)
        # The client's protocol fails its welcome with its own exception,
        # which carries the kind and the messages (a TLS failure).
        kind = getattr(outcome.value, "kind", None)
        if isinstance(kind, str):
            message = str(getattr(outcome.value, "message", ""))
            return ProbeResult(kind, message, str(getattr(outcome.value, "reason", "")))
        failed = _probe.classifyConnectFailure(target, outcome)
        return ProbeResult(failed.kind, failed.message, failed.reason)

    def cancelled(_: Deferred[ProbeResult]) -> None:
        if deadline.active():
            deadline.cancel()
        connecting.cancel()

    result: Deferred[ProbeResult] = Deferred(cancelled)

    def deliver(outcome: object) -> None:
        if result.called:
            return
        if (
            isinstance(outcome, Failure)
            and outcome.check(CancelledError, ConnectingCancelledError)
            and not timedOut
        ):
            return
        result.callback(done(outcome))

    connecting.addBoth(deliver)
    return result


def udpProbe(
    reactor: ClientReactor,
    address: str,
    port: int,
    target: str,
    timeout: float,
    pad: int,
    retries: int,
) -> Deferred[ProbeResult]:
    """
    The client's UDP probe of one resolved address: a padded datagram, sent
    again C{retries} times, until a reply, an ICMP refusal or C{timeout}.

    @return: Fires with a L{ProbeResult}: a reply (C{kind} L{None}),
        L{REFUSED}, or L{TIMEOUT} (the port is open or filtered).
    """
    return _udpprobe.udpProbe(
        reactor, address, port, target, timeout, retries=retries, pad=pad
    )


DEFAULT_UDP_PAD = _udpprobe.DEFAULT_PAD
DEFAULT_UDP_RETRIES = _udpprobe.DEFAULT_RETRIES
MAX_UDP_PAD = _udpprobe.MAX_PAD


def certificateExpiry(details: TLSDetails | None) -> datetime.datetime | None:
    """
    @return: When the server's certificate expires (UTC), if the handshake
        showed one.
    """
    return None if details is None else details.notAfter
