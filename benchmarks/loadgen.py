"""Compile and drive the C load generator (``loadgen.c``).

Why compile at run time: no binaries in the repository, and the generator is
built with the same compiler and flags on the machine that is measured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


class BuildError(Exception):
    """The C compiler is missing or failed; the message has its output."""


def compile_c(source: Path, output: Path) -> Path:
    """Build one C file with $CC (default gcc) -O2; return the binary path."""
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise BuildError(f"C compiler {cc!r} not found (set CC or install gcc)")
    cmd = [cc, "-O2", "-Wall", "-Wextra", "-std=gnu11", "-o", str(output), str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(cmd)} failed:\n{done.stderr.strip()}")
    return output


@dataclass(frozen=True)
class LoadResult:
    """What one load-generator run reported (see loadgen.c for meanings)."""

    greetings: int
    attempts: int
    errors: int
    errors_by_kind: dict[str, int]
    elapsed_s: float
    rate_per_s: float
    concurrency: int
    client_cpu_s: float
    aborted: bool
    latency_us: dict[str, float]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadResult:
        """Build from the generator's JSON line."""
        return cls(
            greetings=int(data["greetings"]),
            attempts=int(data["attempts"]),
            errors=int(data["errors"]),
            errors_by_kind={k: int(v) for k, v in data["errors_by_kind"].items()},
            elapsed_s=float(data["elapsed_s"]),
            rate_per_s=float(data["rate_per_s"]),
            concurrency=int(data["concurrency"]),
            client_cpu_s=float(data["client_cpu_s"]),
            aborted=bool(data["aborted"]),
            latency_us={k: float(v) for k, v in data["latency_us"].items()},
        )


class LoadGenerator:
    """The compiled generator, pinned to ``cpu`` when it runs."""

    def __init__(self, workdir: Path, cpu: int | None) -> None:
        """Compile loadgen.c into ``workdir`` (a temporary directory)."""
        self.binary = compile_c(HERE / "loadgen.c", workdir / "loadgen")
        self.cpu = cpu

    def _pin(self) -> None:
        """Runs in the child before exec: keep it off the server's CPU."""
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})

    def run(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        concurrency: int,
        count: int = 0,
        duration: float = 0.0,
        expected: str = "Welcome!",
        timeout_ms: int = 5000,
        max_errors: int = 1000,
        max_seconds: float = 300.0,
    ) -> LoadResult:
        """Run one closed-loop phase against ``host`` (loopback) and ``port``.

        ``count`` bounds the connection attempts, ``duration`` the time; at
        least one must be set.  ``max_seconds`` is a hard wall-clock bound on
        the child process (it is killed after that).
        """
        cmd = [
            str(self.binary),
            "-H", host,
            "-p", str(port),
            "-c", str(concurrency),
            "-n", str(count),
            "-d", str(duration),
            "-e", expected,
            "-t", str(timeout_ms),
            "-x", str(max_errors),
        ]  # fmt: skip
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
            timeout=max_seconds,  # run() kills the child on timeout/Ctrl-C
            preexec_fn=self._pin,  # safe: the benchmark starts no threads
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"loadgen exited with {done.returncode}: {done.stderr.strip()}"
            )
        result: dict[str, Any] = json.loads(done.stdout)
        return LoadResult.from_json(result)
