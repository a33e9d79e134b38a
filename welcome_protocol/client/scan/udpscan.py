# -*- test-case-name: tests.test_client_scan_udp -*-
"""
C{welcome-client --udp --ports ...}: each port of a scan probed with a
padded datagram, at most C{--rate} new probes a second over the whole run.

The probe is L{welcome_protocol.client.udpprobe.udpProbe}, the one a single
C{--udp} check makes (retries, padding, refused on an ICMP port
unreachable, a timeout reported as I{open or filtered}), checked against
C{--expect} as a single probe's welcome is.  A UDP scan needs a cap of its
own: a connection attempt waits for the handshake, a datagram does not, so
C{--parallel} alone would let a fast client send as fast as it can, and a
server's rate limits (or a firewall's) would then answer with silence that
reads as I{filtered}.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from welcome_protocol.client.checking import CheckSpec, utcNow
from welcome_protocol.client.checks import assess
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.reactors import UDPProbeReactor
from welcome_protocol.client.scan.scanner import ProbeOne
from welcome_protocol.client.udpprobe import udpProbe

DEFAULT_RATE = 1000
MAX_RATE = 100_000


class Pacer:
    """
    Space starts at least C{1 / rate} seconds apart, on a clock.
    """

    def __init__(
        self, clock: IReactorTime, rate: float, now: Callable[[], float]
    ) -> None:
        """
        @param clock: Schedules the starts that must wait.
        @param rate: Starts a second at most.
        @param now: The monotonic clock the spacing is kept by.
        """
        self._clock = clock
        self._gap = 1.0 / rate
        self._now = now
        self._next = now()

    def paced(
        self, start: Callable[[], Deferred[ProbeResult]]
    ) -> Deferred[ProbeResult]:
        """
        Call C{start} now, or as soon as the rate allows.

        @return: What C{start} returns, once it fires.
        """
        now = self._now()
        at = max(now, self._next)
        self._next = at + self._gap
        if at <= now:
            return start()
        calls: list[IDelayedCall] = []

        def cancel(_: Deferred[ProbeResult]) -> None:
            if calls[0].active():
                calls[0].cancel()

        waiting: Deferred[ProbeResult] = Deferred(cancel)

        def deliver(result: ProbeResult) -> None:
            if not waiting.called:
                waiting.callback(result)

        calls.append(
            self._clock.callLater(at - now, lambda: start().addCallback(deliver))
        )
        return waiting


def udpScanProbe(
    reactor: UDPProbeReactor,
    spec: Callable[[str, int], CheckSpec],
    retries: int,
    pad: int,
    rate: float,
    now: Callable[[], float] = time.monotonic,
    wallClock: Callable[[], datetime.datetime] = utcNow,
) -> ProbeOne:
    """
    Make the scanner's probe of one UDP port.

    @param spec: The checks of a port's welcome, by host and port.
    @param retries: Datagrams sent again after the first.
    @param pad: The probe's size.
    @param rate: New probes a second at most, for the whole run.
    @return: A function the L{Scanner
        <welcome_protocol.client.scan.scanner.Scanner>} calls with the host
        as given, its address and the port.
    """
    pacer = Pacer(reactor, rate, now)

    def probeOne(host: str, address: str, port: int) -> Deferred[ProbeResult]:
        checks = spec(host, port)

        def start() -> Deferred[ProbeResult]:
            return udpProbe(
                reactor,
                address,
                port,
                checks.label,
                checks.timeout,
                retries,
                pad,
                checks.maxBytes,
                None,
                now,
            ).addCallback(
                lambda result: assess(
                    result,
                    checks.label,
                    checks.expectations,
                    checks.certificateDays,
                    wallClock(),
                )
            )

        return pacer.paced(start)

    return probeOne
