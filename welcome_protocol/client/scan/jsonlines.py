# -*- test-case-name: tests.test_client_scan_output -*-
"""
C{--json} for a scan: one object per port (C{"type": "port"}), written as
each port's check ends (so a killed run keeps what it had), or with
C{--sorted} sorted as the table is, at the end; then one
C{"type": "scan_summary"} object.

A port object has every field of the single probe's attempt object
(L{welcome_protocol.client.output.jsonlines.attemptObject}), with the same
meanings, plus the scan's own: C{state}, C{expect_closed}, C{as_expected}
and C{seconds}.  Like the rest of C{--json}, fields are only ever added.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from welcome_protocol.client.output.jsonlines import attemptObject
from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.summary import ScanSummary, label, sortedResults
from welcome_protocol.client.target import Target


def portObject(result: PortResult, now: datetime.datetime) -> dict[str, Any]:
    """
    The object for one port.

    @param now: The time of the report, for a result without its own.
    """
    check = result.check
    target = Target(label(result), check.host, check.port, check.transport)
    obj = attemptObject(target, 1, result.result, result.at or now)
    del obj["attempt"]
    obj.update(
        type="port",
        state=result.state,
        expect_closed=check.expectClosed,
        as_expected=result.asExpected,
        seconds=round(result.seconds, 6),
    )
    if obj["address"] is None:
        obj["address"] = result.address
    return obj


def scanSummaryObject(summary: ScanSummary) -> dict[str, Any]:
    """
    The object that ends the output.
    """
    return {
        "type": "scan_summary",
        "ports": summary.ports,
        "hosts": summary.hosts,
        "as_expected": summary.expected,
        "unexpected": len(summary.unexpected),
        "states": summary.states,
        "slowest_welcome_seconds": (
            None if summary.slowest is None else round(summary.slowest, 6)
        ),
        "seconds": round(summary.seconds, 6),
        "interrupted": summary.interrupted,
    }


class ScanJSONOutput:
    """
    Write the port objects and the summary object, one line each.
    """

    def __init__(
        self,
        stdout: TextIO,
        utcNow: Callable[[], datetime.datetime],
        streamed: bool = False,
    ) -> None:
        """
        @param streamed: Write each port's object as it comes (L{port}),
            rather than all of them sorted at the end.
        """
        self._stdout = stdout
        self._utcNow = utcNow
        self._streamed = streamed

    def port(self, result: PortResult) -> None:
        """
        One port's check ended: write its object now, if streaming.
        """
        if self._streamed:
            self._stdout.write(json.dumps(portObject(result, self._utcNow())) + "\n")
            self._stdout.flush()

    def report(self, results: Sequence[PortResult], summary: ScanSummary) -> None:
        """
        Write the port objects not yet written, then the summary.
        """
        now = self._utcNow()
        for result in () if self._streamed else sortedResults(results):
            self._stdout.write(json.dumps(portObject(result, now)) + "\n")
        self._stdout.write(json.dumps(scanSummaryObject(summary)) + "\n")
        self._stdout.flush()
