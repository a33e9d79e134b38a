"""Benchmark ``twistd welcome`` against bare Twisted, asyncio, uvloop and C.

Why: to know what the service costs per greeting and where that cost comes
from (our package, Twisted, Python), measured the same way on the user's
own machine.  Run from the repository root after ``pip install .``::

    python benchmarks/run.py [--greetings 100000] [--servers welcome,asyncio]

Progress goes to stderr, the markdown report to stdout.  See README.md here.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import re
import shlex
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

if not __package__:  # run as a script: make the "benchmarks" package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.hold import HoldResult, make_room, measure_hold
from benchmarks.loadgen import BuildError, LoadGenerator, LoadResult, compile_c
from benchmarks.report import (
    PlotUnavailableError,
    ServerResult,
    machine_info,
    markdown,
    write_json,
    write_plot,
)
from benchmarks.servers import (
    LOOPBACK,
    ServerError,
    ServerProcess,
    ServerSpec,
    allowed_cpus,
)
from benchmarks.syscalls import SyscallCount, TraceError, count_syscalls
from benchmarks.udp import UDPResult, measure_udp, udp_markdown, udp_specs

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
ALL_SERVERS = [
    "welcome",
    "bare-twisted",
    "asyncio",
    "uvloop",
    "python-loop",
    "c-epoll",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line; see --help."""
    p = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Measure greetings/s, latency, CPU and memory of twistd "
        "welcome and reference servers over loopback.",
    )
    p.add_argument(
        "--greetings",
        type=int,
        default=100_000,
        metavar="N",
        help="greetings measured per server (default 100000)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="measure for this long instead of --greetings",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        default=32,
        metavar="N",
        help="concurrent client connections (default 32)",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=5_000,
        metavar="N",
        help="greetings before measuring (default 5000)",
    )
    p.add_argument(
        "--latency-greetings",
        type=int,
        default=2_000,
        metavar="N",
        help="greetings in the one-client phase (default 2000)",
    )
    p.add_argument(
        "--servers",
        default=",".join(ALL_SERVERS),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(ALL_SERVERS)}",
    )
    p.add_argument(
        "--extra-args",
        default="",
        metavar="ARGS",
        help="options appended to 'twistd welcome', shell-quoted; "
        "use the = form: --extra-args='--some-option'",
    )
    p.add_argument(
        "--welcome-variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="extra row 'welcome[NAME]' with ARGS added to twistd "
        "welcome (repeatable), e.g. 'no-log=--no-log-connections'",
    )
    p.add_argument(
        "--welcome-twistd",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="extra row 'welcome@NAME': the same twistd welcome command run "
        "by another installation's twistd (repeatable), to measure another "
        "version side by side, e.g. 'main=../main-venv/bin/twistd'",
    )
    p.add_argument(
        "--workers",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="extra row 'welcome[workers=N]': twistd welcome --workers N, "
        "allowed on every CPU (repeatable)",
    )
    p.add_argument(
        "--ipv6",
        action="store_true",
        help="also measure over ::1: a row 'NAME[::1]' for twistd welcome "
        "(--listen tcp6:PORT:interface=::1), for each --welcome-twistd and "
        "for c-epoll",
    )
    p.add_argument(
        "--syscall-greetings",
        type=int,
        default=2_000,
        metavar="N",
        help="greetings of the phase traced by strace -c -f for the system "
        "calls per greeting (default 2000; 0: no such phase)",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run every server N times, in rounds, and report medians (default 1)",
    )
    p.add_argument(
        "--hold",
        type=int,
        default=0,
        metavar="N",
        help="also hold N connections open to each server that can keep them "
        "(twistd welcome --keep-open and the peers' --keep-open) and report "
        "the memory per held connection (default 0: no hold rows)",
    )
    p.add_argument(
        "--udp-datagrams",
        type=int,
        default=50_000,
        metavar="N",
        help="UDP rows (twistd welcome --listen udp: and a Python echo loop): "
        "replies measured per row (default 50000; 0: no UDP rows)",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="save raw results")
    p.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="bar chart (needs matplotlib)"
    )
    p.add_argument(
        "--server-cpu",
        type=int,
        metavar="CPU",
        help="CPU for the servers (default: first allowed CPU)",
    )
    p.add_argument(
        "--client-cpu",
        type=int,
        metavar="CPU",
        help="CPU for the load generator (default: second allowed CPU)",
    )
    p.add_argument(
        "--timeout-ms",
        type=int,
        default=5000,
        metavar="MS",
        help="per-connection timeout counted as an error (default 5000)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        metavar="S",
        help="hard time limit per load phase (default 120)",
    )
    args = p.parse_args(argv)

    args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = sorted(set(args.server_list) - set(ALL_SERVERS))
    if unknown:
        p.error(
            f"unknown server(s) {', '.join(unknown)}; choose from "
            f"{', '.join(ALL_SERVERS)}"
        )
    for v in args.welcome_variant:
        if "=" not in v or not v.split("=", 1)[0]:
            p.error(f"--welcome-variant needs NAME=ARGS, not {v!r}")
    for v in args.welcome_twistd:
        name, equals, path = v.partition("=")
        if not equals or not name or not path:
            p.error(f"--welcome-twistd needs NAME=PATH, not {v!r}")
        if not Path(path).is_file():
            p.error(f"--welcome-twistd {name}: no twistd at {path}")
    if args.hold < 0:
        p.error("--hold must be 0 or more")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.udp_datagrams < 0:
        p.error("--udp-datagrams must be 0 or more")
    if args.syscall_greetings < 0:
        p.error("--syscall-greetings must be 0 or more")
    if any(n < 1 for n in args.workers):
        p.error("--workers must be at least 1")
    for name in ("greetings", "concurrency", "warmup", "latency_greetings"):
        if getattr(args, name) < 0 or (name == "concurrency" and args.concurrency < 1):
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.greetings == 0 and args.duration <= 0:
        p.error("--greetings 0 needs --duration")
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        p.error("--plot needs matplotlib: pip install matplotlib")
    return args


