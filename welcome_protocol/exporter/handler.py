# -*- test-case-name: tests.test_exporter_handler -*-
"""
One C{/probe} scrape: its parameters, its deadline, its probes, and the
metrics they make.

The deadline is blackbox_exporter's: the module's C{timeout}, or less if
Prometheus' C{X-Prometheus-Scrape-Timeout-Seconds} (less a margin, 0.5 s
by default) is shorter.  Each probe is given what is left of it, and the
scrape is answered at the deadline whatever a probe is doing: the probes
still running are cancelled, and count as failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import attrs
from prometheus_client import CollectorRegistry, Gauge
from twisted.internet.defer import (
    CancelledError,
    Deferred,
    DeferredSemaphore,
    gatherResults,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.exporter import probing
from welcome_protocol.exporter.counters import ExporterCounters
from welcome_protocol.exporter.modules import DEFAULT_SCRAPE_TIMEOUT, Module
from welcome_protocol.exporter.outcome import PortOutcome, ProbeContext
from welcome_protocol.exporter.portlist import (
    PortListError,
    ProbeSlots,
    parsePortList,
    portsText,
)
from welcome_protocol.exporter.probers import PROBERS, Prober
from welcome_protocol.exporter.resolving import chooseAddress
from welcome_protocol.exporter.scrapelog import ScrapeLog
from welcome_protocol.exporter.targets import (
    AllowedTargets,
    TargetError,
    parseTarget,
    quoted,
)
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog

DEFAULT_TIMEOUT_OFFSET = 0.5
"""
Seconds kept from Prometheus' scrape timeout for the answer to travel, as
blackbox_exporter's C{--timeout-offset}.
"""

_log = Logger()

PROBE_MARGIN = 0.05
"""
Seconds before the scrape's deadline that its probes' own timeouts end, at
most (a twentieth of a short timeout).
"""

_TLS_VERSIONS = {
    "TLSv1": "TLS 1.0",
    "TLSv1.1": "TLS 1.1",
    "TLSv1.2": "TLS 1.2",
    "TLSv1.3": "TLS 1.3",
}


class BadRequest(Exception):
    """
    A scrape that cannot be made: C{code} is the HTTP status (400 or 403),
    C{str()} the one line to answer.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def scrapeTimeout(header: str | None, module: Module, offset: float) -> float:
    """
    The probe's timeout, as blackbox_exporter's C{getTimeout} computes it,
    but with the scrape's timeout at most L{DEFAULT_SCRAPE_TIMEOUT}: the
    site keeps a connection for the longest module C{timeout}, or that.

    @param header: C{X-Prometheus-Scrape-Timeout-Seconds}, if sent.
    @param offset: The margin kept from the scrape's timeout.
    @raise BadRequest: For a header that is not a positive number.
    """
    scrape = DEFAULT_SCRAPE_TIMEOUT
    if header is not None:
        try:
            scrape = float(header)
        except ValueError:
            scrape = math.nan
        if not (math.isfinite(scrape) and scrape > 0):
            raise BadRequest(
                400,
                "X-Prometheus-Scrape-Timeout-Seconds must be a positive number, "
                f"not {quoted(header)}",
            )
        scrape = min(scrape, DEFAULT_SCRAPE_TIMEOUT)
    longest = scrape - offset
    if module.timeout is not None and (module.timeout < longest or longest <= 0):
        return module.timeout
    return max(longest, 0.001)


@attrs.frozen
class ScrapeRequest:
    """
    A C{/probe} request, checked.

    @ivar module: The module asked for.
    @ivar host: The target's host.
    @ivar ports: The ports to probe (one, or a port list).
    @ivar expectClosed: The ports expected closed.
    @ivar portList: Whether ports were given as C{ports=}/C{expect_closed=}.
    @ivar timeout: Seconds the scrape may take.
    @ivar debug: C{debug=true}: answer the log, not only the metrics.
    """

    module: Module
    host: str
    ports: tuple[int, ...]
    expectClosed: frozenset[int]
    portList: bool
    timeout: float
    debug: bool


def _one(args: Mapping[bytes, list[bytes]], name: str) -> str | None:
    values = args.get(name.encode("ascii"))
    if not values:
        return None
    return values[-1].decode("utf-8", "replace")


