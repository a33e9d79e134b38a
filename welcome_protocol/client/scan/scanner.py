# -*- test-case-name: tests.test_client_scan_scanner -*-
"""
Check many ports at once, never more than C{--parallel} at a time.

The checks are generated one by one from the plan and shared by
C{parallel} workers of a L{Cooperator} (Twisted's way to run a bounded
number of iterations at once): each worker takes the next check when its
previous one is done, so however long the list, at most C{parallel}
connections (and descriptors) are open and at most C{parallel} checks are
waiting in memory.
"""

from __future__ import annotations

import datetime
import resource
import time
from collections.abc import Callable, Iterator

import attrs
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import Cooperator
from twisted.python.failure import Failure

from welcome_protocol.client.probe import DNS, ProbeResult
from welcome_protocol.client.resolving import DOES_NOT_RESOLVE, NameNotResolved
from welcome_protocol.client.scan.plan import PortCheck, ScanPlan
from welcome_protocol.client.scan.states import asExpected, stateOf
from welcome_protocol.shared.defaults import SPARE_DESCRIPTORS

DEFAULT_PARALLEL = 100


def _utcNow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


MAX_PARALLEL = 10_000


@attrs.frozen
class PortResult:
    """
    A check and what it found.

    @ivar address: The address checked, or L{None} if the host's name did
        not resolve.
    @ivar seconds: From the start of the check to its result (for a
        welcome, to its last byte).
    @ivar at: When the result came (UTC), for its record's timestamp.
    """

    check: PortCheck
    address: str | None
    result: ProbeResult
    seconds: float
    at: datetime.datetime | None = None

    @property
    def state(self) -> str:
        """
        The state, as L{stateOf} names it.
        """
        return stateOf(self.result)

    @property
    def asExpected(self) -> bool:
        """
        Whether the port showed what was expected of it.
        """
        return asExpected(self.state, self.check.expectClosed)


ProbeOne = Callable[[str, str, int], Deferred[ProbeResult]]
"""
Start one probe: the host as given, the address to connect to, the port.
"""
Resolve = Callable[[str], Deferred[str | None]]


class Scanner:
    """
    Resolve every host once, then check every port, C{parallel} at a time.

    @ivar results: The results so far, in the order they arrived.
    @ivar interrupted: Whether L{interrupt} ended the run early.
    """

    def __init__(
        self,
        clock: IReactorTime,
        plan: ScanPlan,
        resolve: Resolve,
        probeOne: ProbeOne,
        parallel: int = DEFAULT_PARALLEL,
        now: Callable[[], float] = time.monotonic,
        wallClock: Callable[[], datetime.datetime] = _utcNow,
        onResult: Callable[[PortResult], None] | None = None,
    ) -> None:
        """
        @param wallClock: The UTC clock of each result's C{at}.
        @param onResult: Told of each result as it comes (the streamed
            C{--json} lines, the progress line).
        """
        self._wallClock = wallClock
        self._onResult = onResult
        self._plan = plan
        self._resolve = resolve
        self._probeOne = probeOne
        self._parallel = parallel
        self._now = now
        self._cooperator = Cooperator(scheduler=lambda work: clock.callLater(0, work))
        self._addresses: dict[str, str | None] = {}
        self._problems: dict[str, str] = {}
        self._inFlight: set[Deferred[object]] = set()
        self._done: Deferred[list[PortResult]] = Deferred()
        self.results: list[PortResult] = []
        self.interrupted = False

    def start(self) -> Deferred[list[PortResult]]:
        """
        Begin.

        @return: Fires with every result once all are in (or the run was
            interrupted).
        """
        self._inParallel(self._resolutions()).addCallback(
            lambda _: self._inParallel(self._probes())
        ).addBoth(self._finish)
        return self._done

    def interrupt(self) -> None:
        """
        Stop now: checks in progress are abandoned, the others not started.
        """
        if self._done.called:
            return
        self.interrupted = True
        self._cooperator.stop()
        for pending in list(self._inFlight):
            pending.cancel()

    def _inParallel(self, work: Iterator[Deferred[object]]) -> Deferred[None]:
        workers = [
            self._cooperator.coiterate(work) for _ in range(max(1, self._parallel))
        ]
        return DeferredList(workers, consumeErrors=True).addCallback(lambda _: None)

    def _track(self, pending: Deferred[object]) -> Deferred[object]:
        self._inFlight.add(pending)

        def forget(outcome: object) -> None:
            self._inFlight.discard(pending)

        # Errors (a cancelled check) are swallowed: the worker moves on.
        return pending.addBoth(forget)

    def _resolutions(self) -> Iterator[Deferred[object]]:
        for host in self._plan.hosts:
            if self.interrupted:
                return

            def found(address: str | None, host: str = host) -> None:
                self._addresses[host] = address

            def failed(reason: Failure, host: str = host) -> Failure | None:
                if not isinstance(reason.value, NameNotResolved):
                    return reason
                self._problems[host] = reason.value.why
                return None

            yield self._track(self._resolve(host).addCallbacks(found, failed))

    def _probes(self) -> Iterator[Deferred[object]]:
        for check in self._plan.checks():
            if self.interrupted:
                return
            address = self._addresses.get(check.host)
            started = self._now()
            if address is None:
                why = self._problems.get(check.host, DOES_NOT_RESOLVE)
                self._add(
                    PortResult(
                        check, None, ProbeResult(DNS, why, why), 0.0, self._wallClock()
                    )
                )
                continue

            def measured(
                result: ProbeResult,
                check: PortCheck = check,
                address: str = address,
                started: float = started,
            ) -> None:
                self._add(
                    PortResult(
                        check,
                        address,
                        result,
                        self._now() - started,
                        self._wallClock(),
                    )
                )

            yield self._track(
                self._probeOne(check.host, address, check.port).addCallback(measured)
            )

    def _add(self, result: PortResult) -> None:
        self.results.append(result)
        if self._onResult is not None:
            self._onResult(result)

    def _finish(self, _: object) -> None:
        if not self._done.called:
            self._done.callback(self.results)


def descriptorProblem(
    parallel: int, getrlimit: Callable[[int], tuple[int, int]] = resource.getrlimit
) -> str | None:
    """
    Check that C{parallel} connections fit in the open-file limit, with the
    descriptors the process needs besides them.

    @return: L{None}, or the one-line usage error.
    """
    soft, _ = getrlimit(resource.RLIMIT_NOFILE)
    needed = parallel + SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and needed > soft:
        return (
            f"--parallel {parallel} needs {needed} open files, above the "
            f"limit of {soft} (ulimit -n); use at most "
            f"{max(1, soft - SPARE_DESCRIPTORS)}"
        )
    return None
