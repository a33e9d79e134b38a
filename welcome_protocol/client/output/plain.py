# -*- test-case-name: tests.test_client_output -*-
"""
Plain text: the welcome itself, or tcping-like lines with C{--count}.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TextIO

from welcome_protocol.client.checks import decodeWelcome
from welcome_protocol.client.output.timestamps import rfc3339
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.repeat import Summary
from welcome_protocol.client.target import Target, describeTarget

PROGRAM = "welcome-client"


def _utcNow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def printWelcome(result: ProbeResult, stdout: TextIO, stderr: TextIO) -> None:
    """
    The default mode: the decoded welcome on stdout (with a final newline),
    or one line on stderr saying why not.
    """
    if result.ok and not result.welcome:
        # --connect-only: the port accepted, and that was the question.
        stdout.write("open: the port accepts connections\n")
        stdout.flush()
    elif result.ok:
        text = decodeWelcome(result.welcome)
        stdout.write(text if text.endswith("\n") else text + "\n")
        stdout.flush()
        if result.truncated:
            stderr.write(f"{PROGRAM}: {_cut(result)}\n")
            stderr.flush()
    else:
        stderr.write(f"{PROGRAM}: {result.message}\n")
        stderr.flush()


def _cut(result: ProbeResult) -> str:
    return f"the welcome was cut at {len(result.welcome)} bytes (--max-bytes)"


def _milliseconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}"


def answered(target: Target, result: ProbeResult) -> str:
    """
    Name the server in a per-attempt line, with the address that answered
    when it is not the host itself (a name with several addresses).
    """
    if (
        result.address is None
        or target.port is None
        or target.host is None
        or result.address == target.host
    ):
        return target.label
    return f"{target.label} ({describeTarget(result.address, target.port)})"


def attemptLine(target: Target, result: ProbeResult) -> str:
    """
    One attempt, e.g. C{Welcome from 127.0.0.1:12000: 8 bytes, connect
    0.21 ms, welcome 0.43 ms} or C{No welcome from 127.0.0.1:12000:
    connection refused}; over UDP, C{Welcome from 127.0.0.1:12000/udp: 8
    bytes, reply 0.12 ms, try 1}.
    """
    where = answered(target, result)
    if result.ok and not result.welcome:
        return f"Open {where}: connect {_milliseconds(result.connectSeconds)} ms" + (
            f", handshake {_milliseconds(result.welcomeSeconds)} ms"
            if result.tls is not None
            else ""
        )
    if result.ok and result.tries is not None:
        return (
            f"Welcome from {where}: {len(result.welcome)} bytes, "
            f"reply {_milliseconds(result.welcomeSeconds)} ms, try {result.tries}"
        )
    if result.ok:
        return (
            f"Welcome from {where}: {len(result.welcome)} bytes, "
            f"connect {_milliseconds(result.connectSeconds)} ms, "
            f"welcome {_milliseconds(result.welcomeSeconds)} ms"
            + (f"; {_cut(result)}" if result.truncated else "")
        )
    return f"No welcome from {where}: {result.reason}"


def summaryLines(target: Target, summary: Summary) -> list[str]:
    """
    The closing statistics, in C{ping}'s shape.
    """
    lines = [
        f"--- {target.label} welcome statistics ---",
        f"{summary.attempts} attempt{'' if summary.attempts == 1 else 's'}, "
        f"{summary.welcomed} welcomed, "
        f"{summary.failedPercent:.1f}% failed",
    ]
    stats = summary.statistics()
    if stats is not None:
        figures = "/".join(f"{value * 1000:.3f}" for value in stats)
        lines.append(f"time to welcome min/avg/max/mdev = {figures} ms")
    return lines


class PlainRepeatOutput:
    """
    C{--count}: a line per attempt and the summary, on stdout.  Each
    attempt's line starts with its time in brackets, as C{ping -D}'s do:
    C{[2026-12-08T00:58:46.123Z] Welcome from ...}.
    """

    def __init__(
        self,
        target: Target,
        stdout: TextIO,
        utcNow: Callable[[], datetime.datetime] = _utcNow,
    ) -> None:
        """
        @param utcNow: The clock of the lines' times.
        """
        self._target = target
        self._stdout = stdout
        self._utcNow = utcNow

    def attempt(self, number: int, result: ProbeResult) -> None:
        """
        Print one attempt's line.
        """
        stamp = rfc3339(self._utcNow())
        self._stdout.write(f"[{stamp}] {attemptLine(self._target, result)}\n")
        self._stdout.flush()

    def summary(self, summary: Summary) -> None:
        """
        Print the statistics, after a blank line.
        """
        self._stdout.write("\n" + "\n".join(summaryLines(self._target, summary)) + "\n")
        self._stdout.flush()
