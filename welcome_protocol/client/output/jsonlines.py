# -*- test-case-name: tests.test_client_output -*-
"""
C{--json}: JSON Lines, one object per attempt and then one summary object.

This format is stable: fields are only ever added, never renamed, removed
or given another meaning.  Every field is always present; C{null} where it
does not apply.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any, TextIO

from welcome_protocol.client.checks import decodeWelcome
from welcome_protocol.client.output.timestamps import rfc3339
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.repeat import Summary
from welcome_protocol.client.target import Target
from welcome_protocol.client.tls import daysLeft


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)


def attemptObject(
    target: Target, number: int, result: ProbeResult, now: datetime.datetime
) -> dict[str, Any]:
    """
    The object for one attempt.

    @param now: The wall-clock time (UTC) of the record, which the days
        left are counted from; its C{timestamp}.
    """
    tls = result.tls
    notAfter = tls.notAfter if tls is not None else None
    return {
        "type": "attempt",
        "attempt": number,
        "host": target.host if target.host is not None else target.label,
        "port": target.port,
        "address": result.address,
        "ok": result.ok,
        "kind": result.kind,
        "reason": result.reason or None,
        "connect_seconds": _round(result.connectSeconds),
        "welcome_seconds": _round(result.welcomeSeconds),
        "total_seconds": _round(result.totalSeconds),
        "bytes": len(result.welcome),
        "welcome": decodeWelcome(result.welcome) if result.welcome else None,
        "tls_version": tls.version if tls is not None else None,
        "certificate_not_after": (
            notAfter.strftime("%Y-%m-%dT%H:%M:%SZ") if notAfter is not None else None
        ),
        "certificate_days_left": (
            round(daysLeft(notAfter, now), 3) if notAfter is not None else None
        ),
        "transport": target.transport,
        "tries": result.tries,
        "timestamp": rfc3339(now),
        "truncated": result.truncated,
    }


def summaryObject(target: Target, summary: Summary) -> dict[str, Any]:
    """
    The object that ends the output.
    """
    stats = summary.statistics()
    names = ("min_seconds", "avg_seconds", "max_seconds", "mdev_seconds")
    values = [None] * 4 if stats is None else [round(v, 6) for v in stats]
    return {
        "type": "summary",
        "host": target.host if target.host is not None else target.label,
        "port": target.port,
        "transport": target.transport,
        "attempts": summary.attempts,
        "welcomed": summary.welcomed,
        "failed": summary.failed,
        "failed_percent": round(summary.failedPercent, 1),
        **dict(zip(names, values, strict=True)),
        "interrupted": summary.interrupted,
    }


class JSONLinesOutput:
    """
    Write each attempt and the summary as one line of JSON on stdout.
    """

    def __init__(
        self,
        target: Target,
        stdout: TextIO,
        utcNow: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        """
        @param utcNow: Returns the current UTC time; for tests.
        """
        self._target = target
        self._stdout = stdout
        self._utcNow = utcNow or (lambda: datetime.datetime.now(datetime.timezone.utc))

    def _write(self, obj: dict[str, Any]) -> None:
        self._stdout.write(json.dumps(obj, ensure_ascii=True) + "\n")
        self._stdout.flush()

    def attempt(self, number: int, result: ProbeResult) -> None:
        """
        Write one attempt's object.
        """
        self._write(attemptObject(self._target, number, result, self._utcNow()))

    def summary(self, summary: Summary) -> None:
        """
        Write the summary object.
        """
        self._write(summaryObject(self._target, summary))


def usageErrorObject(problem: str, status: int) -> dict[str, Any]:
    """
    The one object of a run that could not start (bad options, a host name
    that cannot be encoded): C{--json} readers get a line too, not silence.
    """
    return {"type": "error", "kind": "usage", "reason": problem, "exit_status": status}
