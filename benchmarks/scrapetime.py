"""How long a scrape of ``--metrics`` holds the reactor with many connections.

Why: while the reactor thread works on a scrape, no client is greeted.  The
service's own metrics are read from counters (never from the connections)
in the reactor thread; the process collector and the encoding run in a
thread of the reactor's pool.  This measures both, with 10,000 connections
held open (``--keep-open``) on loopback, next to the same server with none:

- **scrape ms**: one scrape, from connecting (the metrics port answers one
  request per connection) to the last byte of the answer (thread included);
- **reactor ms**: the time the reactor thread itself spends on a scrape
  (parsing the request and collecting the service's metrics, then writing
  the answer), measured in this process around the real page, with as many
  sockets open here;
- **thread ms**: the time the thread spends on the rest, meanwhile;
- **greeting µs**: one greeting (connect to close) at a time, first with no
  scrape, then while another process scrapes without pause.  The difference
  in the worst greetings is what scraping costs the clients: an upper bound
  of how long a scrape holds the reactor.

Run from the repository root after ``pip install .``::

    python benchmarks/scrapetime.py [--connections 10000] [--scrapes 200]

The server is pinned to one CPU, this script and the scraping process to
another (where there are two).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: make the "benchmarks" package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.servers import LOOPBACK, allowed_cpus, free_port

HEADERS = {
    # What Prometheus sends.
    "Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
    "Accept-Encoding": "gzip",
}


def raise_file_limit(needed: int) -> None:
    """Allow this process ``needed`` descriptors, up to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < needed:
        sys.exit(f"error: need {needed} open files; raise the hard limit (ulimit -Hn)")


def start_server(
    connections: int, workdir: Path, cpu: int
) -> tuple[subprocess.Popen[bytes], int, int]:
    """``twistd welcome --keep-open --metrics ...``; its ports once it listens."""
    port, metrics = free_port(), free_port()
    twistd = Path(sys.executable).parent / "twistd"
    process = subprocess.Popen(
        [
            str(twistd),
            "--nodaemon",
            "--pidfile=",
            f"--logfile={workdir / 'twistd.log'}",
            "welcome",
            "--listen",
            f"tcp:{port}:interface={LOOPBACK}",
            "--keep-open",
            "--idle-timeout",
            "0",
            "--max-connections",
            str(connections + 100),
            "--no-log-connections",
            "--metrics",
            f"tcp:{metrics}:interface={LOOPBACK}",
        ],
        cwd=workdir,
        stdin=subprocess.DEVNULL,
    )
    os.sched_setaffinity(process.pid, {cpu})
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as probe:
            if probe.connect_ex((LOOPBACK, metrics)) == 0:
                return process, port, metrics
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(
                "error: the server did not start:\n"
                + (workdir / "twistd.log").read_text()
            )
        time.sleep(0.05)


def hold(port: int, count: int) -> list[socket.socket]:
    """Open ``count`` connections and read each one's welcome."""
    held: list[socket.socket] = []
    for _ in range(count):
        sock = socket.create_connection((LOOPBACK, port), timeout=10)
        sock.recv(100)
        held.append(sock)
    return held


def scrape_times(port: int, scrapes: int) -> tuple[list[float], bytes]:
    """Seconds for each of ``scrapes`` scrapes, a connection each (http.client
    reconnects after the answer's ``Connection: close``)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    times = []
    body = b""
    for _ in range(scrapes):
        started = time.perf_counter()
        connection.request("GET", "/metrics", headers=HEADERS)
        response = connection.getresponse()
        body = response.read()
        times.append(time.perf_counter() - started)
        if response.status != 200:
            sys.exit(f"error: scrape answered {response.status}")
    connection.close()
    return times, body


def scrape_forever(port: int, cpu: int) -> None:
    """Scrape without pause until killed (run in a child process)."""
    os.sched_setaffinity(0, {cpu})
    scrape_times(port, 10**9)


def greeting_times(port: int, count: int) -> list[float]:
    """Microseconds of ``count`` greetings, one at a time (connect to close)."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
            sock.recv(100)
        times.append((time.perf_counter() - started) * 1e6)
    return sorted(times)


def summary(us: list[float]) -> str:
    """Median, 99th percentile and maximum of sorted microseconds."""
    p99 = us[int(len(us) * 0.99)]
    return f"{statistics.median(us):,.0f} / {p99:,.0f} / {us[-1]:,.0f}"