def find_twistd() -> Path:
    """``twistd`` of this interpreter's environment (same venv bin dir)."""
    # No resolve(): in a venv, sys.executable is a symlink inside bin/.
    return Path(sys.executable).parent / "twistd"


def build_specs(
    args: argparse.Namespace, tmp: Path, notes: list[str], hold: bool = False
) -> list[ServerSpec]:
    """The rows to run, in order; optional ones missing are noted and skipped.

    With ``hold``, the rows of the hold mode: every server that can keep
    connections open, started so that it does (no variants, no workers,
    no C row).
    """
    py = sys.executable
    specs: list[ServerSpec] = []
    extra = shlex.split(args.extra_args)
    selected = args.server_list
    keep = ["--keep-open"] if hold else []

    def welcome(
        name: str,
        more: list[str],
        what: str,
        cpus: frozenset[int] | None = None,
        twistd: Path | None = None,
    ) -> ServerSpec:
        safe = "".join(c if c.isalnum() else "-" for c in name)
        log = tmp / f"{safe}.log"
        argv = [
            str(twistd or find_twistd()),
            "--nodaemon",
            "--pidfile=",
            f"--logfile={log}",
            "welcome",
            # A row that names its own --listen (a tcp6: variant) gets no
            # --port, which cannot be combined with it.
            *([] if "--listen" in extra + more else ["--port", "{port}"]),
            *extra,
            *more,
        ]
        shown = " ".join(["twistd -n welcome", *map(shlex.quote, extra + more)])
        return ServerSpec(
            name,
            argv,
            f"`{shown}` ({what})",
            log_file=log,
            cpus=cpus,
            host=listen_host(extra + more),
        )

    variants = [v.split("=", 1) for v in args.welcome_variant]
    if args.ipv6 and not hold:
        variants.append(["::1", r"--listen tcp6:{port}:interface=\\:\\:1"])

    if hold:
        if "welcome" in selected:
            specs.append(welcome("welcome", keep, "the service, defaults"))
    elif (
        "welcome" in selected
        or args.welcome_variant
        or args.workers
        or args.welcome_twistd
    ):
        for other in args.welcome_twistd:
            oname, opath = other.split("=", 1)
            specs.append(
                welcome(
                    f"welcome@{oname}",
                    [],
                    f"the service, defaults, run by {opath}",
                    twistd=Path(opath),
                )
            )
            for vname, vargs in variants:
                specs.append(
                    welcome(
                        f"welcome@{oname}[{vname}]",
                        shlex.split(vargs),
                        f"variant, run by {opath}",
                        twistd=Path(opath),
                    )
                )
        if "welcome" in selected:
            specs.append(welcome("welcome", [], "the service, defaults"))
        for vname, vargs in variants:
            specs.append(welcome(f"welcome[{vname}]", shlex.split(vargs), "variant"))
        for count in args.workers:
            specs.append(
                welcome(
                    f"welcome[workers={count}]",
                    ["--workers", str(count)],
                    f"{count} worker processes, allowed on CPUs "
                    f"{','.join(map(str, args.all_cpus))} (shared with the load "
                    "generator); CPU and RSS summed over parent and workers",
                    frozenset(args.all_cpus),
                )
            )
    if "bare-twisted" in selected:
        specs.append(
            ServerSpec(
                "bare-twisted",
                [py, str(PEERS / "bare_twisted.py"), "--port", "{port}", *keep],
                "Twisted Protocol write + loseConnection, no twistd, no logging "
                "(baseline for the ratio)",
            )
        )
    if "asyncio" in selected:
        specs.append(
            ServerSpec(
                "asyncio",
                [py, str(PEERS / "asyncio_server.py"), "--port", "{port}", *keep],
                "asyncio Protocol write + close, default event loop",
            )
        )
    if "uvloop" in selected:
        if importlib.util.find_spec("uvloop") is None:
            notes.append("uvloop skipped: not importable (pip install uvloop).")
        else:
            specs.append(
                ServerSpec(
                    "uvloop",
                    [
                        py,
                        str(PEERS / "asyncio_server.py"),
                        "--port",
                        "{port}",
                        "--uvloop",
                        *keep,
                    ],
                    "the same asyncio server on uvloop",
                )
            )
    if "python-loop" in selected:
        specs.append(
            ServerSpec(
                "python-loop",
                [py, str(PEERS / "python_loop.py"), "--port", "{port}", *keep],
                "the tutorial's blocking loop: accept, send, close; "
                "the floor of Python itself",
            )
        )
    if "c-epoll" in selected and not hold:
        try:
            binary = compile_c(PEERS / "c_epoll_server.c", tmp / "c_epoll_server")
        except BuildError as e:
            notes.append(f"c-epoll skipped: {e}")
        else:
            specs.append(
                ServerSpec(
                    "c-epoll",
                    [str(binary), "--port", "{port}"],
                    "minimal C epoll server (accept4, write, close): "
                    "the practical floor",
                )
            )
            if args.ipv6:
                specs.append(
                    ServerSpec(
                        "c-epoll[::1]",
                        [str(binary), "--port", "{port}", "--host", "::1"],
                        "the same C server over ::1",
                        host="::1",
                    )
                )
    if hold:
        specs = [
            dataclasses.replace(
                spec,
                keeps_open=True,
                description=f"{spec.description}; with --keep-open: greets "
                "and keeps the connection open",
            )
            for spec in specs
        ]
    return specs


