"""Start, pin, watch and stop the server processes under test.

Why a module of its own: every server, whatever it is written in, is treated
the same way (a child process on a free loopback port, pinned to one CPU,
measured through /proc), and every child must be gone when the benchmark
exits, on errors and Ctrl-C included.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

GREETING = b"Welcome!"
LOOPBACK = "127.0.0.1"


class ServerError(Exception):
    """A server could not be started or died; the message says why."""


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server row: its name and its command line.

    ``argv`` holds the literal ``{port}`` placeholder where the port goes.
    """

    name: str
    argv: list[str]
    description: str
    log_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    # CPUs for this row instead of the server CPU (e.g. all of them, for
    # worker processes that should spread over the cores).
    cpus: frozenset[int] | None = None
    # Whether the server keeps connections open after the greeting (the
    # hold mode's rows): the readiness probe then stops at the greeting.
    keeps_open: bool = False
    # The loopback address it listens on and is measured over: 127.0.0.1,
    # or ::1 for the IPv6 rows.
    host: str = LOOPBACK

    def command(self, port: int) -> list[str]:
        """The argv with the port filled in."""
        return [a.replace("{port}", str(port)) for a in self.argv]


def family_of(host: str) -> socket.AddressFamily:
    """AF_INET6 for a numeric IPv6 address, else AF_INET."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str = LOOPBACK) -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(family_of(host), socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on, in order."""
    return sorted(os.sched_getaffinity(0))


_LIVE: set[ServerProcess] = set()


def _stop_all() -> None:
    """Last-resort cleanup at interpreter exit."""
    for server in list(_LIVE):
        server.stop()


atexit.register(_stop_all)


def _read_tail(path: Path, limit: int = 2000) -> str:
    """The end of a log file, for error messages."""
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


class ServerProcess:
    """One running server: a child in its own session, pinned to ``cpu``.

    Use as a context manager; leaving the block always stops the child
    (SIGTERM to its process group, SIGKILL after a grace period).
    """

    def __init__(self, spec: ServerSpec, cpu: int | None, workdir: Path) -> None:
        """Remember what to start; nothing runs until ``start``."""
        self.spec = spec
        self.cpu = cpu
        self.port = free_port(spec.host)
        safe = "".join(c if c.isalnum() else "-" for c in spec.name)
        self.stderr_path = workdir / f"{safe}.stderr"
        self._stderr: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None
        return self._proc.pid

    def _pin(self) -> None:
        """Runs in the child before exec: pin it (and its threads) to one CPU."""
        if self.spec.cpus is not None:
            os.sched_setaffinity(0, self.spec.cpus)
        elif self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})

    def start(self, ready_timeout: float = 30.0) -> None:
        """Start the child and wait until it greets a test connection."""
        env = {**os.environ, **self.spec.env}
        self._stderr = self.stderr_path.open("wb")
        self._proc = subprocess.Popen(
            self.spec.command(self.port),
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C goes to us; we stop it cleanly.
            preexec_fn=self._pin,  # safe: the benchmark starts no threads
        )
        _LIVE.add(self)
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float) -> None:
        """Poll the port until one connection gets exactly the greeting."""
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                got = fetch_greeting(
                    self.port,
                    host=self.spec.host,
                    timeout=2.0,
                    limit=len(GREETING) if self.spec.keeps_open else 4096,
                )
            except OSError as e:
                last_error = str(e)
                time.sleep(0.05)
                continue
            if got != GREETING:
                raise ServerError(
                    f"{self.spec.name}: expected {GREETING!r}, got {got!r}"
                )
            return
        raise ServerError(
            f"{self.spec.name}: not ready on port {self.port} after {timeout:.0f}s "
            f"({last_error}){self._output()}"
        )

    def _output(self) -> str:
        """The child's captured output and log, for error messages."""
        parts = [_read_tail(self.stderr_path)]
        if self.spec.log_file is not None:
            parts.append(_read_tail(self.spec.log_file))
        text = "\n".join(p for p in parts if p)
        return f"\n--- server output ---\n{text}" if text else ""

    def check_alive(self) -> None:
        """Raise ServerError (with its output) if the child has exited."""
        assert self._proc is not None
        code = self._proc.poll()
        if code is not None:
            raise ServerError(
                f"{self.spec.name} exited with status {code}{self._output()}"
            )

    def processes(self) -> list[int]:
        """The server's pid and those of its descendants (worker processes)."""
        found = [self.pid]
        for pid in found:
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    found.extend(int(c) for c in task.read_text().split())
        return found

    def cpu_seconds(self) -> float:
        """utime + stime of the server and its live descendants (all threads)."""
        ticks = 0
        for pid in self.processes():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            # comm (field 2) may contain spaces; fields after ')' start at 3.
            fields = stat.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident set size (VmRSS) of the server and its descendants, KiB."""
        total = 0
        for pid in self.processes():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        if not total:
            raise ServerError(f"{self.spec.name}: no VmRSS in /proc/{self.pid}")
        return total

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the child's process group; escalate to SIGKILL."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        _LIVE.discard(self)

    def _signal_group(self, sig: signal.Signals) -> None:
        """Signal our child's own process group (it leads a new session)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def __enter__(self) -> ServerProcess:
        """Start the server; stop it again if starting fails."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Always stop the server."""
        self.stop()


def fetch_greeting(
    port: int, timeout: float, limit: int = 4096, host: str = LOOPBACK
) -> bytes:
    """Connect once to ``host`` and read until EOF (readiness probe).

    Reading stops early once ``limit`` bytes came (more than 4096 means
    the greeting is wrong anyway; exactly the greeting's length is enough
    for a server that keeps the connection open).
    """
    with socket.create_connection((host, port), timeout=timeout) as s:
        chunks: list[bytes] = []
        while True:
            data = s.recv(4096)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
            if sum(map(len, chunks)) >= limit:
                return b"".join(chunks)
