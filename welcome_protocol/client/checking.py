# -*- test-case-name: tests.test_client_checking -*-
"""
Probe one target and check what it sent: the client's entry point for
"probe this server with these expectations, and say what happened".

Every mode (a single check, each attempt of C{--count}, each port of a
scan, C{check_welcome}) goes through L{checkOnce}; so can any other program
that probes, such as a Prometheus probe exporter::

    connector = Connector(reactor, timeout=5.0, tls=TLSSettings())
    spec = CheckSpec(label="example.org:12000", timeout=5.0,
                     expectations=Expectations(texts=("Welcome",)))
    d = checkOnce(reactor, connector.toHost("example.org", 12000), spec)
    # fires with a ProbeResult: ok, kind, totalSeconds, tls, ...

The L{Deferred} fires with a L{ProbeResult} however the probe ends;
cancelling it errbacks with L{CancelledError}.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint

from welcome_protocol.client.checks import assess, decodeWelcome
from welcome_protocol.client.expectations import Expectations
from welcome_protocol.client.probe import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    ProbeResult,
    TLSDetails,
    probe,
)
from welcome_protocol.client.tls import CertificateDays, daysLeft

__all__ = ["CancelledError", "CheckSpec", "checkOnce", "utcNow"]


def utcNow() -> datetime.datetime:
    """
    @return: The current time, in UTC.
    """
    return datetime.datetime.now(datetime.timezone.utc)


@attrs.frozen(kw_only=True)
class CheckSpec:
    """
    What one check asks of the server.

    @ivar label: How messages name the server, e.g. C{host:12000}.
    @ivar timeout: Seconds allowed for connecting and for the welcome to
        begin.
    @ivar maxBytes: The most bytes of welcome read.
    @ivar expectations: What the welcome must contain.
    @ivar certificateDays: How soon a certificate's expiry is a problem, or
        L{None} not to judge it.
    @ivar connectOnly: Whether a port that accepts (and completes the TLS
        handshake) is the answer, without waiting for a welcome.
    """

    label: str
    timeout: float = DEFAULT_TIMEOUT
    maxBytes: int = DEFAULT_MAX_BYTES
    expectations: Expectations = attrs.field(factory=Expectations)
    certificateDays: CertificateDays | None = None
    connectOnly: bool = False

    @property
    def welcomeComplete(self) -> Callable[[bytes], bool] | None:
        """
        With expectations, a welcome is read until they are met (or the
        server closes, the cap is reached, the timeout passes), as
        C{check_tcp -e} reads; without, a pause ends it.
        """
        expectations = self.expectations
        if not expectations.any:
            return None
        return lambda received: expectations.met(decodeWelcome(received))

    @classmethod
    def fromOptions(cls, config: Mapping[str, Any], label: str) -> CheckSpec:
        """
        @param config: C{welcome-client}'s parsed options.
        @param label: How messages name the server.
        @return: What their C{--timeout}, C{--max-bytes}, C{--expect} and
            C{--certificate-days} ask of the server.
        """
        return cls(
            label=label,
            timeout=config["timeout"],
            maxBytes=config["max-bytes"],
            expectations=config["expectations"],
            certificateDays=config["certificate-days"],
            connectOnly=bool(config.get("connect-only")),
        )


def _certificateJudge(
    days: CertificateDays | None, wallClock: Callable[[], datetime.datetime]
) -> Callable[[TLSDetails], bool] | None:
    """
    With C{--certificate-days}, judge the certificate as soon as the TLS
    handshake ends (check_tcp C{-D}, blackbox's
    C{probe_ssl_earliest_cert_expiry}), so a TLS service that never greets
    is judged too.
    """
    if days is None:
        return None

    def failing(tls: TLSDetails) -> bool:
        notAfter = tls.notAfter
        if notAfter is None:
            return False
        return days.level(daysLeft(notAfter, wallClock())) is not None

    return failing


def checkOnce(
    clock: IReactorTime,
    endpoint: IStreamClientEndpoint,
    spec: CheckSpec,
    now: Callable[[], float] = time.monotonic,
    wallClock: Callable[[], datetime.datetime] = utcNow,
) -> Deferred[ProbeResult]:
    """
    Probe C{endpoint} once and apply C{spec}'s checks.

    @param clock: Schedules the timeout and the quiet period.
    @param endpoint: Where to connect (see
        L{welcome_protocol.client.connecting.Connector}).
    @param now: The monotonic clock the probe is timed with.
    @param wallClock: The UTC clock certificate expiry is judged by.
    @return: Fires with the L{ProbeResult}, whose C{kind} is L{None} for a
        welcome that passed every check.
    """
    return probe(
        endpoint,
        clock,
        spec.label,
        spec.timeout,
        spec.maxBytes,
        now=now,
        complete=spec.welcomeComplete,
        connectOnly=spec.connectOnly,
        handshakeEnds=_certificateJudge(spec.certificateDays, wallClock),
    ).addCallback(
        lambda result: assess(
            result, spec.label, spec.expectations, spec.certificateDays, wallClock()
        )
    )
