"""What the attacks on the ``--metrics`` port cost, and whether scrapes
still get through meanwhile.

Why: the metrics port is reachable by whoever can reach it, and a scraper
must keep being answered.  Each attack runs against a fresh server on
loopback, bounded in count and time:

- **never-reading pipeliners**: 16 clients each pipeline scrapes for a few
  seconds and never read an answer; the server's RSS and CPU seconds
  before and after;
- **drippers**: 16 clients each send one byte of a request a second (and
  reconnect when closed); meanwhile a scraper scrapes once a second: how
  many scrapes succeed, and how long they take;
- **chunked bodies**: 16 clients each send a chunked ``POST`` body as fast
  as they can; the bytes the server writes to disk (``/proc/PID/io``);
- **bad Accept**: 200 requests with ``Accept: text/plain; version=x``; the
  status codes and the tracebacks in the log.

Run from the repository root after ``pip install .``; give another
``twistd`` to measure another install side by side::

    python benchmarks/metricsport.py [--twistd PATH] [--workers N]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

CLIENTS = 16
SCRAPE = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+) \(")


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid``, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def written_bytes(pid: int) -> int:
    """Bytes ``pid`` has caused to be written to storage."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes")


@contextlib.contextmanager
def server(
    twistd: str, workers: int
) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A ``twistd welcome --metrics`` on loopback: the process, its metrics
    port and its log file."""
    workdir = Path(tempfile.mkdtemp(prefix="welcome-metricsport-"))
    log = workdir / "twistd.log"
    argv = [
        twistd,
        "--nodaemon",
        "--pidfile=",
        f"--logfile={log}",
        "welcome",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--metrics",
        "tcp:0:interface=127.0.0.1",
        "--no-log-connections",
    ]
    if workers:
        argv += ["--workers", str(workers)]
    process = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            ports = LISTENING.findall(log.read_text()) if log.exists() else []
            if len(ports) >= 2:
                break
            if time.monotonic() > deadline or process.poll() is not None:
                sys.exit(f"error: {twistd} did not start")
            time.sleep(0.1)
        time.sleep(1.0)  # let it settle (workers start)
        yield process, int(ports[1]), log
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def scrape(port: int, timeout: float = 10.0) -> float | None:
    """Seconds one scrape takes, or None if it fails."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
    except OSError:
        return None
    if not answer.startswith(b"HTTP/1.0 200 ") or b"welcome_" not in answer:
        return None
    return time.monotonic() - started


def pipeliners(port: int, pid: int, seconds: float) -> str:
    """RSS and CPU before and after 16 never-reading pipelining clients."""
    before, cpu = rss_kib(pid), cpu_seconds(pid)
    socks = []
    for _ in range(CLIENTS):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.setblocking(False)
        socks.append(s)
    end = time.monotonic() + seconds
    batch = SCRAPE * 100
    while time.monotonic() < end:
        for s in socks:
            with contextlib.suppress(OSError):
                s.send(batch)
        time.sleep(0.01)
    time.sleep(1.0)
    after, used = rss_kib(pid), cpu_seconds(pid) - cpu
    for s in socks:
        s.close()
    return (
        f"| {CLIENTS} never-reading pipeliners, {seconds:g} s "
        f"| RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB "
        f"| {used:.2f} CPU s |"
    )


def drippers(port: int, seconds: float) -> str:
    """Scrapes that succeed while 16 clients drip a byte a second."""
    stop = threading.Event()

    def drip() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    while not stop.is_set():
                        s.send(b"G")
                        if stop.wait(1.0):
                            break
            except OSError:
                stop.wait(0.05)

    alone = sorted(t for t in (scrape(port) for _ in range(10)) if t is not None)
    threads = [threading.Thread(target=drip) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    times: list[float | None] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        times.append(scrape(port))
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    ok = sorted(t for t in times if t is not None)
    latency = (
        f"p50 {statistics.median(ok) * 1000:.1f} ms, max {ok[-1] * 1000:.1f} ms"
        if ok
        else "-"
    )
    if alone:
        latency += f" (p50 {statistics.median(alone) * 1000:.1f} ms without drippers)"
    answered = f"{len(ok)} of {len(times)} scrapes answered"
    return f"| {CLIENTS} drippers | {answered} | {latency} |"


def bodies(port: int, pid: int, seconds: float) -> str:
    """Disk writes while 16 clients send chunked POST bodies."""
    before = written_bytes(pid)
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    stop = threading.Event()
    refused = collections.Counter[str]()

    def post() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(
                        b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n"
                    )
                    while not stop.is_set():
                        s.sendall(chunk)
            except OSError:
                refused["closed"] += 1
                stop.wait(0.05)

    threads = [threading.Thread(target=post) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    written = written_bytes(pid) - before
    return (
        f"| {CLIENTS} chunked POSTs, {seconds:g} s | {written / 2**20:,.0f} MiB "
        f"written to disk | {refused['closed']} connections closed by the server |"
    )


def badAccept(port: int, log: Path) -> str:
    """Status codes and tracebacks for 200 bad Accept headers."""
    statuses = collections.Counter[bytes]()
    started = time.monotonic()
    for _ in range(200):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\nAccept: text/plain; version=x\r\n\r\n")
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
        statuses[answer[9:12]] += 1
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    tracebacks = log.read_text().count("Traceback")
    codes = ", ".join(f"{n} x {code.decode()}" for code, n in sorted(statuses.items()))
    return f"| 200 bad Accept, {elapsed:.1f} s | {codes} | {tracebacks} tracebacks |"


def main(argv: list[str] | None = None) -> int:
    """Run each attack against a fresh server and print a table."""
    p = argparse.ArgumentParser(prog="python benchmarks/metricsport.py")
    p.add_argument("--twistd", default=shutil.which("twistd") or "twistd")
    p.add_argument("--workers", type=int, default=0, metavar="N")
    p.add_argument("--seconds", type=float, default=5.0, metavar="S")
    args = p.parse_args(argv)
    print(f"`{args.twistd}`{f', --workers {args.workers}' if args.workers else ''}")
    print()
    print("| attack | effect | |")
    print("|---|---|---|")
    with server(args.twistd, args.workers) as (process, port, _):
        print(pipeliners(port, process.pid, args.seconds), flush=True)
    with server(args.twistd, args.workers) as (process, port, _):
        print(drippers(port, args.seconds * 2), flush=True)
    with server(args.twistd, args.workers) as (process, port, _):
        print(bodies(port, process.pid, args.seconds), flush=True)
    with server(args.twistd, args.workers) as (process, port, log):
        print(badAccept(port, log), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