def parseRequest(
    args: Mapping[bytes, list[bytes]],
    timeoutHeader: str | None,
    modules: Mapping[str, Module],
    allowed: AllowedTargets | None,
    maxPorts: int,
    offset: float = DEFAULT_TIMEOUT_OFFSET,
) -> ScrapeRequest:
    """
    Check a C{/probe} request's parameters.

    @param args: The query's parameters.
    @param allowed: C{--allow-targets}, or L{None} for every target.
    @raise BadRequest: 400 for a bad parameter, 403 for a target not
        allowed; the message escapes what it quotes.
    """
    moduleName = _one(args, "module")
    if not moduleName:
        raise BadRequest(400, "the module parameter is missing")
    module = modules.get(moduleName)
    if module is None:
        raise BadRequest(400, f"unknown module {quoted(moduleName)}")
    portsArg = _one(args, "ports") or ""
    closedArg = _one(args, "expect_closed") or ""
    portList = bool(portsArg or closedArg)
    try:
        host, port = parseTarget(_one(args, "target") or "", not portList)
    except TargetError as e:
        raise BadRequest(400, str(e)) from None
    if portList:
        if port is not None:
            raise BadRequest(400, "name the ports in the target or in ports=, not both")
        try:
            ports, closed = parsePortList(portsArg, closedArg, maxPorts)
        except PortListError as e:
            raise BadRequest(400, str(e)) from None
    else:
        assert port is not None
        ports, closed = (port,), frozenset()
    if allowed is not None and not allowed.allows(host):
        raise BadRequest(403, f"target {quoted(host)} is not in --allow-targets")
    timeout = scrapeTimeout(timeoutHeader, module, offset)
    debug = (_one(args, "debug") or "").lower() == "true"
    return ScrapeRequest(module, host, ports, closed, portList, timeout, debug)


