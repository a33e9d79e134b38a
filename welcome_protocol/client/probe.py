# -*- test-case-name: tests.test_client_probe -*-
"""
One probe: connect, read the welcome, time both, and classify any failure.

The tutorial's client does C{recv(1024)} once and prints it.  This one reads
until the server closes the connection, or until the server has gone quiet
for a moment after greeting (servers that never hang up, like the tutorial's
own), or until it has enough; whatever happens, it finishes within its
timeout and says in one line what went wrong.

However a probe ends on its own (a welcome, a refusal, a timeout, ...),
its L{Deferred} fires with a L{ProbeResult} whose C{kind} names the
failure, so repeating probes and printing them in any format is the
caller's business, not this module's.  It errbacks only when it is
cancelled, and then always with L{CancelledError}.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

import attrs
from twisted.internet import error
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHandshakeListener,
    IProtocol,
    IReactorTime,
    ISSLTransport,
    IStreamClientEndpoint,
    ITCPTransport,
)
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.client.resolving import DOES_NOT_RESOLVE, NameNotResolved

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 65536
QUIET_PERIOD = 0.25
"""
Seconds of silence after the first bytes that count as the end of the welcome
from a server that keeps the connection open.
"""

REFUSED = "refused"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
DNS = "dns"
CLOSED_WITHOUT_WELCOME = "closed_without_welcome"
TLS = "tls"
FAILURE_KINDS = (REFUSED, TIMEOUT, UNREACHABLE, DNS, CLOSED_WITHOUT_WELCOME, TLS)
"""
The failures a probe tells apart; the JSON output's C{kind} values (with the
checks' C{mismatch} and C{certificate}).
"""

Now = Callable[[], float]
Complete = Callable[[bytes], bool]
"""
Whether the bytes received so far are the whole welcome.
"""


@attrs.frozen
class TLSDetails:
    """
    What the TLS handshake showed.

    @ivar version: The protocol, e.g. C{TLSv1.3}.
    @ivar notAfter: When the server's certificate expires (UTC), if it sent one.
    """

    version: str
    notAfter: datetime.datetime | None


@attrs.frozen
class ProbeResult:
    """
    The outcome of one probe.

    @ivar kind: L{None} if a welcome arrived, otherwise one of
        L{FAILURE_KINDS}.
    @ivar message: The one line saying what went wrong (naming the target),
        as the default mode prints it; empty on success.
    @ivar reason: The same without the target, for per-attempt lines.
    @ivar address: The peer that answered (an IP address or a socket path),
        or L{None} if no connection was made.
    @ivar connectSeconds: Seconds from the start to the connection, by a
        monotonic clock; L{None} if it never connected.
    @ivar welcomeSeconds: Seconds from the connection to the last byte of the
        welcome (the quiet period that ended it is not counted); L{None}
        without a welcome.
    @ivar welcome: The bytes received.
    @ivar tls: The handshake's details, for TLS connections that completed it.
    @ivar certificateLevel: C{"warning"} or C{"critical"} when the checks
        found the certificate expiring soon (kind C{certificate}).
    @ivar truncated: Whether the welcome reached C{--max-bytes}, and the
        rest (if any) was not read.
    @ivar tries: For a UDP probe, the datagrams sent (its C{welcomeSeconds}
        is the time from the last one to the reply, and there is no
        connection to time); L{None} for TCP.
    """

    kind: str | None
    message: str = ""
    reason: str = ""
    address: str | None = None
    connectSeconds: float | None = None
    welcomeSeconds: float | None = None
    welcome: bytes = b""
    tls: TLSDetails | None = None
    certificateLevel: str | None = None
    tries: int | None = None
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """
        Whether the welcome arrived (and every check passed).
        """
        return self.kind is None

    @property
    def totalSeconds(self) -> float | None:
        """
        Seconds from the start to the welcome: what thresholds and summaries
        measure, like C{check_tcp}'s response time.  For UDP, there is no
        connection: it is the reply's round trip.
        """
        if self.welcomeSeconds is None:
            return None
        if self.tries is not None:
            return self.welcomeSeconds
        if self.connectSeconds is None:
            return None
        return self.connectSeconds + self.welcomeSeconds


class _ProbeFailed(Exception):
    """
    Internal: a probe failed as C{kind}; C{message} and C{reason} say how.
    """

    def __init__(self, kind: str, message: str, reason: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.reason = reason


_connectionDone = Failure(error.ConnectionDone())


def describeAddress(address: IAddress) -> str | None:
    """
    @return: The host part of a peer address (C{127.0.0.1}, C{::1}, a UNIX
        socket's path), or L{None} for an address without one.
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        return address.host
    if isinstance(address, UNIXAddress) and address.name is not None:
        name = address.name
        return name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    return None


@implementer(IHandshakeListener)
class WelcomeClientProtocol(Protocol):
    """
    Collect what the server sends, up to the factory's cap, noting when.

    @ivar received: Fires with the bytes once the welcome is complete: the
        server closed the connection, went quiet after sending something,
        or sent the cap's worth.  Cancelling it aborts the connection.
    @ivar connectedAt: The monotonic time of the connection.
    @ivar lastByteAt: The monotonic time the last byte kept arrived.
    @ivar tls: The handshake's details, once it completed.
    @ivar aborted: Whether the connection was aborted (L{received}
        cancelled on a TCP transport), so that L{lost} fires soon.
    @ivar lost: Fires once the connection is lost and its socket closed.
    """

    factory: WelcomeClientFactory

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.truncated = False
        self._buffer = bytearray()
        self._size = 0
        self._quiet: IDelayedCall | None = None
        self.connectedAt: float | None = None
        self.lastByteAt: float | None = None
        self.tls: TLSDetails | None = None
        self.aborted = False
        self.lost: Deferred[None] = Deferred()
        self.received: Deferred[bytes] = Deferred(lambda _: self._abort())

    def connectionMade(self) -> None:
        """
        Note the time, and tell the factory a connection exists so a timeout
        can say how far the probe got.
        """
        self.connectedAt = self.factory.now()
        self.factory.connected = self
        if self.factory.connectOnly and not ISSLTransport.providedBy(self.transport):
            # --connect-only over plain TCP: the connection is the answer
            # (over TLS, the handshake is: handshakeCompleted).
            self.finish()

    def handshakeCompleted(self) -> None:
        """
        Note the TLS version and the certificate's expiry.
        """
        assert self.transport is not None
        handle = getattr(self.transport, "getHandle", lambda: None)()
        if handle is None:
            return
        version = str(handle.get_protocol_version_name())
        peer = handle.get_peer_certificate()
        notAfter = None
        if peer is not None:
            notAfter = peer.to_cryptography().not_valid_after_utc
        self.tls = TLSDetails(version, notAfter)
        judge = self.factory.handshakeEnds
        if self.factory.connectOnly or (judge is not None and judge(self.tls)):
            # The handshake is what was asked for (--connect-only), or the
            # certificate already fails: no welcome needs to follow.
            self.finish()

    @property
    def gotAnything(self) -> bool:
        """
        Whether any byte of the welcome has arrived yet.
        """
        return self._size > 0

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data} (within the cap) and restart the quiet-period timer.
        """
        if self.received.called:
            return
        self.lastByteAt = self.factory.now()
        room = self.factory.maxBytes - self._size
        self._chunks.append(data[:room])
        self._size += min(len(data), room)
        if self._size >= self.factory.maxBytes:
            self.truncated = True
            self.finish()
            return
        complete = self.factory.complete
        if complete is not None:
            # An expected text ends the welcome, not a pause: a banner that
            # arrives in pieces is read until it matches, the server closes,
            # the cap is reached or the deadline passes (check_tcp -e).
            self._buffer += data[:room]
            if complete(bytes(self._buffer)):
                self.finish()
            return
        if self._quiet is not None and self._quiet.active():
            self._quiet.reset(self.factory.quietPeriod)
        else:
            self._quiet = self.factory.clock.callLater(
                self.factory.quietPeriod, self.finish
            )

    def connectionLost(self, reason: Failure = _connectionDone) -> None:
        """
        The server hung up: the welcome is whatever arrived.
        """
        self._cancelQuiet()
        if not self.lost.called:
            self.lost.callback(None)
        if self.received.called:
            return
        target = self.factory.target
        tlsProblem = explainTLSFailure(reason)
        if tlsProblem is not None:
            self.received.errback(
                _ProbeFailed(
                    TLS, f"cannot connect to {target}: {tlsProblem}", tlsProblem
                )
            )
        elif self._size == 0:
            why = "closed the connection without sending anything"
            self.received.errback(
                _ProbeFailed(CLOSED_WITHOUT_WELCOME, f"{target} {why}", why)
            )
        else:
            self.received.callback(b"".join(self._chunks))

    def finish(self) -> None:
        """
        Stop reading: deliver what arrived and close the connection.
        """
        self._cancelQuiet()
        if not self.received.called:
            self.received.callback(b"".join(self._chunks))
        if self.transport is not None:
            self.transport.loseConnection()

    def _abort(self) -> None:
        self._cancelQuiet()
        if ITCPTransport.providedBy(self.transport):
            self.aborted = True
            self.transport.abortConnection()
        elif self.transport is not None:
            self.transport.loseConnection()

    def _cancelQuiet(self) -> None:
        if self._quiet is not None and self._quiet.active():
            self._quiet.cancel()
        self._quiet = None


class WelcomeClientFactory(ClientFactory):
    """
    Build the one L{WelcomeClientProtocol} of a probe.

    @ivar target: How the server is named in messages, e.g. C{host:12000}.
    @ivar clock: Schedules the quiet-period timer.
    @ivar now: The monotonic clock that times the probe.
    @ivar maxBytes: The most bytes of welcome accepted.
    @ivar quietPeriod: Seconds of silence that end a welcome.
    @ivar complete: Whether the bytes so far are the whole welcome (what
        was expected has arrived), or L{None} to end it after
        C{quietPeriod} of silence.
    @ivar connected: The protocol, once connected.
    @ivar connectOnly: Whether a connection (and TLS handshake) is the
        whole answer, without waiting for a welcome (C{--connect-only}).
    @ivar handshakeEnds: Judges the TLS handshake's details as soon as it
        ends: returns C{True} when the certificate already fails, so the
        probe ends without waiting for a welcome.
    """

    # Twisted types Factory.protocol with a type variable of Factory that
    # ClientFactory leaves unbound, so no subclass's protocol matches it.
    protocol = WelcomeClientProtocol  # type: ignore[assignment]

    def __init__(
        self,
        target: str,
        clock: IReactorTime,
        maxBytes: int = DEFAULT_MAX_BYTES,
        quietPeriod: float = QUIET_PERIOD,
        now: Now = time.monotonic,
        complete: Complete | None = None,
        connectOnly: bool = False,
        handshakeEnds: Callable[[TLSDetails], bool] | None = None,
    ) -> None:
        self.target = target
        self.clock = clock
        self.now = now
        self.complete = complete
        self.connectOnly = connectOnly
        self.handshakeEnds = handshakeEnds
        self.maxBytes = maxBytes
        self.quietPeriod = quietPeriod
        self.connected: WelcomeClientProtocol | None = None


def explainTLSFailure(reason: Failure) -> str | None:
    """
    Say in words why a TLS connection failed, if it did.

    @param reason: Why the connection was lost or not made.
    @return: A sentence, or L{None} if C{reason} is not about TLS.
    """
    # Imported here: only a failed run needs them, and OpenSSL is slow to load.
    from OpenSSL.SSL import Error as TLSError
    from service_identity import VerificationError

    if reason.check(VerificationError):
        return (
            "TLS certificate verification failed: the server's certificate "
            "is not valid for the host name it was reached by"
        )
    if not reason.check(TLSError):
        return None
    args = getattr(reason.value, "args", ())
    details = args[0] if args else []
    texts = [str(item[-1]) for item in details if isinstance(item, tuple) and item[-1]]
    if "certificate verify failed" in texts:
        return (
            "TLS certificate verification failed: the server's certificate is "
            "not signed by a trusted authority (see trustRoots=), or has expired"
        )
    return f"TLS handshake failed: {', '.join(texts) or 'no reason given'}"


def classifyConnectFailure(target: str, reason: Failure) -> _ProbeFailed:
    """
    Name why a connection could not be made: its kind and one line.
    """
    tlsProblem = explainTLSFailure(reason)
    if tlsProblem is not None:
        kind, why = TLS, tlsProblem
    elif isinstance(reason.value, NameNotResolved):
        kind, why = DNS, reason.value.why
    elif reason.check(error.DNSLookupError):
        kind, why = DNS, DOES_NOT_RESOLVE
    elif reason.check(error.ConnectionRefusedError):
        kind, why = REFUSED, "connection refused"
    elif reason.check(error.NoRouteError):
        kind, why = UNREACHABLE, "no route to host"
    elif reason.check(error.TCPTimedOutError, error.TimeoutError):
        kind, why = TIMEOUT, "connection timed out"
    else:
        kind, why = UNREACHABLE, reason.getErrorMessage()
    return _ProbeFailed(kind, f"cannot connect to {target}: {why}", why)


class Probe:
    """
    One probe, a method per phase: connect (L{_connected}), wait for the
    welcome, and measure (L{_measure}); whichever comes first of the
    welcome, a failure (L{_failed}), the deadline (L{_expire}) or a cancel
    (L{_cancel}) ends it, and L{_deliver} fires L{result} once.

    @ivar result: Fires with the L{ProbeResult} however the probe ends on
        its own.  Cancelling it aborts the probe; it then errbacks with
        L{CancelledError}, whatever the endpoint's own cancellation raised.
    """

    def __init__(
        self,
        endpoint: IStreamClientEndpoint,
        clock: IReactorTime,
        target: str,
        timeout: float = DEFAULT_TIMEOUT,
        maxBytes: int = DEFAULT_MAX_BYTES,
        quietPeriod: float = QUIET_PERIOD,
        now: Now = time.monotonic,
        complete: Complete | None = None,
        connectOnly: bool = False,
        handshakeEnds: Callable[[TLSDetails], bool] | None = None,
    ) -> None:
        """
        Start connecting now; see L{probe} for the parameters.
        """
        self._target = target
        self._timeout = timeout
        self._factory = WelcomeClientFactory(
            target,
            clock,
            maxBytes,
            quietPeriod,
            now,
            complete,
            connectOnly,
            handshakeEnds,
        )
        self._started = now()
        self._timedOut = False
        self._cancelled = False
        self.result: Deferred[ProbeResult] = Deferred(self._cancel)
        self._fetching: Deferred[bytes] = endpoint.connect(self._factory).addCallback(
            self._connected
        )
        # Scheduled before the failure handlers are added: a connection that
        # fails at once ends the probe now, and cancels the deadline.
        self._deadline = clock.callLater(timeout, self._expire)
        self._fetching.addErrback(self._failed).addBoth(self._deliver)

    def _connected(self, proto: IProtocol) -> Deferred[bytes]:
        """
        Connected: wait for the protocol to collect the welcome.
        """
        assert isinstance(proto, WelcomeClientProtocol)
        return proto.received

    def _expire(self) -> None:
        """
        The deadline: take a welcome that has begun as it is; otherwise
        give up, as a timeout.
        """
        proto = self._factory.connected
        if proto is not None and proto.gotAnything:
            proto.finish()
        else:
            self._timedOut = True
            self._fetching.cancel()

    def _failed(self, reason: Failure) -> Failure | _ProbeFailed:
        """
        Name why no welcome came; a cancellation is passed on as it is.
        """
        if isinstance(reason.value, _ProbeFailed):
            return reason.value
        # HostnameEndpoint reports its cancellation as
        # ConnectingCancelledError, naming the address: still our timeout.
        if self._timedOut and reason.check(error.DNSLookupError):
            # HostnameEndpoint fails a resolution cancelled by the deadline
            # as a DNSLookupError: the name was not refused, it was late.
            why = f"timed out after {self._timeout:g} s resolving the host name"
            return _ProbeFailed(
                TIMEOUT, f"cannot connect to {self._target}: {why}", why
            )
        if reason.check(CancelledError, error.ConnectingCancelledError):
            if not self._timedOut:
                return reason
            if self._factory.connected is None:
                why = f"timed out after {self._timeout:g} s connecting"
                return _ProbeFailed(TIMEOUT, f"{why} to {self._target}", why)
            why = f"no welcome within {self._timeout:g} s"
            return _ProbeFailed(
                TIMEOUT,
                f"no welcome from {self._target} within {self._timeout:g} s",
                why,
            )
        return classifyConnectFailure(self._target, reason)

    def _cancel(self, result: Deferred[ProbeResult]) -> None:
        """
        L{result} was cancelled: stop the deadline and the connection.
        L{Deferred.cancel} then errbacks L{result} with L{CancelledError}.
        """
        self._cancelled = True
        if self._deadline.active():
            self._deadline.cancel()
        self._fetching.cancel()

    def _deliver(self, outcome: bytes | _ProbeFailed | Failure) -> None:
        """
        Fire L{result} with the measured outcome, once.  After a cancel
        there is nothing to deliver; an unexpected exception (a bug here,
        not a network failure, which L{_failed} names) is passed on.
        """
        if self.result.called or self._cancelled:
            return
        if isinstance(outcome, Failure):
            self.result.errback(outcome)
            return
        measured = self._measure(outcome)
        proto = self._factory.connected
        if proto is not None and proto.aborted and not proto.lost.called:
            # An aborted TCP connection closes its socket on the reactor's
            # next turn: the result waits for it, so that a scan starts its
            # next check with the descriptor free (--parallel counts them).
            proto.lost.addCallback(lambda _: self._fire(measured))
            return
        self._fire(measured)

    def _fire(self, measured: ProbeResult) -> None:
        if not self.result.called and not self._cancelled:
            self.result.callback(measured)

    def _measure(self, outcome: bytes | _ProbeFailed) -> ProbeResult:
        """
        Time the phases, and make the result.
        """
        if self._deadline.active():
            self._deadline.cancel()
        proto = self._factory.connected
        address = connectSeconds = welcomeSeconds = None
        tls = None
        if proto is not None:
            assert proto.connectedAt is not None and proto.transport is not None
            address = describeAddress(proto.transport.getPeer())
            connectSeconds = proto.connectedAt - self._started
            tls = proto.tls
            if proto.lastByteAt is not None:
                welcomeSeconds = proto.lastByteAt - proto.connectedAt
            elif outcome == b"":
                # Ended without a byte (--connect-only, or a certificate
                # judged at the handshake): the time after connecting is
                # the TLS handshake's, if any.
                welcomeSeconds = self._factory.now() - proto.connectedAt
        if isinstance(outcome, _ProbeFailed):
            return ProbeResult(
                outcome.kind,
                outcome.message,
                outcome.reason,
                address,
                connectSeconds,
                tls=tls,
            )
        return ProbeResult(
            None,
            address=address,
            connectSeconds=connectSeconds,
            welcomeSeconds=welcomeSeconds,
            welcome=outcome,
            tls=tls,
            truncated=proto is not None and proto.truncated,
        )


def probe(
    endpoint: IStreamClientEndpoint,
    clock: IReactorTime,
    target: str,
    timeout: float = DEFAULT_TIMEOUT,
    maxBytes: int = DEFAULT_MAX_BYTES,
    quietPeriod: float = QUIET_PERIOD,
    now: Now = time.monotonic,
    complete: Complete | None = None,
    connectOnly: bool = False,
    handshakeEnds: Callable[[TLSDetails], bool] | None = None,
) -> Deferred[ProbeResult]:
    """
    Connect with C{endpoint}, collect the welcome, and time both.

    @param clock: Schedules the timeout and the quiet period.
    @param target: How to name the server in messages.
    @param timeout: Seconds allowed for connecting and for the welcome to
        begin.  A welcome that began but has not ended by then (a server
        trickling bytes) is taken as it is.
    @param maxBytes: The most bytes of welcome read.
    @param quietPeriod: Seconds of silence that end a welcome.
    @param now: The monotonic clock that times the phases (the reactor's
        C{seconds()} is wall-clock time, which can jump).
    @param complete: Says when the bytes so far are the whole welcome
        (what was expected has arrived); then silence does not end it.
    @param connectOnly: End at the connection (over TLS, the handshake):
        a port that accepts is the answer, with no welcome.
    @param handshakeEnds: Judges a TLS handshake as soon as it ends; when
        it returns C{True}, the probe ends then, with no welcome.
    @return: A L{Deferred} that fires with a L{ProbeResult} however the
        probe ends on its own.  Cancelling it aborts the probe, and it
        errbacks with L{CancelledError}.
    """
    return Probe(
        endpoint,
        clock,
        target,
        timeout,
        maxBytes,
        quietPeriod,
        now,
        complete,
        connectOnly,
        handshakeEnds,
    ).result
