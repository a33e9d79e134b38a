"""Count a server's system calls per greeting with ``strace -c -f``.

Why a phase of its own: tracing slows a server several times over, so it
never overlaps the phases whose time and CPU are measured.  What it counts
does not depend on speed, except how many greetings share one
``epoll_wait`` (a slower server finds more clients waiting per wake-up), the
same for every row.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class TraceError(Exception):
    """strace is missing, could not attach, or printed no summary."""


@dataclass(frozen=True)
class SyscallCount:
    """The system calls a server made over one phase, and its greetings."""

    greetings: int
    calls: dict[str, int] = field(default_factory=dict)

    @classmethod
    def total(cls, rounds: Iterable[dict[str, Any] | None]) -> SyscallCount | None:
        """The counts of several rounds (as ``dataclasses.asdict`` gives
        them) added up; None if no round was counted."""
        greetings = 0
        calls: dict[str, int] = {}
        for counted in rounds:
            if counted is None:
                continue
            greetings += counted["greetings"]
            for name, n in counted["calls"].items():
                calls[name] = calls.get(name, 0) + n
        return cls(greetings, calls) if calls else None

    @property
    def per_greeting(self) -> float:
        """All system calls divided by the greetings of the phase."""
        return sum(self.calls.values()) / max(self.greetings, 1)

    def breakdown(self, least: float = 0.01) -> str:
        """The calls per greeting by name, largest first, as one line.

        :param least: calls per greeting below which a name is left out.
        """
        shares = sorted(
            (-round(n / max(self.greetings, 1), 2), name)
            for name, n in self.calls.items()
        )
        kept = [f"{name} {-share:.2f}" for share, name in shares if -share >= least]
        return ", ".join(kept)


def parse_summary(text: str) -> dict[str, int]:
    """The calls per system call name from ``strace -c``'s table.

    Rows are ``% time, seconds, usecs/call, calls, [errors], syscall``; the
    errors column is empty for calls that never failed.
    """
    calls: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) not in (5, 6) or fields[-1] == "total":
            continue
        try:
            float(fields[0])
            count = int(fields[3])
        except ValueError:
            continue
        calls[fields[-1]] = count
    return calls


def count_syscalls(
    pids: list[int],
    run: Callable[[], int],
    output: Path,
    attach_timeout: float = 10.0,
) -> SyscallCount:
    """Attach ``strace -c -f`` to ``pids``, call ``run``, detach, count.

    :param run: runs the load and returns how many greetings completed.
    :param output: where strace writes its summary.
    """
    strace = shutil.which("strace")
    if strace is None:
        raise TraceError("strace not found (install it for the syscall column)")
    argv = [strace, "-c", "-f", "-o", str(output)]
    for pid in pids:
        argv += ["-p", str(pid)]
    tracer = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_attached(tracer, len(pids), attach_timeout)
        greetings = run()
    finally:
        with contextlib.suppress(ProcessLookupError):
            tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(timeout=attach_timeout)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
        if tracer.stderr is not None:
            tracer.stderr.close()
    calls = parse_summary(output.read_text() if output.exists() else "")
    if not calls:
        raise TraceError(f"strace printed no summary to {output.name}")
    return SyscallCount(greetings, calls)


def _wait_attached(tracer: subprocess.Popen[bytes], count: int, timeout: float) -> None:
    """Read strace's stderr until it says it attached to ``count`` processes."""
    assert tracer.stderr is not None
    fd = tracer.stderr.fileno()
    deadline = time.monotonic() + timeout
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while seen.count(b" attached") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise TraceError(f"strace did not attach: {seen[-300:]!r}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise TraceError(f"strace exited: {seen[-300:]!r}")
            seen += chunk
