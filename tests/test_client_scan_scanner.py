"""
Tests for L{welcome_protocol.client.scan.scanner}: bounded parallel checks,
with a fake clock and probes the test completes by hand.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.scan.plan import ScanPlan, ScanTarget
from welcome_protocol.client.scan.scanner import (
    PortResult,
    Resolve,
    Scanner,
    descriptorProblem,
)


class FakeProbes:
    """
    Probes that stay pending until the test fires them.

    @ivar pending: The probes in progress: (host, address, port) and the
        Deferred.
    @ivar peak: The most probes in progress at once.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[tuple[str, str, int], Deferred[ProbeResult]]] = []
        self.cancelled = 0
        self.peak = 0

    def __call__(self, host: str, address: str, port: int) -> Deferred[ProbeResult]:
        def cancel(d: Deferred[ProbeResult]) -> None:
            self.cancelled += 1

        d: Deferred[ProbeResult] = Deferred(cancel)
        entry = ((host, address, port), d)
        self.pending.append(entry)

        def done(result: object) -> object:
            self.pending.remove(entry)
            return result

        d.addBoth(done)
        self.peak = max(self.peak, len(self.pending))
        return d

    def answerAll(self, clock: Clock) -> None:
        """
        Welcome every pending probe, letting the workers move on, until
        none is left.
        """
        while self.pending:
            for _, d in list(self.pending):
                d.callback(
                    ProbeResult(
                        None, welcome=b"Hi", connectSeconds=0.001, welcomeSeconds=0.001
                    )
                )
            clock.advance(0)


def resolver(known: dict[str, str]) -> Resolve:
    """
    A resolver that knows C{known} and nothing else.
    """

    def resolve(host: str) -> Deferred[str | None]:
        return succeed(known.get(host))

    return resolve


class ScannerTests(TestCase):
    """
    L{Scanner}.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.probes = FakeProbes()

    def scanner(self, plan: ScanPlan, parallel: int) -> Scanner:
        """
        A scanner over C{plan} with the fake clock and probes.
        """
        return Scanner(
            self.clock,
            plan,
            resolver({"a": "192.0.2.1", "b": "2001:db8::1"}),
            self.probes,
            parallel,
            now=self.clock.seconds,
        )

    def test_boundedParallel(self) -> None:
        """
        A thousand ports with C{parallel} 7: never more than 7 probes at
        once, and every port is checked once.
        """
        plan = ScanPlan((ScanTarget("a", tuple(range(1, 1001))),))
        d = self.scanner(plan, 7).start()
        self.clock.advance(0)
        self.assertEqual(len(self.probes.pending), 7)
        self.probes.answerAll(self.clock)
        results = self.successResultOf(d)
        self.assertEqual(self.probes.peak, 7)
        self.assertEqual(sorted(r.check.port for r in results), list(range(1, 1001)))
        self.assertTrue(all(r.address == "192.0.2.1" for r in results))

    def test_timedFromStart(self) -> None:
        """
        Each result's time runs from the start of its own check.
        """
        plan = ScanPlan((ScanTarget("b", (1,)),))
        d = self.scanner(plan, 1).start()
        self.clock.advance(0)
        ((where, probe),) = self.probes.pending
        self.assertEqual(where, ("b", "2001:db8::1", 1))
        self.clock.advance(1.5)
        probe.callback(ProbeResult("refused"))
        self.clock.advance(0)
        (result,) = self.successResultOf(d)
        self.assertEqual((result.seconds, result.state), (1.5, "refused"))

    def test_unresolvedHost(self) -> None:
        """
        Every port of a name that does not resolve is C{dns}, without a
        probe; the other targets are checked.
        """
        plan = ScanPlan((ScanTarget("nowhere", (1, 2)), ScanTarget("a", (3,))))
        d = self.scanner(plan, 4).start()
        self.clock.advance(0)
        self.assertEqual([w for w, _ in self.probes.pending], [("a", "192.0.2.1", 3)])
        self.probes.answerAll(self.clock)
        results = self.successResultOf(d)
        self.assertEqual(
            sorted((r.check.port, r.state, r.address) for r in results),
            [(1, "dns", None), (2, "dns", None), (3, "welcomed", "192.0.2.1")],
        )

    def test_interrupt(self) -> None:
        """
        Interrupted, the probes in progress are cancelled, no other starts,
        and the run ends with the results so far.
        """
        plan = ScanPlan((ScanTarget("a", tuple(range(1, 101))),))
        scanner = self.scanner(plan, 5)
        d = scanner.start()
        self.clock.advance(0)
        first = self.probes.pending[0][1]
        first.callback(ProbeResult("refused"))
        self.clock.advance(0)
        scanner.interrupt()
        self.clock.advance(1)
        results: list[PortResult] = self.successResultOf(d)
        self.assertEqual(len(results), 1)
        self.assertTrue(scanner.interrupted)
        self.assertEqual(self.probes.cancelled, 5)


class DescriptorProblemTests(TestCase):
    """
    L{descriptorProblem}: C{--parallel} within the open-file limit.
    """

    def test_fits(self) -> None:
        """
        Within the limit, with the spare descriptors: no problem.
        """
        self.assertIsNone(descriptorProblem(992, lambda _: (1024, 4096)))

    def test_tooMany(self) -> None:
        """
        Beyond it: one line naming the need, the limit and the most that
        fits.
        """
        self.assertEqual(
            descriptorProblem(1000, lambda _: (1024, 4096)),
            "--parallel 1000 needs 1032 open files, above the limit of 1024 "
            "(ulimit -n); use at most 992",
        )
