# -*- test-case-name: tests.test_client_scan_output -*-
"""
C{--nagios} for a scan: one line with the counts and performance data, and
the worst state of any port.

A port that was not as expected is CRITICAL, except a refusal (C{--refused},
CRITICAL by default) or a mismatch (C{--mismatch}, WARNING by default) of a
port that should welcome.  C{--warning} and C{--critical} judge the slowest
welcome.  For example (one line, split here)::

    WELCOME CRITICAL - 2 of 100 ports not as expected: 127.0.0.1:20005
    refused, 127.0.0.1:22 welcomed (98 welcomed, 1 refused, 1 ...)
    |ports=100;;;0; unexpected=2;;;0;100 welcomed=98;;;0;100 ...
"""

from __future__ import annotations

from typing import TextIO

from welcome_protocol.client.output.nagios import (
    CRITICAL,
    OK,
    SERVICE,
    STATE_NAMES,
    WARNING,
    NagiosPolicy,
)
from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.states import MISMATCH_STATE, REFUSED_STATE
from welcome_protocol.client.scan.summary import ScanSummary, label

LISTED = 5
"""
The most ports named in the line; the counts cover the rest.
"""


def portState(result: PortResult, policy: NagiosPolicy) -> int:
    """
    @return: The plugin state one port's result calls for.
    """
    if result.asExpected:
        return OK
    if not result.check.expectClosed:
        if result.state == REFUSED_STATE:
            return policy.refused
        if result.state == MISMATCH_STATE:
            return policy.mismatch
    return CRITICAL


def scanPerfdata(summary: ScanSummary, policy: NagiosPolicy) -> str:
    """
    The counts, then the slowest welcome as C{time} in C{check_tcp}'s form.
    """
    n = summary.ports
    fields = [f"ports={n};;;0;", f"unexpected={len(summary.unexpected)};;;0;{n}"]
    fields += [f"{state}={count};;;0;{n}" for state, count in summary.states.items()]
    if summary.slowest is not None:
        warning = "" if policy.warning is None else str(policy.warning)
        critical = "" if policy.critical is None else str(policy.critical)
        fields.append(
            f"time={summary.slowest:f}s;{warning};{critical};0.000000;"
            f"{policy.timeout:f}"
        )
    return " ".join(fields)


def judgeScan(summary: ScanSummary, policy: NagiosPolicy) -> tuple[int, str]:
    """
    @return: The plugin's state and its one line.
    """
    state = max([OK, *(portState(r, policy) for r in summary.unexpected)])
    slowest = summary.slowest
    if slowest is not None:
        if policy.critical is not None and policy.critical.alerts(slowest):
            state = CRITICAL
        elif policy.warning is not None and policy.warning.alerts(slowest):
            state = max(state, WARNING)
    if summary.interrupted:
        state = max(state, CRITICAL)
    counts = summary.countsText()
    if summary.unexpected:
        named = ", ".join(f"{label(r)} {r.state}" for r in summary.unexpected[:LISTED])
        more = ", ..." if len(summary.unexpected) > LISTED else ""
        text = (
            f"{len(summary.unexpected)} of {summary.ports} ports not as expected: "
            f"{named}{more} ({counts})"
        )
    else:
        text = f"{summary.ports} ports as expected ({counts})"
    if slowest is not None:
        text += f", slowest welcome {slowest:.3f} s"
    text = text.replace("|", "\\x7c")
    return (
        state,
        f"{SERVICE} {STATE_NAMES[state]} - {text}|{scanPerfdata(summary, policy)}",
    )


class ScanNagiosOutput:
    """
    Print the line; keep the state for the exit status.
    """

    def __init__(self, stdout: TextIO, policy: NagiosPolicy) -> None:
        self._stdout = stdout
        self._policy = policy
        self.state = OK

    def report(self, results: object, summary: ScanSummary) -> None:
        """
        Print the plugin's line.
        """
        self.state, line = judgeScan(summary, self._policy)
        self._stdout.write(line + "\n")
        self._stdout.flush()