def listen_host(argv: list[str]) -> str:
    """The loopback address to measure a ``twistd welcome`` row over.

    The interface of the first ``--listen`` description that names one (a
    ``tcp6:PORT:interface=\\:\\:1`` listens on ::1 only); 127.0.0.1 when
    none does, or when it is a wildcard that IPv4 clients reach too.
    """
    for i, arg in enumerate(argv):
        if arg == "--listen" and i + 1 < len(argv):
            description = argv[i + 1]
        elif arg.startswith("--listen="):
            description = arg.split("=", 1)[1]
        else:
            continue
        found = re.search(r"(?:^|:)interface=((?:\\.|[^:\\])*)", description)
        if found is None:
            continue
        interface = re.sub(r"\\(.)", r"\1", found.group(1))
        if interface not in ("", "::", "0.0.0.0"):
            return interface
    return LOOPBACK


def log(msg: str) -> None:
    """Progress line on stderr (stdout is reserved for the report)."""
    print(msg, file=sys.stderr, flush=True)


def measure(
    server: ServerProcess,
    gen: LoadGenerator,
    args: argparse.Namespace,
    notes: list[str],
) -> ServerResult:
    """Warm up, measure under load, then measure one-at-a-time latency."""
    name = server.spec.name

    def phase(concurrency: int, count: int, duration: float = 0.0) -> LoadResult:
        # The generator stops itself at max_seconds; the +30 s kill is a backstop.
        bound = duration or args.max_seconds
        res = gen.run(
            server.port,
            host=server.spec.host,
            concurrency=concurrency,
            count=count,
            duration=bound,
            timeout_ms=args.timeout_ms,
            max_seconds=bound + 30,
        )
        server.check_alive()
        if res.aborted:
            raise ServerError(
                f"{name}: load generator gave up after {res.errors} "
                f"errors {res.errors_by_kind}"
            )
        if count and res.attempts < count and not duration:
            notes.append(
                f"{name}: phase stopped by the {args.max_seconds:.0f}s "
                f"limit after {res.attempts:,} of {count:,} attempts."
            )
        return res

    time.sleep(0.2)  # let start-up work settle before the idle RSS reading
    rss_start = server.rss_kib()
    log(
        f"[{name}] pid {server.pid}, port {server.port}, idle RSS "
        f"{rss_start / 1024:.1f} MiB; warm-up {args.warmup:,}"
    )
    warm = phase(args.concurrency, args.warmup) if args.warmup else None

    cpu0 = server.cpu_seconds()
    load = phase(
        args.concurrency, 0 if args.duration else args.greetings, args.duration
    )
    cpu1 = server.cpu_seconds()
    time.sleep(0.5)  # idle again before reading memory
    rss_after = server.rss_kib()
    log(
        f"[{name}] {load.greetings:,} greetings in {load.elapsed_s:.1f}s = "
        f"{load.rate_per_s:,.0f}/s, p99 {load.latency_us['p99']:,.0f} µs, "
        f"errors {load.errors}; one-client phase {args.latency_greetings:,}"
    )

    lat = phase(1, args.latency_greetings) if args.latency_greetings else None
    served = (warm.greetings if warm else 0) + load.greetings

    syscalls = float("nan")
    traced: SyscallCount | None = None
    if args.syscall_greetings:
        try:
            count = count_syscalls(
                server.processes(),
                lambda: phase(args.concurrency, args.syscall_greetings).greetings,
                server.stderr_path.with_suffix(".strace"),
            )
        except TraceError as e:
            notes.append(f"{name}: no system call count ({e}).")
        else:
            syscalls = count.per_greeting
            traced = count

    elapsed = load.elapsed_s or float("nan")
    result = ServerResult(
        name=name,
        description=server.spec.description,
        greetings=load.greetings,
        errors=load.errors,
        errors_by_kind=load.errors_by_kind,
        rate_per_s=load.rate_per_s,
        p50_us=load.latency_us["p50"],
        p99_us=load.latency_us["p99"],
        cpu_us_per_greeting=(cpu1 - cpu0) / max(load.greetings, 1) * 1e6,
        server_cpu_pct=(cpu1 - cpu0) / elapsed * 100,
        loadgen_cpu_pct=load.client_cpu_s / elapsed * 100,
        rtt_p50_us=lat.latency_us["p50"] if lat else float("nan"),
        syscalls_per_greeting=syscalls,
        rss_start_kib=rss_start,
        rss_after_kib=rss_after,
        served_before_rss=served,
        raw={
            "warmup": warm.__dict__ if warm else None,
            "measure": load.__dict__,
            "one_client": lat.__dict__ if lat else None,
            "server_cpu_s": cpu1 - cpu0,
            "syscalls": dataclasses.asdict(traced) if traced else None,
        },
    )
    if load.errors:
        notes.append(f"{name}: errors {load.errors_by_kind}")
    other = (warm.errors if warm else 0) + (lat.errors if lat else 0)
    if other:
        notes.append(f"{name}: {other} errors outside the measured phase.")
    if result.loadgen_cpu_pct > 90:
        notes.append(
            f"{name}: load generator used {result.loadgen_cpu_pct:.0f}% "
            "of its CPU; it may be the bottleneck for this row."
        )
    return result


