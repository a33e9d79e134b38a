# -*- test-case-name: tests.test_client_scan_output -*-
"""
The terminal's output of a scan: a port table sorted by host and port, like
nmap's, then the summary line.

Each row shows the port, its state, the time the check took, an excerpt of
the welcome (or the reason there was none), and, for a port that did not
show what was expected, what was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from welcome_protocol.client.checks import decodeWelcome
from welcome_protocol.client.expectations import excerpt
from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.summary import ScanSummary, sortedResults
from welcome_protocol.client.target import describeTarget

EXCERPT = 60
HEADINGS = ("PORT", "STATE", "TIME", "WELCOME")


def _time(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def _detail(result: PortResult) -> str:
    if result.result.welcome:
        text = excerpt(decodeWelcome(result.result.welcome), EXCERPT)
    else:
        text = result.result.reason
    if result.asExpected and result.check.expectClosed:
        text = f"{text} (expected closed)"
    if not result.asExpected:
        wanted = "closed" if result.check.expectClosed else "a welcome"
        text = f"{text}  <- expected {wanted}".strip()
    return text


def tableRows(results: Sequence[PortResult]) -> list[tuple[str, ...]]:
    """
    @return: The heading and a row per result, sorted; a row's port is
        C{host:port} when the run checked more than one host.
    """
    hosts = {r.check.host for r in results}
    rows: list[tuple[str, ...]] = [HEADINGS]
    for result in sortedResults(results):
        port = (
            describeTarget(result.check.host, result.check.port)
            if len(hosts) > 1
            else str(result.check.port)
        )
        rows.append((port, result.state, _time(result.seconds), _detail(result)))
    return rows


def tableLines(results: Sequence[PortResult], summary: ScanSummary) -> list[str]:
    """
    @return: The aligned table, a blank line and the summary.
    """
    rows = tableRows(results)
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADINGS) - 1)]
    lines = [
        "  ".join(
            [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
            + [row[-1]]
        ).rstrip()
        for row in rows
    ]
    host = ""
    if summary.hosts == 1 and results:
        host, address = results[0].check.host, results[0].address
        if address != host:
            host = f"{host} ({address or 'does not resolve'})"
    heading = [f"Ports of {host}:"] if host else []
    return heading + lines + ["", summary.line()]


class TableOutput:
    """
    Print the table and the summary once the scan is over.
    """

    def __init__(self, stdout: TextIO) -> None:
        self._stdout = stdout

    def report(self, results: Sequence[PortResult], summary: ScanSummary) -> None:
        """
        Print everything.
        """
        self._stdout.write("\n".join(tableLines(results, summary)) + "\n")
        self._stdout.flush()
