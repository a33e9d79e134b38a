"""Turn measurements into a README-ready markdown table, JSON and a chart.

Why separate: the numbers are only useful with the context they were taken
in (machine, versions, method), and that context is printed the same way
every time so results from different runs can be compared.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.metadata
import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.hold import HoldResult

BASELINE = "bare-twisted"


@dataclass
class ServerResult:
    """Everything measured for one server row."""

    name: str
    description: str
    greetings: int
    errors: int
    errors_by_kind: dict[str, int]
    rate_per_s: float
    p50_us: float
    p99_us: float
    cpu_us_per_greeting: float
    server_cpu_pct: float
    loadgen_cpu_pct: float
    rtt_p50_us: float
    syscalls_per_greeting: float
    rss_start_kib: int
    rss_after_kib: int
    served_before_rss: int
    raw: dict[str, Any] = field(default_factory=dict)


def _version(dist: str) -> str | None:
    """Installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (first core)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _compiler() -> str:
    """First line of ``$CC --version``, to document the loadgen build."""
    cc = os.environ.get("CC", "gcc")
    try:
        out = subprocess.run(
            [cc, "--version"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return "none"
    return out.splitlines()[0] if out else cc


def machine_info() -> dict[str, Any]:
    """The context a result needs to be meaningful."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "twisted": _version("Twisted"),
        "welcome_protocol": _version("welcome-protocol"),
        "uvloop": _version("uvloop"),
        "compiler": _compiler(),
    }


def _ratio(result: ServerResult, results: list[ServerResult]) -> str:
    """CPU per greeting relative to the bare-Twisted row."""
    base = next((r for r in results if r.name == BASELINE), None)
    if base is None or base.cpu_us_per_greeting <= 0:
        return "n/a"
    return f"{result.cpu_us_per_greeting / base.cpu_us_per_greeting:.2f}x"


def _mib(kib: int) -> str:
    """KiB to MiB with one decimal."""
    return f"{kib / 1024:.1f}"


def markdown(
    results: list[ServerResult],
    info: dict[str, Any],
    config: dict[str, Any],
    notes: list[str],
    held: list[HoldResult] | None = None,
) -> str:
    """The full report: context lines, the table(s), then notes."""
    versions = [f"Python {info['python'].split()[-1]}", f"Twisted {info['twisted']}"]
    if info.get("welcome_protocol"):
        versions.append(f"welcome-protocol {info['welcome_protocol']}")
    if info.get("uvloop"):
        versions.append(f"uvloop {info['uvloop']}")
    served = results[0].served_before_rss if results else config["greetings"]
    lines = [
        "### welcome-protocol benchmark",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPUs, {info['cpu_model']}, {info['kernel']}",
        f"- Software: {', '.join(versions)}; load generator built with "
        f"{info['compiler']}",
        f"- Method: per server {config['warmup']:,} warm-up greetings, then "
        f"{config['measure']} at {config['concurrency']} concurrent connections "
        f"(closed loop, server pinned to CPU {config['server_cpu']}, C load "
        f"generator to CPU {config['client_cpu']}), then "
        f"{config['latency_greetings']:,} greetings one at a time"
        + (
            f", then {config['syscall_greetings']:,} greetings at "
            f"{config['concurrency']} under `strace -c -f` for the system calls"
            if config.get("syscall_greetings")
            else ""
        )
        + ". CPU is the server's utime+stime over the measured phase.",
        "",
        "| server | greetings/s | p50 µs | p99 µs | server CPU µs/greeting "
        "| vs bare Twisted | server CPU % | errors | 1-client round trip µs "
        f"| system calls/greeting | RSS idle MiB | RSS after {served:,} MiB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.rate_per_s:,.0f} | {r.p50_us:,.0f} | {r.p99_us:,.0f} "
            f"| {r.cpu_us_per_greeting:.1f} | {_ratio(r, results)} "
            f"| {r.server_cpu_pct:.0f} | {r.errors} | {r.rtt_p50_us:,.0f} "
            f"| {r.syscalls_per_greeting:.2f} | {_mib(r.rss_start_kib)} "
            f"| {_mib(r.rss_after_kib)} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- **{r.name}**: {r.description}")
    if held:
        lines += _hold_table(held)
    if notes:
        lines += ["", "Notes:", ""]
        lines.extend(f"- {n}" for n in notes)
    return "\n".join(lines) + "\n"


def _hold_table(held: list[HoldResult]) -> list[str]:
    """The hold mode's table: memory per connection kept open."""
    count = held[0].held
    lines = [
        "",
        f"Hold mode: {count:,} connections opened one after the other, each "
        "greeted and then kept open; RSS read before and half a second after.",
        "",
        f"| server (keeping connections open) | RSS idle MiB | RSS with {count:,} "
        "held MiB | bytes per held connection | seconds to open them |",
        "|---|--:|--:|--:|--:|",
    ]
    for h in held:
        lines.append(
            f"| {h.name} | {_mib(h.rss_idle_kib)} | {_mib(h.rss_held_kib)} "
            f"| {h.bytes_per_connection:,.0f} | {h.seconds_to_open:.1f} |"
        )
    lines.append("")
    lines.extend(f"- **{h.name}** (hold): {h.description}" for h in held)
    return lines


def write_json(
    path: Path,
    results: list[ServerResult],
    info: dict[str, Any],
    config: dict[str, Any],
    notes: list[str],
    held: list[HoldResult] | None = None,
) -> None:
    """Save everything, including the generator's raw output per phase."""
    data = {
        "machine": info,
        "config": config,
        "results": [asdict(r) for r in results],
        "hold": [
            {**asdict(h), "bytes_per_connection": h.bytes_per_connection}
            for h in held or []
        ],
        "notes": notes,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")


class PlotUnavailableError(Exception):
    """matplotlib is not installed."""


def write_plot(
    path: Path, results: list[ServerResult], title: str, concurrency: int
) -> None:
    """Bar chart of throughput, CPU cost, latency and memory per server."""
    try:
        # Imported by name: matplotlib is optional (and so are its stubs).
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise PlotUnavailableError(
            "--plot needs matplotlib: pip install matplotlib"
        ) from None
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")

    names = [r.name for r in results]
    panels: list[tuple[str, list[float]]] = [
        (f"greetings/s ({concurrency} clients)", [r.rate_per_s for r in results]),
        ("server CPU µs per greeting", [r.cpu_us_per_greeting for r in results]),
        ("p99 latency µs", [r.p99_us for r in results]),
        ("1-client round trip µs (p50)", [r.rtt_p50_us for r in results]),
    ]
    # Constrained layout makes room for the figure's title above the
    # panels' own (tight_layout ignores it, and the two overlapped).
    fig, axes = plt.subplots(
        2, 2, figsize=(11, 2 + 0.9 * len(results) * 2), layout="constrained"
    )
    for ax, (label, values) in zip(axes.flat, panels, strict=False):
        bars = ax.barh(names, values, color="tab:blue")
        ax.invert_yaxis()
        ax.set_title(label)
        ax.bar_label(bars, fmt="{:,.0f}" if max(values, default=0) > 100 else "{:.1f}")
        ax.margins(x=0.2)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
