"""The UDP rows: datagrams answered per second and server CPU per answer.

Why a module of its own: UDP has no connections, so neither the C load
generator nor the TCP readiness probe applies.  A small Python generator,
in this (pinned) process, keeps a window of padded probes in flight on one
connected socket: each reply sends the next datagram, and a window that
goes quiet for a moment is counted lost and sent again.  Bounded in count
and time; loopback only.

Rows: ``welcome-udp``, ``twistd welcome`` with a ``udp:`` listener and its
rate limits raised out of the way (with the defaults, one source gets 100
replies a second, which is the point of them, and nothing to measure), and
``udp-echo``, a plain Python echo loop (``peers/udp_echo_loop.py``).
"""

from __future__ import annotations

import resource
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.servers import LOOPBACK, ServerError, ServerProcess, ServerSpec

HERE = Path(__file__).resolve().parent
PROBE_SIZE = 1200
WINDOW = 32
QUIET = 0.2
UNLIMITED = {"rate": "1000000", "burst": "1048576"}
"""
The limits' highest values: out of the way of one generator's datagrams.
"""


@dataclass
class UDPResult:
    """One UDP row's figures."""

    name: str
    description: str
    sent: int
    answered: int
    elapsed_s: float
    rate_per_s: float
    cpu_us_per_answer: float
    server_cpu_pct: float
    loadgen_cpu_pct: float
    raw: dict[str, Any] = field(default_factory=dict)


def udp_specs(tmp: Path, twistd: Path) -> list[ServerSpec]:
    """The two rows; ``{port}`` is used for both TCP and UDP by welcome."""
    log = tmp / "welcome-udp.log"
    limits = [
        f"--udp-{scope}{kind}={UNLIMITED[kind]}"
        for scope in ("", "global-")
        for kind in ("rate", "burst")
    ]
    welcome = ServerSpec(
        "welcome-udp",
        [
            str(twistd),
            "--nodaemon",
            "--pidfile=",
            f"--logfile={log}",
            "welcome",
            "--listen",
            "udp:{port}:interface=127.0.0.1",
            *limits,
        ],
        "`twistd -n welcome --listen udp:PORT:interface=127.0.0.1` with "
        "every --udp-* limit at its highest (answers 8 bytes)",
        log_file=log,
    )
    echo = ServerSpec(
        "udp-echo",
        [sys.executable, str(HERE / "peers" / "udp_echo_loop.py"), "--port", "{port}"],
        "plain Python recvfrom/sendto loop (echoes all 1,200 bytes)",
    )
    return [welcome, echo]


class UDPServerProcess(ServerProcess):
    """A server that is ready when it answers a padded datagram."""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((LOOPBACK, self.port))
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                self.check_alive()
                try:
                    sock.send(b"\0" * PROBE_SIZE)
                    if sock.recv(65535):
                        return
                except OSError:
                    time.sleep(0.05)
        raise ServerError(
            f"{self.spec.name}: no UDP answer on port {self.port} after "
            f"{timeout:.0f}s{self._output()}"
        )


def generate(port: int, count: int, max_seconds: float) -> dict[str, float]:
    """Keep ``WINDOW`` probes in flight until ``count`` replies came back.

    :returns: sent, answered, lost windows, elapsed and client CPU seconds.
    """
    probe = b"\0" * PROBE_SIZE
    sent = answered = stalls = 0
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.connect((LOOPBACK, port))
        sock.settimeout(QUIET)
        started = time.monotonic()
        deadline = started + max_seconds
        for _ in range(WINDOW):
            sock.send(probe)
        sent += WINDOW
        while answered < count:
            try:
                sock.recv(65535)
            except TimeoutError:
                stalls += 1
                if time.monotonic() > deadline:
                    break
                for _ in range(WINDOW):
                    sock.send(probe)
                sent += WINDOW
                continue
            answered += 1
            sock.send(probe)
            sent += 1
            if answered % 4096 == 0 and time.monotonic() > deadline:
                break
        elapsed = time.monotonic() - started
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    return {
        "sent": sent,
        "answered": answered,
        "stalls": stalls,
        "elapsed_s": elapsed,
        "client_cpu_s": cpu,
    }


def measure_udp(
    spec: ServerSpec, server_cpu: int, tmp: Path, count: int, max_seconds: float
) -> UDPResult:
    """Start the row's server, warm it up, and measure ``count`` answers."""
    with UDPServerProcess(spec, server_cpu, tmp) as server:
        generate(server.port, min(count // 10, 5000), max_seconds)
        cpu0 = server.cpu_seconds()
        run = generate(server.port, count, max_seconds)
        cpu1 = server.cpu_seconds()
        server.check_alive()
    elapsed = run["elapsed_s"] or float("nan")
    answered = int(run["answered"])
    return UDPResult(
        name=spec.name,
        description=spec.description,
        sent=int(run["sent"]),
        answered=answered,
        elapsed_s=elapsed,
        rate_per_s=answered / elapsed,
        cpu_us_per_answer=(cpu1 - cpu0) / max(answered, 1) * 1e6,
        server_cpu_pct=(cpu1 - cpu0) / elapsed * 100,
        loadgen_cpu_pct=run["client_cpu_s"] / elapsed * 100,
        raw={**run, "server_cpu_s": cpu1 - cpu0},
    )


def udp_markdown(results: list[UDPResult], count: int) -> str:
    """The UDP table, to follow the TCP report."""
    lines = [
        "",
        "#### UDP: datagrams answered",
        "",
        f"{count:,} replies measured per row after a warm-up, {WINDOW} padded "
        f"{PROBE_SIZE:,}-byte probes in flight from one socket (Python "
        "generator on the client CPU); CPU is the server's utime+stime.",
        "",
        "| server | answered/s | server CPU µs/answer | server CPU % "
        "| generator CPU % | sent | answered |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.rate_per_s:,.0f} | {r.cpu_us_per_answer:.1f} "
            f"| {r.server_cpu_pct:.0f} | {r.loadgen_cpu_pct:.0f} "
            f"| {r.sent:,} | {r.answered:,} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- `{r.name}`: {r.description}")
    return "\n".join(lines) + "\n"