def in_process(fds: int, scrapes: int) -> tuple[list[float], list[float]]:
    """Milliseconds the reactor thread and the thread spend on each scrape.

    The real metrics page, with ``fds`` sockets open in this process (the
    process collector lists them) and a synchronous stand-in for the thread.
    """
    from prometheus_client.registry import Collector
    from twisted.internet.defer import Deferred
    from twisted.internet.task import Clock
    from twisted.internet.testing import StringTransport

    from welcome_protocol.metrics.collector import WelcomeCollector
    from welcome_protocol.metrics.resource import MetricsPage, metricsSite
    from welcome_protocol.metrics.service import processRegistry
    from welcome_protocol.metrics.source import MetricsSource
    from welcome_protocol.shared.stats import ServerStats

    sockets = [socket.socket() for _ in range(fds)]
    pending: list[tuple[Deferred[bytes], Any]] = []

    def later(encoder: Any, families: Collector) -> Deferred[bytes]:
        d: Deferred[bytes] = Deferred()
        pending.append((d, lambda: encoder(families)))
        return d

    source = MetricsSource(ServerStats(0.0, served=10**9), lambda: fds, fds)
    page = MetricsPage(WelcomeCollector(source), processRegistry(), later)
    site = metricsSite(page, Clock())
    reactor_ms, thread_ms = [], []
    request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"
    for _ in range(scrapes):
        protocol = site.buildProtocol(None)
        assert protocol is not None
        protocol.makeConnection(StringTransport())
        started = time.perf_counter()
        protocol.dataReceived(request)
        collected = time.perf_counter()
        ((d, encode),) = pending
        pending.clear()
        body = encode()
        encoded = time.perf_counter()
        d.callback(body)
        written = time.perf_counter()
        reactor_ms.append((collected - started + written - encoded) * 1000)
        thread_ms.append((encoded - collected) * 1000)
        protocol.connectionLost(None)
    for sock in sockets:
        sock.close()
    return sorted(reactor_ms), sorted(thread_ms)


def open_connections(port: int) -> float:
    """``welcome_connections_open`` as the endpoint reports it."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    for line in text.splitlines():
        if line.startswith("welcome_connections_open "):
            return float(line.split()[1])
    sys.exit("error: no welcome_connections_open in the exposition")


def main(argv: list[str] | None = None) -> int:
    """Measure with no connection, then with ``--connections`` held open."""
    p = argparse.ArgumentParser(prog="python benchmarks/scrapetime.py")
    p.add_argument("--connections", type=int, default=10_000, metavar="N")
    p.add_argument("--scrapes", type=int, default=200, metavar="N")
    p.add_argument("--greetings", type=int, default=2000, metavar="N")
    args = p.parse_args(argv)
    raise_file_limit(args.connections + 100)
    cpus = allowed_cpus()
    server_cpu, client_cpu = cpus[0], cpus[-1]
    os.sched_setaffinity(0, {client_cpu})
    print("| sockets open | reactor ms p50 | p90 | max | thread ms p50 | max |")
    print("|---:|---:|---:|---:|---:|---:|")
    for count in (0, args.connections):
        reactor_ms, thread_ms = in_process(count, args.scrapes)
        print(
            f"| {count:,} | {statistics.median(reactor_ms):.3f} | "
            f"{reactor_ms[int(len(reactor_ms) * 0.9)]:.3f} | {reactor_ms[-1]:.3f} | "
            f"{statistics.median(thread_ms):.2f} | {thread_ms[-1]:.2f} |"
        )
    print()
    print(
        "| connections open | scrape ms p50 | p90 | max "
        "| greeting µs p50 / p99 / max, no scrape "
        "| the same while scraping |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for count in (0, args.connections):
        with tempfile.TemporaryDirectory(prefix="welcome-scrape-") as tmp:
            process, port, metrics = start_server(
                args.connections, Path(tmp), server_cpu
            )
            held: list[socket.socket] = []
            try:
                held = hold(port, count)
                reported = open_connections(metrics)
                if reported != count:
                    sys.exit(f"error: {reported:g} open reported, {count} held")
                scrape_times(metrics, 10)  # warm up
                times, _ = scrape_times(metrics, args.scrapes)
                ms = sorted(t * 1000 for t in times)
                quiet = greeting_times(port, args.greetings)
                scraper = multiprocessing.Process(
                    target=scrape_forever, args=(metrics, client_cpu)
                )
                scraper.start()
                time.sleep(0.5)
                busy = greeting_times(port, args.greetings)
                scraper.kill()
                scraper.join()
                print(
                    f"| {count:,} | {statistics.median(ms):.2f} | "
                    f"{ms[int(len(ms) * 0.9)]:.2f} | {ms[-1]:.2f} | "
                    f"{summary(quiet)} | {summary(busy)} |"
                )
            finally:
                for sock in held:
                    sock.close()
                process.terminate()
                process.wait(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
