"""How long ``welcome-client`` takes to check many ports, and how many
descriptors it holds meanwhile, beside ``check_tcp`` run for each port.

Why: a firewall check is about many ports at once.  This starts
``twistd welcome`` listening on half of the ports (on loopback) and leaves
the other half closed, then checks them all:

- ``welcome-client`` with its default ``--parallel``, and with
  ``--parallel 1`` (one port at a time);
- the real ``check_tcp`` once per port, 100 at a time (``xargs -P 100``), as
  a shell script driving Nagios's plugin would.

For each it reports the wall time (process start to exit) and, for
``welcome-client``, the peak of descriptors in use, sampled from
``/proc/PID/fd`` every millisecond.

Run from the repository root after ``pip install .``::

    python benchmarks/scan.py [--ports 1000] [--repeat 3]

``--ports`` is the total; the report (markdown) goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CHECK_TCP = "/usr/lib/nagios/plugins/check_tcp"
LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")


def script(name: str) -> str:
    """
    The installed console script C{name}, beside this Python.
    """
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    if found is None:
        sys.exit(f"{name} is not installed beside {sys.executable}: pip install .")
    return found


def startServer(count: int) -> tuple[subprocess.Popen[str], list[int]]:
    """
    Start C{twistd welcome} on C{count} loopback ports; return it and them.
    """
    args = [script("twistd"), "--nodaemon", "--pidfile=", "--logfile=-", "welcome"]
    for _ in range(count):
        args += ["--listen", "tcp:0:interface=127.0.0.1"]
    args.append("--no-log-connections")
    server = subprocess.Popen(
        args, cwd=tempfile.gettempdir(), stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    ports: list[int] = []
    deadline = time.monotonic() + 120
    while len(ports) < count and time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            sys.exit("twistd welcome ended before listening")
        ports += [int(p) for p in LISTENING.findall(line)]
    threading.Thread(target=server.stdout.read, daemon=True).start()
    return server, ports[:count]


def closedPorts(count: int) -> tuple[list[socket.socket], list[int]]:
    """
    Loopback ports that refuse connections: bound but not listening, so no
    other process on the machine can take them meanwhile.

    @return: The sockets to keep open, and their ports.
    """
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    return sockets, [s.getsockname()[1] for s in sockets]


def timed(command: list[str], stdin: str | None = None) -> tuple[float, int, int]:
    """
    Run C{command}; return its wall time, exit status, and peak descriptors.
    """
    peak = 0
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            try:
                peak = max(peak, len(os.listdir(f"/proc/{process.pid}/fd")))
            except FileNotFoundError:
                return
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    output, _ = process.communicate(stdin)
    sampler.join()
    if process.returncode:
        # Say which ports were not as expected, and why.
        unexpected = [line for line in output.splitlines() if "<- expected" in line]
        print("\n".join(["not as expected:", *unexpected[:10]]), file=sys.stderr)
    return time.monotonic() - started, process.returncode, peak


def main() -> None:
    """
    Measure and print the report.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    half = options.ports // 2
    print(f"starting twistd welcome on {half} ports", file=sys.stderr)
    server, openPorts = startServer(half)
    try:
        held, closed = closedPorts(options.ports - half)
        ports = ",".join(map(str, openPorts))
        expectClosed = ",".join(map(str, closed))
        client = [
            script("welcome-client"),
            f"127.0.0.1:{ports}",
            "--expect-closed",
            expectClosed,
        ]
        runs: dict[str, list[tuple[float, int, int]]] = {}
        rows: list[tuple[str, list[str], str | None]] = [
            ("welcome-client (default --parallel)", client, None),
            ("welcome-client --parallel 1", [*client, "--parallel", "1"], None),
        ]
        if os.access(CHECK_TCP, os.X_OK):
            lines = "".join(f"{p}\n" for p in openPorts + closed)
            each = [
                "xargs", "-P", "100", "-I", "{}",
                CHECK_TCP, "-H", "127.0.0.1", "-p", "{}", "-r", "ok",
            ]  # fmt: skip
            rows.append(("check_tcp per port, xargs -P 100", each, lines))
        for round in range(options.repeat):
            for name, command, stdin in rows:
                print(f"round {round + 1}: {name}", file=sys.stderr)
                runs.setdefault(name, []).append(timed(command, stdin))
    finally:
        server.terminate()
        server.wait(30)
    for s in held:
        s.close()
    print(
        f"{options.ports} loopback ports, {half} welcoming (twistd welcome) and "
        f"{options.ports - half} closed; median of {options.repeat} runs.\n"
    )
    print("| checker | seconds | exit status | peak descriptors |")
    print("|---|---|---|---|")
    for name, results in runs.items():
        seconds = statistics.median(r[0] for r in results)
        statuses = sorted({r[1] for r in results})
        peak = max(r[2] for r in results)
        shown = "-" if name.startswith("check_tcp") else str(peak)
        print(f"| {name} | {seconds:.2f} | {statuses} | {shown} |")


if __name__ == "__main__":
    main()