def median_result(rounds: list[ServerResult]) -> ServerResult:
    """One row from several rounds of the same server: medians, errors summed.

    Each figure is the median of its own column, so a row's figures may come
    from different rounds; the raw data of every round is kept.
    """
    if len(rounds) == 1:
        return rounds[0]

    def med(field: str) -> Any:
        return statistics.median(getattr(r, field) for r in rounds)

    first = rounds[0]
    errors_by_kind: dict[str, int] = {}
    for r in rounds:
        for kind, n in r.errors_by_kind.items():
            errors_by_kind[kind] = errors_by_kind.get(kind, 0) + n
    return ServerResult(
        name=first.name,
        description=first.description,
        greetings=int(med("greetings")),
        errors=sum(r.errors for r in rounds),
        errors_by_kind=errors_by_kind,
        rate_per_s=med("rate_per_s"),
        p50_us=med("p50_us"),
        p99_us=med("p99_us"),
        cpu_us_per_greeting=med("cpu_us_per_greeting"),
        server_cpu_pct=med("server_cpu_pct"),
        loadgen_cpu_pct=med("loadgen_cpu_pct"),
        rtt_p50_us=med("rtt_p50_us"),
        syscalls_per_greeting=med("syscalls_per_greeting"),
        rss_start_kib=int(med("rss_start_kib")),
        rss_after_kib=int(med("rss_after_kib")),
        served_before_rss=first.served_before_rss,
        raw={"rounds": [r.raw for r in rounds]},
    )


