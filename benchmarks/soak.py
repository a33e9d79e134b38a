"""Soak ``twistd welcome`` with hostile clients, for a set time.

Why: the test suite checks each defence once, small and fast; this script
runs them at full size, over and over for ``--duration`` seconds, and prints
what an operator wants to know: memory before and after each attack,
connections served, and errors.  The deadline phases hold a TLS and a PROXY
listener with silent, half-speaking and dripping clients while real ones are
served, and report how soon the server closed them and whether its file
descriptors came back to where they were.  Run from the repository root after
``pip install .``::

    python benchmarks/soak.py --duration 120 > soak.md

Everything talks to 127.0.0.x only, and every phase is bounded in count and
time.  Progress goes to stderr, the markdown summary to stdout; the exit
status is 1 if any phase lost a normal client or the server misbehaved.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

if not __package__:  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from attrs import define, field

from tests.certificates import makeCertificate
from tests.hostileclients import (
    PATTERN,
    WELCOME,
    Tally,
    closeAll,
    cpuSeconds,
    descriptorCount,
    flood,
    greetBehindProxy,
    greetMany,
    greetOverTLS,
    holdOpen,
    resetAfterConnect,
    rssKiB,
    waitClosedByServer,
)
from tests.support import ServerProcess
from welcome_protocol.greeting.message import MESSAGE_FILE_LIMIT


@define
class Row:
    """
    One attack's line in the summary.
    """

    phase: str
    attack: str
    rssBefore: int
    rssAfter: int
    rssPeak: int
    served: int
    errors: int
    ok: bool
    notes: list[str] = field(factory=list)


def progress(text: str) -> None:
    """Say what is happening, on stderr."""
    print(f"[soak] {text}", file=sys.stderr, flush=True)


def start(
    args: list[str],
    message: bytes | None = None,
    workers: int = 0,
    preexec: Callable[[], None] | None = None,
) -> ServerProcess:
    """Start the installed server on a free port, logging to a file.

    ``preexec`` runs in the server's process before it starts (to lower
    its open-file limit, say).
    """
    if workers:
        args = [*args, "--workers", str(workers)]
    scratch = tempfile.mkdtemp(prefix="welcome-soak-")
    if message is not None:
        path = Path(scratch, "message")
        path.write_bytes(message)
        args = ["--message-file", str(path), *args]
    try:
        server = ServerProcess(
            ["--port", "0", *args], logFile="twistd.log", preexec=preexec
        )
        server.tcpPort()
        server.waitRunning()
        for _ in range(workers):
            server.waitForLine(r"serving on")
    finally:
        # The server has read the message by the time it runs (a SIGHUP would
        # re-read it, and fail, which the soak never sends).
        shutil.rmtree(scratch, ignore_errors=True)
    return server


def stopAndStats(server: ServerProcess) -> str:
    """Stop the server with SIGTERM; return its final stats line."""
    status = server.stop(signal.SIGTERM, seconds=30)
    log = "\n".join(server.output)
    lines = [line for line in server.output if "Stats: " in line]
    server.kill()
    problems = []
    if status != -signal.SIGTERM:
        problems.append(f"exit status {status}")
    if "Traceback" in log:
        problems.append("traceback in log")
    final = lines[-1].split("Stats: ", 1)[1] if lines else "no stats line"
    return final + (f" [{', '.join(problems)}]" if problems else "")


class Peak:
    """Sample a process's RSS in the background and keep the highest."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.value = rssKiB(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self.value = max(self.value, rssKiB(self.pid))
            except (OSError, ValueError):
                return

    def stop(self) -> int:
        """Stop sampling; return the peak in KiB."""
        self._stop.set()
        self._thread.join()
        return self.value


def measured(
    server: ServerProcess, phase: str, attack: str, run: Callable[[Row], None]
) -> Row:
    """Run one attack, recording RSS before, at the peak and after."""
    row = Row(phase, attack, rssKiB(server.pid), 0, 0, 0, 0, True)
    peak = Peak(server.pid)
    run(row)
    time.sleep(0.5)
    row.rssPeak = peak.stop()
    row.rssAfter = rssKiB(server.pid)
    progress(
        f"{phase}: {attack}: served {row.served}, errors {row.errors}, "
        f"RSS {row.rssBefore} -> {row.rssAfter} KiB (peak {row.rssPeak})"
        + ("" if row.ok else " FAILED")
    )
    return row


