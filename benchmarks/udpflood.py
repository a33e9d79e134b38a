"""A bounded UDP flood from one source against ``twistd welcome``, defaults on.

Why: to show, with figures, what the rate limits and the size rule do when
one source sends as fast as it can (loopback only): how many datagrams the
service received and answered, bytes in and out, and how long TCP clients
waited for their welcome meanwhile.  Run from the repository root after
``pip install .``::

    python benchmarks/udpflood.py [--datagrams 200000] [--seconds 10]

The markdown report goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

if not __package__:  # run as a script: make the "benchmarks" package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import find_twistd
from benchmarks.servers import LOOPBACK, ServerProcess, ServerSpec, allowed_cpus

STATS = re.compile(
    r"datagrams (\d+) \(answered (\d+), too small (\d+), rate limited (\d+), "
    r"dropped (\d+)\), datagram bytes in (\d+), out (\d+)"
)


def greet_while(stop: threading.Event, port: int, times: list[float]) -> None:
    """Greet over TCP every 50 ms until ``stop``; record each time taken."""
    while not stop.is_set():
        started = time.monotonic()
        with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
            while sock.recv(4096):
                pass
        times.append(time.monotonic() - started)
        time.sleep(0.05)


def flood(port: int, count: int, seconds: float, size: int) -> dict[str, float]:
    """Send ``count`` datagrams of ``size`` bytes as fast as possible."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.connect((LOOPBACK, port))
    sock.setblocking(False)
    datagram = b"\0" * size
    sent = replies = received = 0
    started = time.monotonic()
    deadline = started + seconds
    while sent < count and time.monotonic() < deadline:
        for _ in range(64):
            try:
                sock.send(datagram)
                sent += 1
            except BlockingIOError:
                break
        while True:
            try:
                received += len(sock.recv(65535))
                replies += 1
            except BlockingIOError:
                break
    flooded = time.monotonic() - started
    time.sleep(0.5)
    while True:
        try:
            received += len(sock.recv(65535))
            replies += 1
        except BlockingIOError:
            break
    sock.close()
    return {"sent": sent, "replies": replies, "received": received, "seconds": flooded}


def main() -> int:
    """Start the service, flood it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datagrams", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=1200)
    args = parser.parse_args()
    cpus = allowed_cpus()
    with tempfile.TemporaryDirectory(prefix="welcome-flood-") as tmpdir:
        tmp = Path(tmpdir)
        log = tmp / "welcome.log"
        spec = ServerSpec(
            "welcome",
            [
                str(find_twistd()),
                "--nodaemon",
                "--pidfile=",
                f"--logfile={log}",
                "welcome",
                "--listen",
                "tcp:{port}:interface=127.0.0.1",
                "--listen",
                "udp:{port}:interface=127.0.0.1",
            ],
            "defaults",
            log_file=log,
        )
        with ServerProcess(spec, cpus[0], tmp) as server:
            stop = threading.Event()
            times: list[float] = []
            greeter = threading.Thread(
                target=greet_while, args=(stop, server.port, times)
            )
            greeter.start()
            cpu0 = server.cpu_seconds()
            figures = flood(server.port, args.datagrams, args.seconds, args.size)
            cpu1 = server.cpu_seconds()
            stop.set()
            greeter.join()
            server.check_alive()
            lines_before = log.read_text().count("Stats:")
            os.kill(server.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 10
            found = None
            while time.monotonic() < deadline and found is None:
                text = log.read_text()
                if text.count("Stats:") > lines_before:
                    found = STATS.findall(text)[-1]
                time.sleep(0.1)
            # SIGUSR1 also rotates twistd's log: the flood's lines are in .1.
            text = Path(f"{log}.1").read_text() + log.read_text()
            logLines = [line for line in text.splitlines() if "UDP: " in line]
    if found is None:
        print("no stats line", file=sys.stderr)
        return 1
    received, answered, small, limited, dropped, bytesIn, bytesOut = map(int, found)
    print(
        f"| datagrams sent | received by the service | answered | too small "
        f"| rate limited | dropped | bytes in | bytes out | flood s | server CPU s "
        f"| TCP greetings during the flood | slowest greeting ms | UDP log lines |\n"
        f"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {figures['sent']:,} | {received:,} | {answered:,} | {small:,} "
        f"| {limited:,} | {dropped:,} | {bytesIn:,} | {bytesOut:,} "
        f"| {figures['seconds']:.1f} | {cpu1 - cpu0:.1f} | {len(times)} "
        f"| {max(times, default=0) * 1000:.1f} | {len(logLines)} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