def run_hold(
    args: argparse.Namespace, tmp: Path, server_cpu: int, notes: list[str]
) -> tuple[list[HoldResult], int]:
    """The hold mode: every server that keeps connections, ``--repeat`` rounds.

    :returns: one (median) result per server, and how many runs failed.
    """
    try:
        make_room(args.hold)
    except ServerError as e:
        notes.append(f"hold mode FAILED: {e}")
        return [], 1
    specs = build_specs(args, tmp, notes, hold=True)
    rounds: dict[str, list[HoldResult]] = {spec.name: [] for spec in specs}
    failed = 0
    for round_number in range(1, args.repeat + 1):
        for spec in specs:
            log(f"[{spec.name}] hold {args.hold:,} (round {round_number})")
            try:
                with ServerProcess(spec, server_cpu, tmp) as server:
                    result = measure_hold(
                        spec.name,
                        spec.description,
                        server.port,
                        args.hold,
                        server.rss_kib,
                        server.check_alive,
                    )
            except (ServerError, RuntimeError, OSError) as e:
                failed += 1
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                notes.append(f"{spec.name} (hold) FAILED: {first}")
                log(f"[{spec.name}] hold FAILED: {e}")
                continue
            log(
                f"[{spec.name}] {result.bytes_per_connection:,.0f} bytes per "
                f"held connection"
            )
            rounds[spec.name].append(result)
    medians = []
    for results in rounds.values():
        if not results:
            continue
        ordered = sorted(results, key=lambda r: r.bytes_per_connection)
        medians.append(ordered[(len(ordered) - 1) // 2])
    return medians, failed


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so cleanup blocks run."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run every selected server in turn; print the report."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    notes: list[str] = []

    cpus = allowed_cpus()
    args.all_cpus = cpus
    server_cpu = args.server_cpu if args.server_cpu is not None else cpus[0]
    client_cpu = (
        args.client_cpu
        if args.client_cpu is not None
        else next((c for c in cpus if c != server_cpu), server_cpu)
    )
    if server_cpu == client_cpu:
        notes.append(
            "Only one CPU available: server and load generator shared "
            "it, so throughput is not comparable with 2+ CPU runs."
        )
    # Keep this orchestrator off the server's CPU too.
    os.sched_setaffinity(0, {client_cpu})

    results: list[ServerResult] = []
    failed = 0
    with tempfile.TemporaryDirectory(prefix="welcome-bench-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            gen = LoadGenerator(tmp, client_cpu)
        except BuildError as e:
            log(f"error: cannot build the load generator: {e}")
            return 1
        specs = build_specs(args, tmp, notes)
        rounds: dict[str, list[ServerResult]] = {spec.name: [] for spec in specs}
        for round_number in range(1, args.repeat + 1):
            if args.repeat > 1:
                log(f"round {round_number} of {args.repeat}")
            for spec in specs:
                log(f"[{spec.name}] starting")
                try:
                    with ServerProcess(spec, server_cpu, tmp) as server:
                        rounds[spec.name].append(measure(server, gen, args, notes))
                except (ServerError, RuntimeError, OSError) as e:
                    failed += 1
                    lines = [line for line in str(e).splitlines() if line.strip()]
                    why = lines[0] if len(lines) < 2 else f"{lines[0]} ({lines[-1]})"
                    notes.append(f"{spec.name} FAILED: {why}")
                    log(f"[{spec.name}] FAILED: {e}")
        results = [median_result(rs) for rs in rounds.values() if rs]
        for rs in rounds.values():
            traced = SyscallCount.total(r.raw["syscalls"] for r in rs)
            if traced is not None:
                notes.append(
                    f"{rs[0].name}, system calls per greeting: {traced.breakdown()}."
                )
        udpResults: list[UDPResult] = []
        if args.udp_datagrams:
            for spec in udp_specs(tmp, find_twistd()):
                log(f"[{spec.name}] {args.udp_datagrams:,} datagrams")
                try:
                    udpResult = measure_udp(
                        spec, server_cpu, tmp, args.udp_datagrams, args.max_seconds
                    )
                except (ServerError, RuntimeError, OSError) as e:
                    failed += 1
                    notes.append(f"{spec.name} FAILED: {str(e).splitlines()[0]}")
                    log(f"[{spec.name}] FAILED: {e}")
                    continue
                log(
                    f"[{spec.name}] {udpResult.rate_per_s:,.0f} answered/s, "
                    f"{udpResult.cpu_us_per_answer:.1f} µs server CPU per answer"
                )
                udpResults.append(udpResult)
        held: list[HoldResult] = []
        if args.hold:
            held, holdFailed = run_hold(args, tmp, server_cpu, notes)
            failed += holdFailed
        if args.repeat > 1:
            notes.append(
                f"Each figure is the median of {args.repeat} rounds (servers "
                "run in turn, round after round); errors are summed."
            )

    info = machine_info()
    config = {
        "greetings": args.greetings,
        "duration": args.duration,
        "measure": (
            f"{args.duration:g} s" if args.duration else f"{args.greetings:,} greetings"
        ),
        "concurrency": args.concurrency,
        "warmup": args.warmup,
        "latency_greetings": args.latency_greetings,
        "syscall_greetings": args.syscall_greetings,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "extra_args": args.extra_args,
        "welcome_variants": args.welcome_variant,
        "workers": args.workers,
        "repeat": args.repeat,
        "servers": args.server_list,
        "hold": args.hold,
        "udp_datagrams": args.udp_datagrams,
        "udp": [dataclasses.asdict(r) for r in udpResults],
    }
    notes = list(dict.fromkeys(notes))  # each round repeats the same notes
    print(markdown(results, info, config, notes, held), end="")
    if udpResults:
        print(udp_markdown(udpResults, args.udp_datagrams), end="")
    if args.json is not None:
        write_json(args.json, results, info, config, notes, held)
        log(f"raw results written to {args.json}")
    if args.plot is not None and results:
        try:
            write_plot(
                args.plot,
                results,
                f"welcome-protocol benchmark, {info['date']}",
                args.concurrency,
            )
            log(f"chart written to {args.plot}")
        except PlotUnavailableError as e:
            log(f"error: {e}")
            return 1
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; servers stopped.")
        sys.exit(130)
