"""What ``twistd welcome-exporter`` costs, beside Debian's
``prometheus-blackbox-exporter`` on the same targets.

Three figures, in one run, all on loopback:

- **CPU per TCP probe**: each exporter scrapes ``/probe`` for a welcoming
  port (``twistd welcome``) ``--scrapes`` times, one scrape at a time, with
  the same module (``tcp`` with an ``expect``, blackbox_exporter's own
  layout); the exporter's CPU time (user + system, from ``/proc/PID/stat``)
  over the scrapes, per scrape, and the ratio of ours to blackbox's;
- **one scrape of 1,000 loopback ports**: ``ports=FIRST-LAST`` against
  ``twistd welcome`` listening on a range of ``--ports`` ports; the wall
  time of the scrape (the issue's goal: at most 2 s);
- **memory with 100 scrapes in flight**: ``--in-flight`` scrapes at once of
  a port that accepts and says nothing (so each stays in flight until its
  module's timeout), the exporter's resident memory before and while they
  are in flight; measured first, on freshly started exporters.

Run from the repository root after ``pip install .``::

    python benchmarks/exporter.py [--scrapes 500] [--ports 1000] [--in-flight 100]

The report (markdown) goes to stdout.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

MODULES = """\
modules:
  welcome:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Welcome"
  silent:
    prober: tcp
    timeout: 3s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Welcome"
"""

TICKS = os.sysconf("SC_CLK_TCK")


def script(name: str) -> str:
    """
    The installed console script C{name}, beside this Python.
    """
    found = shutil.which(name, path=os.path.dirname(sys.executable))
    if found is None:
        sys.exit(f"{name} is not installed beside {sys.executable}: pip install .")
    return found


def freePort() -> int:
    """
    A loopback TCP port nothing listens on now.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def freeRange(count: int) -> int:
    """
    The first of C{count} consecutive free loopback ports.
    """
    for _ in range(100):
        # Below the ephemeral range (32768 up), where connections come from.
        first = random.randrange(10000, 32768 - count)
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return first
    sys.exit(f"no {count} consecutive free ports")