def burst(server: ServerProcess, count: int) -> Row:
    """COUNT connections opened at once; every one must be greeted."""

    def run(row: Row) -> None:
        tally = greetMany(server.tcpPort(), count, WELCOME, seconds=120)
        row.served, row.errors = tally.greeted, sum(tally.failures().values())
        row.ok = tally.greeted == count
        row.notes.append(f"{tally.seconds:.2f} s; {dict(tally.failures()) or ''}")

    return measured(server, "burst", f"{count} at once", run)


def resets(server: ServerProcess, count: int) -> Row:
    """COUNT clients that reset at once, interleaved with COUNT normal ones."""

    def run(row: Row) -> None:
        port = server.tcpPort()
        for _ in range(10):
            resetAfterConnect(port, count // 10)
            tally = greetMany(port, count // 10, WELCOME, concurrency=20)
            row.served += tally.greeted
            row.errors += sum(tally.failures().values())
        row.ok = row.served == count // 10 * 10

    return measured(server, "resets", f"{count} resetting + {count} normal", run)


def floodAttack(server: ServerProcess, megabytes: int) -> Row:
    """One kept-open client sends MEGABYTES; others must still be greeted."""

    def run(row: Row) -> None:
        port = server.tcpPort()
        sent: list[int] = []
        flooder = threading.Thread(target=lambda: sent.append(flood(port, megabytes)))
        flooder.start()
        served = 0
        while flooder.is_alive():
            tally = greetMany(port, 20, WELCOME, concurrency=5, untilClosed=False)
            served += tally.greeted
            row.errors += sum(tally.failures().values())
        flooder.join()
        row.served = served
        row.ok = row.errors == 0 and sent == [megabytes * 1048576] and served > 0
        row.notes.append(f"{sum(sent) // 1048576} MB discarded")

    return measured(server, "flood", f"{megabytes} MB from one client", run)


def nonReaders(
    server: ServerProcess, count: int, message: bytes, timeout: float
) -> Row:
    """COUNT kept-open clients that never read a long MESSAGE."""

    def run(row: Row) -> None:
        port = server.tcpPort()
        held = holdOpen(port, count, receiveBuffer=4096)
        try:
            time.sleep(1)
            row.notes.append(f"RSS with all {count} held: {rssKiB(server.pid)} KiB")
            tally = greetMany(port, 20, message, concurrency=5, untilClosed=False)
            row.served = tally.greeted
            row.errors = sum(tally.failures().values())
            closed = waitClosedByServer(held, timeout + 30)
            row.notes.append(f"{closed}/{count} closed by the idle timeout")
            row.ok = tally.greeted == 20 and closed == count
        finally:
            closeAll(held)

    return measured(
        server, "non-readers", f"{count} never reading {len(message) >> 10} KiB", run
    )


def treeCPU(pid: int) -> float:
    """The CPU seconds of PID and its children (the workers)."""
    total = cpuSeconds(pid)
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            with contextlib.suppress(OSError, ValueError):
                total += treeCPU(int(child))
    return total


def logLines(server: ServerProcess) -> int:
    """How many lines the server has logged (its log file), access lines aside."""
    assert server.logPath is not None
    with contextlib.suppress(OSError):
        text = server.logPath.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if "Welcomed" not in line)
    return 0


def exhaustion(limit: int, holders: int, workers: int = 0) -> tuple[Row, str]:
    """Run out of descriptors under RLIMIT_NOFILE LIMIT, then free them."""

    def lowLimit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    server = start(
        ["--keep-open", "--idle-timeout", "0"], workers=workers, preexec=lowLimit
    )

    def run(row: Row) -> None:
        port = server.tcpPort()
        held = holdOpen(port, holders)
        try:
            time.sleep(1)
            before = treeCPU(server.pid)
            linesBefore = logLines(server)
            time.sleep(3)
            cpu = treeCPU(server.pid) - before
            lines = logLines(server) - linesBefore
            row.notes.append(
                f"server CPU while exhausted: {cpu / 3:.1%}; {lines} log lines in 3 s"
            )
            for s in held:
                s.setblocking(False)
            greeted = []
            for s in held:
                try:
                    if s.recv(100) == WELCOME:
                        greeted.append(s)
                except BlockingIOError:
                    pass
            waiting = [s for s in held if s not in greeted]
            closeAll(greeted)
            late = 0
            deadline = time.monotonic() + 30
            for s in waiting:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                with contextlib.suppress(OSError):
                    late += s.recv(100) == WELCOME
            row.served = len(greeted) + late
            row.errors = len(waiting) - late
            row.notes.append(
                f"{len(greeted)} greeted at once, {len(waiting)} waited, "
                f"{late} greeted after freeing"
            )
            after = greetMany(port, 100, WELCOME, untilClosed=False)
            row.ok = (
                late == len(waiting)
                and after.greeted == 100
                and cpu < 1.5
                and lines < 10
            )
        finally:
            closeAll(held)

    row = measured(server, "EMFILE", f"RLIMIT_NOFILE {limit}, {holders} held", run)
    return row, stopAndStats(server)


def sigtermUnderLoad(readers: int) -> tuple[Row, str]:
    """SIGTERM while READERS clients read a 16 MiB welcome."""
    message = PATTERN * 65536
    server = start(["--keep-open", "--shutdown-timeout", "10"], message=message)
    row = Row(
        "SIGTERM", f"{readers} reading 16 MiB", rssKiB(server.pid), 0, 0, 0, 0, True
    )
    held = holdOpen(server.tcpPort(), readers)
    received: list[int] = []
    signalled = threading.Event()

    def read(s: socket.socket) -> None:
        total = 0
        try:
            while chunk := s.recv(65536):
                total += len(chunk)
                if not signalled.is_set():
                    time.sleep(0.01)
        except OSError:
            pass
        received.append(total)

    threads = [threading.Thread(target=read, args=(s,)) for s in held]
    for t in threads:
        t.start()
    time.sleep(0.5)
    row.rssPeak = row.rssAfter = rssKiB(server.pid)
    server.process.send_signal(signal.SIGTERM)
    signalled.set()
    for t in threads:
        t.join(60)
    closeAll(held)
    final = stopAndStats(server)
    row.served = received.count(len(message))
    row.errors = readers - row.served
    row.ok = row.errors == 0 and "[" not in final
    row.notes.append("RSS after = at SIGTERM")
    progress(f"SIGTERM: {row.served}/{readers} completed")
    return row, final


@define
class Guarded:
    """A server with a TLS and a PROXY listener, and their ports."""

    server: ServerProcess
    tlsPort: int
    proxyPort: int
    timeout: float


def startGuarded(timeout: float, args: list[str]) -> Guarded:
    """Start the installed server on a TLS and a PROXY listener on loopback."""
    scratch = Path(tempfile.mkdtemp(prefix="welcome-soak-"))
    certPath, keyPath = makeCertificate(scratch)
    try:
        server = ServerProcess(
            [
                "--listen",
                f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
                "--listen",
                "haproxy:tcp:0:interface=127.0.0.1",
                "--handshake-timeout",
                f"{timeout:g}",
                *args,
            ],
            logFile="twistd.log",
        )
        tls, proxy = server.waitListening(2)
        server.waitRunning()
    finally:
        # The TLS listener has read its key by the time the server runs.
        shutil.rmtree(scratch, ignore_errors=True)
    return Guarded(
        server, int(tls.rsplit(":", 1)[1]), int(proxy.rsplit(":", 1)[1]), timeout
    )


def heldUntilClosed(
    guarded: Guarded,
    row: Row,
    held: list[socket.socket],
    real: Callable[[], list[Tally]],
    realCount: int,
    openedAt: float,
) -> None:
    """
    Serve REAL clients while HELD wait; check every one is closed in time,
    counting from OPENEDAT, when the last of them had connected.
    """
    tallies: list[Tally] = []
    thread = threading.Thread(target=lambda: tallies.extend(real()))
    thread.start()
    closed = waitClosedByServer(held, guarded.timeout + 2)
    within = time.monotonic() - openedAt
    thread.join(120)
    closeAll(held)
    row.served = sum(t.greeted for t in tallies)
    row.errors = sum(sum(t.failures().values()) for t in tallies)
    row.notes.append(
        f"{closed}/{len(held)} closed by the server {within:.1f} s after the "
        f"last connected (deadline {guarded.timeout:g} s)"
    )
    if tallies:
        row.notes.append(
            "real clients: " + ", ".join(f"{t.seconds:.1f} s" for t in tallies)
        )
    row.ok = closed == len(held) and row.served == realCount and row.errors == 0


def descriptorsSettle(guarded: Guarded, baseline: int, row: Row) -> None:
    """Wait (at most 10 s) for the server's descriptors to return to BASELINE."""
    pid = guarded.server.pid
    deadline = time.monotonic() + 10
    while descriptorCount(pid) > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
    now = descriptorCount(pid)
    row.notes.append(f"descriptors {baseline} before, {now} after")
    row.ok = row.ok and now <= baseline


def silentTLS(guarded: Guarded, silent: int, real: int) -> Row:
    """SILENT clients that never send a ClientHello; REAL TLS clients meanwhile."""

    def run(row: Row) -> None:
        baseline = descriptorCount(guarded.server.pid)
        held = holdOpen(guarded.tlsPort, silent)
        openedAt = time.monotonic()
        time.sleep(0.5)
        row.notes.append(
            f"{descriptorCount(guarded.server.pid)} descriptors with all held"
        )
        heldUntilClosed(
            guarded,
            row,
            held,
            lambda: [greetOverTLS(guarded.tlsPort, real, WELCOME)],
            real,
            openedAt,
        )
        descriptorsSettle(guarded, baseline, row)

    return measured(
        guarded.server, "TLS deadline", f"{silent} silent + {real} real TLS", run
    )


def silentProxy(guarded: Guarded, silent: int, half: int, real: int) -> Row:
    """SILENT and HALF-header PROXY clients; REAL proxied clients meanwhile."""

    def run(row: Row) -> None:
        baseline = descriptorCount(guarded.server.pid)
        quiet = holdOpen(guarded.proxyPort, silent)
        halves = holdOpen(guarded.proxyPort, half)
        for s in halves:
            s.sendall(b"PROXY TCP4 192.0.2.9 ")
        heldUntilClosed(
            guarded,
            row,
            quiet + halves,
            lambda: [greetBehindProxy(guarded.proxyPort, real, WELCOME)],
            real,
            time.monotonic(),
        )
        descriptorsSettle(guarded, baseline, row)

    return measured(
        guarded.server,
        "PROXY deadline",
        f"{silent} silent + {half} half-header + {real} real",
        run,
    )


def dripping(guarded: Guarded, count: int) -> Row:
    """COUNT PROXY clients sending their header a byte every 0.5 s."""

    def run(row: Row) -> None:
        baseline = descriptorCount(guarded.server.pid)
        held = holdOpen(guarded.proxyPort, count)
        openedAt = time.monotonic()
        header = b"PROXY TCP4 192.0.2.9 127.0.0.1 40000 12000\r\n"
        stillOpen = list(held)
        for byte in header:
            if time.monotonic() - openedAt > guarded.timeout + 2:
                break
            for s in list(stillOpen):
                try:
                    s.send(bytes([byte]))
                except OSError:
                    stillOpen.remove(s)
            if not stillOpen:
                break
            time.sleep(0.5)
        heldUntilClosed(guarded, row, held, lambda: [], 0, openedAt)
        descriptorsSettle(guarded, baseline, row)

    return measured(
        guarded.server, "PROXY deadline", f"{count} dripping a byte / 0.5 s", run
    )


def capFull(guarded: Guarded, silent: int, real: int) -> Row:
    """More SILENT TLS clients than --max-handshakes; REAL ones still greeted."""

    def run(row: Row) -> None:
        baseline = descriptorCount(guarded.server.pid)
        held = holdOpen(guarded.tlsPort, silent)
        heldUntilClosed(
            guarded,
            row,
            held,
            lambda: [
                greetOverTLS(guarded.tlsPort, real // 2, WELCOME),
                greetBehindProxy(guarded.proxyPort, real // 2, WELCOME),
            ],
            real // 2 * 2,
            time.monotonic(),
        )
        descriptorsSettle(guarded, baseline, row)

    return measured(
        guarded.server,
        "cap",
        f"{silent} silent TLS (--max-handshakes default) + {real} real",
        run,
    )


def silentAfterHandshake(guarded: Guarded, count: int, idleTimeout: float) -> Row:
    """
    COUNT TLS clients that finish the handshake, read the welcome and then
    stay silent: never close, never answer the server's close_notify.  The
    server must close every one within the idle timeout.
    """

    def run(row: Row) -> None:
        baseline = descriptorCount(guarded.server.pid)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        held = []
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", guarded.tlsPort), timeout=10)
            s = context.wrap_socket(raw)
            got = b""
            with contextlib.suppress(OSError):
                while len(got) < len(WELCOME):
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    got += chunk
            row.served += got == WELCOME
            # The TCP socket under TLS, to see the server's close.
            held.append(socket.socket(fileno=os.dup(s.fileno())))
            s.detach()
        openedAt = time.monotonic()
        closed = waitClosedByServer(held, idleTimeout + 5)
        within = time.monotonic() - openedAt
        closeAll(held)
        row.errors = count - row.served
        row.notes.append(
            f"{closed}/{count} closed by the server {within:.1f} s after the "
            f"last was greeted (idle timeout {idleTimeout:g} s)"
        )
        row.ok = closed == count and row.served == count
        descriptorsSettle(guarded, baseline, row)

    return measured(
        guarded.server, "TLS after welcome", f"{count} silent after the handshake", run
    )


def proxyBurst(guarded: Guarded, count: int) -> Row:
    """COUNT clients behind a PROXY header, 20 at a time; every one greeted."""

    def run(row: Row) -> None:
        tally = greetBehindProxy(guarded.proxyPort, count, WELCOME)
        row.served, row.errors = tally.greeted, sum(tally.failures().values())
        row.ok = tally.greeted == count
        row.notes.append(f"{tally.seconds:.2f} s")

    return measured(guarded.server, "PROXY burst", f"{count} behind a header", run)


def tlsBurst(guarded: Guarded, count: int) -> Row:
    """COUNT TLS clients, 20 at a time; every one greeted."""

    def run(row: Row) -> None:
        tally = greetOverTLS(guarded.tlsPort, count, WELCOME)
        row.served, row.errors = tally.greeted, sum(tally.failures().values())
        row.ok = tally.greeted == count
        row.notes.append(f"{tally.seconds:.2f} s")

    return measured(guarded.server, "TLS burst", f"{count} TLS clients", run)


MODES = ("in-process", "workers", "tls", "proxy")


def main(argv: list[str] | None = None) -> int:
    """Run the soak; print the summary."""
    p = argparse.ArgumentParser(prog="python benchmarks/soak.py", description=__doc__)
    p.add_argument("--duration", type=float, default=60.0, metavar="SECONDS")
    p.add_argument("--burst", type=int, default=5000, metavar="N")
    p.add_argument("--resets", type=int, default=1000, metavar="N")
    p.add_argument("--flood-mb", type=int, default=256, metavar="MB")
    p.add_argument("--non-readers", type=int, default=1000, metavar="N")
    p.add_argument("--message-kib", type=int, default=1024, metavar="KIB")
    p.add_argument("--idle-timeout", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--silent", type=int, default=1000, metavar="N")
    p.add_argument("--real", type=int, default=500, metavar="N")
    p.add_argument("--handshake-timeout", type=float, default=3.0, metavar="SECONDS")
    p.add_argument(
        "--modes",
        default=",".join(MODES),
        help="deployment modes to soak, comma-separated: in-process (one "
        "process), workers (--workers 2), tls (ssl: listener: deadline, cap, "
        "clients silent after the handshake), proxy (haproxy: listener); "
        "the duration is shared between them (default: all)",
    )
    args = p.parse_args(argv)
    if not 1 <= args.message_kib <= MESSAGE_FILE_LIMIT >> 10:
        p.error(f"--message-kib must be from 1 to {MESSAGE_FILE_LIMIT >> 10}")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        p.error(f"unknown mode(s) {', '.join(sorted(unknown))}; use {', '.join(MODES)}")
    rows: list[tuple[str, Row]] = []
    finals: list[tuple[str, str]] = []
    message = PATTERN * (args.message_kib * 4)
    perMode = args.duration / len(modes)
    started = time.monotonic()
    rounds = 0
    for mode in modes:
        progress(f"mode {mode}")
        modeRows, modeFinals, modeRounds = runMode(mode, args, message, perMode)
        rows += [(mode, row) for row in modeRows]
        finals += [(f"{mode}: {name}", final) for name, final in modeFinals]
        rounds += modeRounds

    print(f"# Soak: {rounds} rounds in {time.monotonic() - started:.0f} s\n")
    print(
        "| mode | phase | attack | RSS before KiB | RSS peak KiB | RSS after KiB "
        "| normal clients served | errors | ok | notes |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for mode, r in rows:
        print(
            f"| {mode} | {r.phase} | {r.attack} | {r.rssBefore} | {r.rssPeak} | "
            f"{r.rssAfter} | {r.served} | {r.errors} | "
            f"{'yes' if r.ok else '**NO**'} | {'; '.join(r.notes)} |"
        )
    print("\nFinal stats lines (SIGTERM):\n")
    for name, final in finals:
        print(f"- {name}: {final}")
    return 0 if all(r.ok for _, r in rows) else 1


def runMode(
    mode: str, args: argparse.Namespace, message: bytes, duration: float
) -> tuple[list[Row], list[tuple[str, str]], int]:
    """
    Run one deployment mode's phases for about DURATION seconds.

    @return: The rows, the final stats lines, and the rounds run.
    """
    rows: list[Row] = []
    finals: list[tuple[str, str]] = []
    servers: list[tuple[str, ServerProcess]] = []
    started = time.monotonic()
    rounds = 0
    try:
        if mode in ("in-process", "workers"):
            workers = 2 if mode == "workers" else 0
            idle = ["--keep-open", "--idle-timeout", str(args.idle_timeout)]
            plain = start([], workers=workers)
            kept = start(idle, message=message, workers=workers)
            keptShort = start(idle, workers=workers)
            servers = [
                ("plain", plain),
                ("keep-open, long welcome", kept),
                ("keep-open", keptShort),
            ]
            while rounds == 0 or time.monotonic() - started < duration:
                rounds += 1
                progress(f"{mode}: round {rounds}")
                rows.append(burst(plain, args.burst))
                rows.append(resets(plain, args.resets))
                rows.append(floodAttack(keptShort, args.flood_mb))
                rows.append(
                    nonReaders(kept, args.non_readers, message, args.idle_timeout)
                )
            for name, server in servers:
                finals.append((name, stopAndStats(server)))
            # With workers, each has the limit: 700 held are more than two
            # workers' descriptors, as in the report that found the spin.
            holders = 700 if workers else 400
            row, final = exhaustion(256, holders, workers)
            rows.append(row)
            finals.append(("EMFILE (RLIMIT_NOFILE 256)", final))
            if not workers:
                row, final = sigtermUnderLoad(50)
                rows.append(row)
                finals.append(("SIGTERM under load", final))
        else:
            # More unfinished connections than the default --max-handshakes,
            # except in the cap phase, so that the deadline closes them.
            common = ["--idle-timeout", str(args.idle_timeout)]
            guarded = startGuarded(
                args.handshake_timeout,
                [*common, "--max-handshakes", str(args.silent * 3)],
            )
            servers = [("ssl: + haproxy:, deadline phases", guarded.server)]
            capped = None
            if mode == "tls":
                capped = startGuarded(args.handshake_timeout, common)
                servers.append(("ssl: + haproxy:, cap phase", capped.server))
            while rounds == 0 or time.monotonic() - started < duration:
                rounds += 1
                progress(f"{mode}: round {rounds}")
                if mode == "tls":
                    assert capped is not None
                    rows.append(tlsBurst(guarded, args.real))
                    rows.append(silentTLS(guarded, args.silent, args.real))
                    rows.append(
                        silentAfterHandshake(
                            guarded, args.silent // 5, args.idle_timeout
                        )
                    )
                    rows.append(capFull(capped, args.silent * 3, args.real))
                else:
                    rows.append(proxyBurst(guarded, args.real))
                    rows.append(
                        silentProxy(guarded, args.silent, args.silent // 2, args.real)
                    )
                    rows.append(dripping(guarded, 200))
            for name, server in servers:
                finals.append((name, stopAndStats(server)))
    finally:
        for _, server in servers:
            server.kill()
    return rows, finals, rounds


if __name__ == "__main__":
    sys.exit(main())
