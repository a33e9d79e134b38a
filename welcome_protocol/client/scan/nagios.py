# -*- test-case-name: tests.test_client_scan_output -*-
"""
C{--nagios} for a scan: one line with the counts and performance data, and
the worst state of any port.

Each port that should welcome is judged by L{welcome_protocol.client.judge}
as a single check is: a refusal takes C{--refused} (CRITICAL by default), a
mismatch C{--mismatch} (WARNING by default) unless its own response time is
critical, a certificate expiring soon its level, any other failure
CRITICAL.  A port named by C{--expect-closed} that did not refuse or time
out is CRITICAL.  C{--warning} and C{--critical} judge the slowest welcome,
and an interrupted scan is CRITICAL.  The line has the worst state.  For
example (one line, split here)::

    WELCOME CRITICAL - 2 of 100 ports not as expected: 127.0.0.1:20005
    refused, 127.0.0.1:22 welcomed (98 welcomed, 1 refused, 1 ...)
    |ports=100;;;0; unexpected=2;;;0;100 welcomed=98;;;0;100 ...
"""

from __future__ import annotations

from typing import TextIO

from welcome_protocol.client.judge import (
    CRITICAL,
    OK,
    NagiosPolicy,
    pluginLine,
    resultState,
    timePerfdata,
    timeState,
)
from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.states import WELCOMED
from welcome_protocol.client.scan.summary import ScanSummary, label

LISTED = 5
"""
The most ports named in the line; the counts cover the rest.
"""


def portState(result: PortResult, policy: NagiosPolicy) -> int:
    """
    @return: The plugin state one port's result calls for (the time of a
        welcome is judged with the others', as the slowest).
    """
    if result.asExpected:
        return OK
    if result.check.expectClosed:
        return CRITICAL
    seconds = None if result.state == WELCOMED else result.result.totalSeconds
    return resultState(result.result, policy, seconds)


def scanPerfdata(summary: ScanSummary, policy: NagiosPolicy) -> str:
    """
    The counts, then the slowest welcome as C{time} in C{check_tcp}'s form.
    """
    n = summary.ports
    fields = [f"ports={n};;;0;", f"unexpected={len(summary.unexpected)};;;0;{n}"]
    fields += [f"{state}={count};;;0;{n}" for state, count in summary.states.items()]
    if summary.slowest is not None:
        fields.append(timePerfdata(summary.slowest, policy))
    return " ".join(fields)


def judgeScan(summary: ScanSummary, policy: NagiosPolicy) -> tuple[int, str]:
    """
    @return: The plugin's state and its one line.
    """
    states = [OK, timeState(summary.slowest, policy)]
    states += [portState(r, policy) for r in summary.unexpected]
    if summary.interrupted:
        states.append(CRITICAL)
    state = max(states)
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
    if summary.slowest is not None:
        text += f", slowest welcome {summary.slowest:.3f} s"
    return state, pluginLine(state, text, scanPerfdata(summary, policy))


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