def waitConnectable(port: int, process: subprocess.Popen[bytes]) -> None:
    """
    Wait until something accepts on loopback C{port} (C{process} started).
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{process.args!r} exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"nothing listens on {port} after 30 s")


def start(command: list[str], port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """
    Start C{command} (which serves on C{port}) and wait for it.
    """
    process = subprocess.Popen(
        command,
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    waitConnectable(port, process)
    return process


def cpuSeconds(pid: int) -> float:
    """
    The user and system CPU time of process C{pid} so far.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def residentBytes(pid: int) -> int:
    """
    The resident memory of process C{pid}.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def scrape(port: int, target: str, module: str, **params: str) -> str:
    """
    One C{/probe} scrape; its body.
    """
    query = urllib.parse.urlencode({"target": target, "module": module, **params})
    url = f"http://127.0.0.1:{port}/probe?{query}"
    with urllib.request.urlopen(url, timeout=30) as answer:
        body: bytes = answer.read()
    return body.decode()


def cpuPerProbe(port: int, pid: int, target: str, scrapes: int) -> float:
    """
    Scrape C{scrapes} times, one at a time; the exporter's CPU seconds per
    scrape.
    """
    for _ in range(20):
        scrape(port, target, "welcome")
    before = cpuSeconds(pid)
    for _ in range(scrapes):
        body = scrape(port, target, "welcome")
        if "probe_success 1" not in body:
            sys.exit(f"a probe of {target} failed:\n{body}")
    return (cpuSeconds(pid) - before) / scrapes


def probesInFlight(port: int) -> float:
    """
    Our exporter's C{welcome_exporter_probes_in_flight}.
    """
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=30) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("welcome_exporter_probes_in_flight "):
                return float(line.split()[1])
    return 0.0


def inFlightMemory(
    port: int, pid: int, target: str, count: int, ours: bool
) -> tuple[int, int]:
    """
    Start C{count} scrapes of a silent C{target} at once, and read the
    exporter's resident memory before, and once they are all in flight
    (ours says so on C{/metrics}; blackbox_exporter is given a second).

    @return: The memory before and during, in bytes.
    """
    before = residentBytes(pid)
    threads = [
        threading.Thread(target=scrape, args=(port, target, "silent"))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 2
    if ours:
        while probesInFlight(port) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        if probesInFlight(port) < count:
            sys.exit(f"fewer than {count} probes in flight")
    else:
        time.sleep(1)
    during = residentBytes(pid)
    for thread in threads:
        thread.join(30)
    return before, during


def main() -> None:
    """
    Measure, and print the report.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scrapes", type=int, default=500)
    parser.add_argument("--ports", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=100)
    args = parser.parse_args()
    blackboxPath = shutil.which("prometheus-blackbox-exporter")
    if blackboxPath is None:
        sys.exit("prometheus-blackbox-exporter is missing: apt-get install it")
    workdir = Path(tempfile.mkdtemp(prefix="welcome-exporter-bench-"))
    (workdir / "modules.yml").write_text(MODULES)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        first = freeRange(args.ports)
        last = first + args.ports - 1
        server = start(
            [
                script("twistd"),
                "--nodaemon",
                "--pidfile=",
                "--logfile=/dev/null",
                "welcome",
                "--listen",
                f"tcp:{first}-{last}:interface=127.0.0.1",
                "--no-log-connections",
            ],
            first,
            workdir,
        )
        processes.append(server)
        waitConnectable(last, server)
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(4096)
        silentTarget = f"127.0.0.1:{silent.getsockname()[1]}"

        oursPort = freePort()
        ours = start(
            [
                script("twistd"),
                "--nodaemon",
                "--pidfile=",
                "--logfile=/dev/null",
                "welcome-exporter",
                "--listen",
                f"tcp:{oursPort}:interface=127.0.0.1",
                "--config",
                "modules.yml",
                "--max-ports",
                str(max(args.ports, 1024)),
                "--max-scrapes",
                str(max(args.in_flight + 16, 128)),
            ],
            oursPort,
            workdir,
        )
        processes.append(ours)
        theirsPort = freePort()
        theirs = start(
            [
                blackboxPath,
                f"--config.file={workdir / 'modules.yml'}",
                f"--web.listen-address=127.0.0.1:{theirsPort}",
            ],
            theirsPort,
            workdir,
        )
        processes.append(theirs)
        target = f"127.0.0.1:{first}"

        memory = {
            name: inFlightMemory(
                port, pid, silentTarget, args.in_flight, name == "ours"
            )
            for name, port, pid in (
                ("ours", oursPort, ours.pid),
                ("theirs", theirsPort, theirs.pid),
            )
        }
        oursCPU = cpuPerProbe(oursPort, ours.pid, target, args.scrapes)
        theirsCPU = cpuPerProbe(theirsPort, theirs.pid, target, args.scrapes)

        started = time.monotonic()
        body = scrape(oursPort, "127.0.0.1", "welcome", ports=f"{first}-{last}")
        portsSeconds = time.monotonic() - started
        if "probe_success 1" not in body:
            sys.exit("the port-list scrape failed")

        silent.close()
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"# twistd welcome-exporter, {time.strftime('%Y-%m-%d')}\n")
    print("| measure | twistd welcome-exporter | blackbox_exporter |")
    print("|---|---|---|")
    print(
        f"| CPU per TCP probe (scrape), {args.scrapes} scrapes | "
        f"{oursCPU * 1000:.2f} ms | {theirsCPU * 1000:.2f} ms |"
    )
    print(f"| ratio | {oursCPU / theirsCPU:.2f}x | 1x |")
    print(f"| one scrape of {args.ports} loopback ports | {portsSeconds:.2f} s | - |")
    (oursIdle, oursBusy), (theirsIdle, theirsBusy) = memory["ours"], memory["theirs"]
    print(
        f"| resident memory, idle / with {args.in_flight} scrapes in flight | "
        f"{oursIdle / 2**20:.1f} / {oursBusy / 2**20:.1f} MiB | "
        f"{theirsIdle / 2**20:.1f} / {theirsBusy / 2**20:.1f} MiB |"
    )


if __name__ == "__main__":
    main()