class Scrape:
    """
    Run one scrape's probes and make its metrics.

    @ivar registry: The scrape's own registry (a new one per scrape, as
        blackbox_exporter makes).
    @ivar log: The scrape's log.
    """

    def __init__(
        self,
        reactor: ClientReactor,
        request: ScrapeRequest,
        slots: ProbeSlots,
        counters: ExporterCounters,
        now: Callable[[], float],
        probers: Mapping[str, Prober] = PROBERS,
        failures: RateLimitedLog | None = None,
    ) -> None:
        """
        @param reactor: Probes and times the deadline.
        @param slots: The cap on probes in flight, shared by all scrapes.
        @param counters: The exporter's own counters.
        @param now: A monotonic clock.
        @param probers: The probers, by name.
        @param failures: Where an error (a bug, not a probe's failure) is
            logged, by the incident; shared by the scrapes.  L{None}: a
            line each.
        """
        self._probers = probers
        self._failures = failures
        self._reactor = reactor
        self._request = request
        self._slots = slots
        self._counters = counters
        self._now = now
        self._started = now()
        self._deadline = self._started + request.timeout
        self.log = ScrapeLog(now)
        self.registry = CollectorRegistry(auto_describe=True)
        self._success = Gauge(
            "probe_success",
            "Displays whether or not the probe was a success",
            registry=self.registry,
        )
        self._duration = Gauge(
            "probe_duration_seconds",
            "Returns how long the probe took to complete in seconds",
            registry=self.registry,
        )

    def run(self) -> Deferred[None]:
        """
        Probe, within the deadline.

        @return: Fires when the metrics are made: once every probe is done,
            or at the deadline.  Cancelling it cancels the probes.
        """
        running = Deferred.fromCoroutine(self._probe())
        timedOut = False

        def expire() -> None:
            nonlocal timedOut
            timedOut = True
            running.cancel()

        timer = self._reactor.callLater(self._request.timeout, expire)
        done: Deferred[None] = Deferred(lambda _: running.cancel())

        def finished(outcome: bool | Failure) -> None:
            if timer.active():
                timer.cancel()
            if timedOut:
                self.log.error("Timed out", timeout=f"{self._request.timeout:g}s")
            elif isinstance(outcome, Failure) and not outcome.check(CancelledError):
                # A bug, not a probe's failure (a probe never fails).
                self.log.error("Probe failed", err=outcome.getErrorMessage())
                self._logError(outcome)
            self._finish(outcome is True)
            if not done.called:
                done.callback(None)

        running.addBoth(finished)
        return done

    def _logError(self, reason: Failure) -> None:
        text = "Exporter: a probe failed with an error: {error}"
        if self._failures is None:
            _log.failure(text, failure=reason, error=reason.getErrorMessage())
        else:
            self._failures.emit(
                text, log_failure=reason, error=reason.getErrorMessage()
            )

    def _finish(self, success: bool) -> None:
        elapsed = self._now() - self._started
        self._duration.set(elapsed)
        self._success.set(1 if success else 0)
        module = self._request.module
        self._counters.scraped(module.name, success)
        if success:
            self.log.info("Probe succeeded", duration_seconds=f"{elapsed:.6f}")
        else:
            self.log.error("Probe failed", duration_seconds=f"{elapsed:.6f}")

    def _context(self) -> ProbeContext:
        # A probe ends a little before the scrape's deadline, so that its
        # own timeout (a silent UDP port's "open or filtered") is reported,
        # not cut short by the deadline.
        margin = min(PROBE_MARGIN, self._request.timeout / 20)
        left = max(0.001, self._deadline - self._now() - margin)
        return ProbeContext(
            self._reactor, self._request.module, left, self.log, self._now
        )

    async def _onePort(self, address: str, port: int) -> PortOutcome:
        # The slot goes back through a callback on the probe's Deferred, not
        # in a finally block: the garbage collector runs a waiting
        # coroutine's finally blocks, and a slot given back from there would
        # resume another scrape's coroutine from inside the collector.
        return await self._slots.run(
            lambda: Deferred.fromCoroutine(self._probeOnce(address, port))
        )

    async def _probeOnce(self, address: str, port: int) -> PortOutcome:
        prober = self._probers[self._request.module.prober]
        self._counters.probeStarted()
        return await prober(self._context(), self._request.host, address, port)

    async def _probe(self) -> bool:
        request = self._request
        module = request.module
        self.log.info(
            "Beginning probe",
            probe=module.prober,
            timeout_seconds=f"{request.timeout:g}",
        )
        regex = None
        if not request.portList:
            regex = Gauge(
                "probe_failed_due_to_regex",
                "Indicates if probe failed due to regex",
                registry=self.registry,
            )
        address = await chooseAddress(
            self._reactor,
            request.host,
            module.family,
            module.fallback,
            self.registry,
            self.log,
            self._now,
        )
        if address is None:
            return False
        if regex is not None:
            outcome = await self._onePort(address, request.ports[0])
            self._portMetrics(outcome, regex)
            return outcome.success
        return await self._portList(address)

    def _portMetrics(self, outcome: PortOutcome, regex: Gauge) -> None:
        if outcome.regexFailed:
            regex.set(1)
        details = outcome.result.tls
        if details is not None and self._request.module.tls:
            expiry = probing.certificateExpiry(details)
            if expiry is not None:
                Gauge(
                    "probe_ssl_earliest_cert_expiry",
                    "Returns last SSL chain expiry in unixtime",
                    registry=self.registry,
                ).set(expiry.timestamp())
                Gauge(
                    "probe_ssl_last_chain_expiry_timestamp_seconds",
                    "Returns last SSL chain expiry in timestamp",
                    registry=self.registry,
                ).set(expiry.timestamp())
            Gauge(
                "probe_tls_version_info",
                "Returns the TLS version used or NaN when unknown",
                ["version"],
                registry=self.registry,
            ).labels(_TLS_VERSIONS.get(details.version, details.version)).set(1)
        if outcome.expectLabels:
            names = [name for name, _ in outcome.expectLabels]
            Gauge(
                "probe_expect_info",
                "Explicit content matched",
                names,
                registry=self.registry,
            ).labels(*[value for _, value in outcome.expectLabels]).set(1)

    async def _portList(self, address: str) -> bool:
        request = self._request
        self.log.info("Probing ports", ports=portsText(request.ports))
        success = Gauge(
            "probe_port_success",
            "Whether the port was as expected: open, or closed if expect_closed",
            ["port"],
            registry=self.registry,
        )
        duration = Gauge(
            "probe_port_duration_seconds",
            "How long the port's probe took, in seconds",
            ["port"],
            registry=self.registry,
        )
        state = Gauge(
            "probe_port_state_info",
            "The port's state (connected, welcomed, refused, timeout, "
            "silent, closed, mismatch, ...) and whether it was expected closed",
            ["port", "state", "expected"],
            registry=self.registry,
        )

        share = DeferredSemaphore(self._slots.share)

        async def one(port: int) -> bool:
            started = self._now()
            try:
                # As in _onePort: the share goes back by a callback.
                outcome = await share.run(
                    lambda: Deferred.fromCoroutine(self._onePort(address, port))
                )
            except CancelledError:
                success.labels(str(port)).set(0)
                state.labels(str(port), "unfinished", _expected(port)).set(1)
                raise
            closed = port in request.expectClosed
            good = (
                probing.asExpected(outcome.state, True) if closed else outcome.success
            )
            success.labels(str(port)).set(1 if good else 0)
            duration.labels(str(port)).set(self._now() - started)
            state.labels(str(port), outcome.state, _expected(port)).set(1)
            if not good:
                self.log.error(
                    "Port not as expected",
                    port=port,
                    state=outcome.state,
                    expected=_expected(port),
                )
            return good

        def _expected(port: int) -> str:
            return "closed" if port in request.expectClosed else "open"

        results = await gatherResults(
            [Deferred.fromCoroutine(one(port)) for port in request.ports],
            consumeErrors=True,
        )
        return all(results)
