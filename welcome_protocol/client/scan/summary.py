# -*- test-case-name: tests.test_client_scan_output -*-
"""
The sums every output of a scan ends with: how many ports showed what, and
which were not as expected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs

from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.states import STATES, WELCOMED
from welcome_protocol.client.target import describeTarget


def sortedResults(results: Sequence[PortResult]) -> list[PortResult]:
    """
    @return: The results by target (in the order given), then port.
    """
    return sorted(results, key=lambda r: (r.check.target, r.check.port))


def label(result: PortResult) -> str:
    """
    @return: C{host:port} of a result.
    """
    return describeTarget(result.check.host, result.check.port)


@attrs.frozen
class ScanSummary:
    """
    @ivar ports: Checks completed.
    @ivar hosts: Distinct hosts among them.
    @ivar expected: Checks whose port showed what was expected.
    @ivar states: How many ports are in each state (every one of
        L{STATES}, and any other kind that occurred).
    @ivar unexpected: The results that were not as expected, sorted.
    @ivar slowest: The longest time to a welcome, or L{None} without one.
    @ivar seconds: The run's duration.
    @ivar interrupted: Whether the run was cut short.
    """

    ports: int
    hosts: int
    expected: int
    states: dict[str, int]
    unexpected: tuple[PortResult, ...]
    slowest: float | None
    seconds: float
    interrupted: bool

    @property
    def allExpected(self) -> bool:
        """
        Whether at least one port was checked, and every one as expected.
        """
        return self.ports > 0 and not self.unexpected and not self.interrupted

    @classmethod
    def of(
        cls, results: Sequence[PortResult], seconds: float, interrupted: bool
    ) -> ScanSummary:
        """
        Sum up C{results}.
        """
        counts: Counter[str] = Counter({state: 0 for state in STATES})
        counts.update(r.state for r in results)
        times = [r.seconds for r in results if r.state == WELCOMED]
        unexpected = tuple(r for r in sortedResults(results) if not r.asExpected)
        return cls(
            ports=len(results),
            hosts=len({r.check.host for r in results}),
            expected=len(results) - len(unexpected),
            states=dict(counts),
            unexpected=unexpected,
            slowest=max(times) if times else None,
            seconds=seconds,
            interrupted=interrupted,
        )

    def countsText(self) -> str:
        """
        @return: E.g. C{500 welcomed, 500 refused}: the states that occurred.
        """
        parts = [f"{n} {state}" for state, n in self.states.items() if n]
        return ", ".join(parts) or "nothing checked"

    def line(self) -> str:
        """
        @return: The summary sentence, e.g. C{1000 ports on 1 host in 1.52 s:
            1000 as expected (500 welcomed, 500 refused)}.
        """
        hosts = "host" if self.hosts == 1 else "hosts"
        ports = "port" if self.ports == 1 else "ports"
        text = (
            f"{self.ports} {ports} on {self.hosts} {hosts} in {self.seconds:.2f} s: "
            f"{self.expected} as expected, {len(self.unexpected)} not "
            f"({self.countsText()})"
        )
        return text + (", interrupted" if self.interrupted else "")
