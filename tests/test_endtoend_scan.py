"""
End-to-end tests of the installed C{welcome-client} checking many ports in
one run: against C{twistd welcome} listening on several ports, closed ports,
and a port whose accept queue is full (a dropped SYN, as behind a
firewall).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.clientpeers import openSSLServer
from tests.support import (
    ServerProcess,
    _environment,
    freePortRange,
    installedScript,
    runClient,
    temporaryPath,
)
from welcome_protocol.shared.defaults import SPARE_DESCRIPTORS


def closedPorts(count: int, case: TestCase | None = None) -> list[int]:
    """
    Ports nothing listens on (each was free a moment ago).

    @param case: If given, the ports are held for its duration (bound, not
        listening: they refuse connections, and no other process on the
        machine can take them meanwhile).
    """
    if case is not None:
        held = [socket.socket() for _ in range(count)]
        for s in held:
            case.addCleanup(s.close)
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in held]
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def waitConnecting(pid: int, ports: Sequence[int], seconds: float = 30.0) -> None:
    """
    Wait until process C{pid} is connecting (its SYN sent, not answered) to
    one of C{ports} on 127.0.0.1, as a client does to a L{fullBacklog} port.

    @raise AssertionError: If it is not within C{seconds}.
    """
    # /proc/net/tcp: "sl local rem st ... inode", addresses as hex
    # "0100007F:1F90"; state 02 is SYN_SENT.  The fillers of a full backlog
    # are connecting too: only the process's own sockets count.
    wanted = {f"0100007F:{port:04X}" for port in ports}
    deadline = time.monotonic() + seconds
    while True:
        mine = set()
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    mine.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if (
                fields[3] == "02"
                and fields[2] in wanted
                and f"socket:[{fields[9]}]" in mine
            ):
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"process {pid} is not connecting to {list(ports)}")
        time.sleep(0.02)


def fullBacklog(case: TestCase) -> int:
    """
    A listener whose accept queue is full and never drained: the kernel
    drops further SYNs, so a connection never completes.

    @return: Its port.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    case.addCleanup(listener.close)
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        case.addCleanup(filler.close)
    time.sleep(0.2)
    return port


def welcomeServer(case: TestCase, count: int) -> list[int]:
    """
    Start C{twistd welcome} on C{count} loopback ports.

    @return: The ports.
    """
    args: list[str] = []
    for _ in range(count):
        args += ["--listen", "tcp:0:interface=127.0.0.1"]
    server = ServerProcess(args)
    case.addCleanup(server.kill)
    return [int(a.rsplit(":", 1)[1]) for a in server.waitListening(count)]


def portList(ports: Sequence[int]) -> str:
    """
    C{22,80,...}.
    """
    return ",".join(map(str, ports))


def jsonObjects(output: str) -> list[dict[str, object]]:
    """
    Every line of the output as a JSON object.
    """
    return [json.loads(line) for line in output.splitlines()]


class ScanTests(TestCase):
    """
    The table, JSON and Nagios outputs, and their exit statuses.
    """

    def setUp(self) -> None:
        self.open = welcomeServer(self, 3)
        self.closed = closedPorts(2, self)

    def test_tableSortedWithSummary(self) -> None:
        """
        A table of every port, sorted, then the summary line; closed ports
        that should welcome make the status 1.
        """
        ports = sorted(self.open + self.closed, reverse=True)
        result = runClient(["127.0.0.1", "--ports", portList(ports)])
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0], "Ports of 127.0.0.1:")
        self.assertEqual(lines[1].split(), ["PORT", "STATE", "TIME", "WELCOME"])
        rows = [line.split() for line in lines[2:7]]
        self.assertEqual([int(r[0]) for r in rows], sorted(ports))
        for row in rows:
            state = "welcomed" if int(row[0]) in self.open else "refused"
            self.assertEqual(row[1], state, row)
        self.assertIn("'Welcome!'", lines[2 + sorted(ports).index(self.open[0])])
        self.assertEqual(lines[7], "")
        self.assertRegex(
            lines[8],
            r"\A5 ports on 1 host in [0-9.]+ s: 3 as expected, 2 not "
            r"\(3 welcomed, 2 refused\)\Z",
        )
        self.assertEqual(len(lines), 9)

    def test_expectClosed(self) -> None:
        """
        With the closed ports named by C{--expect-closed}, every port is as
        expected: status 0.  A port that welcomes though it should be closed
        fails the run, and its row says so.
        """
        target = f"127.0.0.1:{portList(self.open)}"
        good = runClient([target, "--expect-closed", portList(self.closed)])
        self.assertEqual(good.returncode, 0, good.stdout)
        self.assertIn("5 as expected, 0 not", good.stdout)
        bad = runClient([target, "--expect-closed", str(self.open[0])])
        self.assertEqual(bad.returncode, 1, bad.stdout)
        row = [r for r in bad.stdout.splitlines() if r.startswith(str(self.open[0]))]
        self.assertIn("<- expected closed", row[0])

    def test_json(self) -> None:
        """
        C{--json}: an object per port as each ends (with C{--sorted},
        sorted), then the summary object.
        """
        ports = self.open + self.closed
        result = runClient(["--json", "127.0.0.1", "--ports", portList(ports)])
        self.assertEqual(result.returncode, 1)
        objects = jsonObjects(result.stdout)
        self.assertEqual([o["type"] for o in objects], ["port"] * 5 + ["scan_summary"])
        self.assertEqual(sorted(o["port"] for o in objects[:5]), sorted(ports))
        ordered = runClient(
            ["--json", "--sorted", "127.0.0.1", "--ports", portList(ports)]
        )
        objects = jsonObjects(ordered.stdout)
        self.assertEqual([o["port"] for o in objects[:5]], sorted(ports))
        for o in objects[:5]:
            welcomed = o["port"] in self.open
            self.assertEqual(o["state"], "welcomed" if welcomed else "refused")
            self.assertEqual(o["as_expected"], welcomed)
            self.assertEqual(o["welcome"], "Welcome!" if welcomed else None)
        summary = objects[-1]
        self.assertEqual(
            (summary["ports"], summary["as_expected"], summary["unexpected"]),
            (5, 3, 2),
        )
        states = summary["states"]
        assert isinstance(states, dict)
        self.assertEqual((states["welcomed"], states["refused"]), (3, 2))

    def test_nagios(self) -> None:
        """
        C{--nagios}: one line with the counts and perfdata; OK when every
        port is as expected, CRITICAL when a port refuses, WARNING with
        C{--refused warn}.
        """
        target = f"127.0.0.1:{portList(self.open)}"
        ok = runClient(["--nagios", target])
        self.assertEqual(ok.returncode, 0, ok.stdout)
        text, _, perf = ok.stdout.strip().partition("|")
        self.assertEqual(ok.stdout.count("\n"), 1)
        self.assertTrue(text.startswith("WELCOME OK - 3 ports as expected"), text)
        self.assertIn("ports=3;;;0; unexpected=0;;;0;3 welcomed=3;;;0;3", perf)
        self.assertRegex(perf, r" time=[0-9.]+s;;;0.000000;10.000000\Z")
        everything = f"127.0.0.1:{portList(self.open + self.closed)}"
        critical = runClient(["--nagios", everything])
        self.assertEqual(critical.returncode, 2)
        self.assertIn("2 of 5 ports not as expected", critical.stdout)
        warning = runClient(["--nagios", "--refused", "warn", everything])
        self.assertEqual(warning.returncode, 1)

    def test_targets(self) -> None:
        """
        Several targets, on the command line and in C{--targets-file}; a
        name is looked up once and checked on its IPv4 address first.
        """
        path = Path(temporaryPath(self))
        path.write_text(
            f"# the welcome ports\nlocalhost:{portList(self.open)}\n\n"
            f"127.0.0.1:{self.closed[0]}   # closed\n"
        )
        result = runClient(
            [
                "--json",
                "--sorted",
                f"127.0.0.1:{self.open[0]}",
                "--targets-file",
                str(path),
            ]
        )
        objects = jsonObjects(result.stdout)
        seen = [(o["host"], o["port"], o["state"]) for o in objects[:-1]]
        self.assertEqual(
            seen,
            [("127.0.0.1", self.open[0], "welcomed")]
            + [("localhost", p, "welcomed") for p in sorted(self.open)]
            + [("127.0.0.1", self.closed[0], "refused")],
        )
        self.assertEqual(objects[1]["address"], "127.0.0.1")
        self.assertEqual(result.returncode, 1)


class TLSScanTests(TestCase):
    """
    C{--tls} applies to every port of a scan.
    """

    def test_tlsPorts(self) -> None:
        """
        Against C{openssl s_server}: the TLS port is welcomed over a
        verified connection (its TLS version in the JSON), the closed one is
        refused as expected.
        """
        cert, key = makeCertificate(Path(temporaryPath(self)), days=30)
        tls = openSSLServer(self, cert, key)
        tls.greetNext()
        closed = closedPorts(1, self)
        result = runClient(
            [
                "--json",
                "--tls",
                "--ca-file",
                str(cert),
                f"localhost:{tls.port}",
                "--expect-closed",
                str(closed[0]),
            ]
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        byPort = {o["port"]: o for o in jsonObjects(result.stdout)[:-1]}
        self.assertEqual(byPort[tls.port]["state"], "welcomed")
        self.assertIn(byPort[tls.port]["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertEqual(byPort[closed[0]]["state"], "refused")


class TimeoutTests(TestCase):
    """
    A connection that does not complete in time is a timeout, with a reason
    a person can read, in the single probe and in a scan.
    """

    def test_singleProbe(self) -> None:
        """
        C{--json}: kind C{timeout}, not C{unreachable} with an address's
        repr.
        """
        port = fullBacklog(self)
        result = runClient(["-t", "1", "--json", f"127.0.0.1:{port}"])
        attempt = jsonObjects(result.stdout)[0]
        self.assertEqual(
            (attempt["kind"], attempt["reason"]),
            ("timeout", "timed out after 1 s connecting"),
        )
        self.assertEqual(result.returncode, 1)

    def test_scanFiltered(self) -> None:
        """
        In a scan, the port's state is C{timeout}; C{--expect-closed} counts
        it as closed.
        """
        port = fullBacklog(self)
        result = runClient(["-t", "1", "127.0.0.1", "--expect-closed", str(port)])
        self.assertEqual(result.returncode, 0, result.stdout)
        row = result.stdout.splitlines()[2].split()
        self.assertEqual(row[:2], [str(port), "timeout"])


class InterruptTests(TestCase):
    """
    Ctrl-C during a scan prints what was checked so far.
    """

    def test_sigintPrintsTable(self) -> None:
        """
        SIGINT while ports are still timing out: the table of the ports
        already checked, the summary saying it was interrupted, status 1.
        """
        filtered = [fullBacklog(self) for _ in range(3)]
        closed = closedPorts(1, self)
        process = subprocess.Popen(
            [
                installedScript("welcome-client"),
                "-t",
                "30",
                "127.0.0.1",
                "--ports",
                portList(closed + filtered),
            ],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Interrupted once it waits on a filtered port (its reactor runs,
        # with its SIGINT handler), however long it took to start.
        waitConnecting(process.pid, filtered)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
        self.assertEqual(process.returncode, 1, stderr)
        lines = stdout.splitlines()
        self.assertEqual(lines[2].split()[:2], [str(closed[0]), "refused"])
        self.assertRegex(lines[-1], r"\A1 port on 1 host in .*, interrupted\Z")
        self.assertNotIn("Traceback", stderr)


class DescriptorTests(TestCase):
    """
    However many ports, the descriptors in use stay within C{--parallel}.
    """

    def test_boundedByParallel(self) -> None:
        """
        Two thousand ports with C{--parallel 10}: the process never has
        more than 10 descriptors open beyond the spare ones it counts on.
        """
        # Held (bound, not listening) for the test: unheld, a port free a
        # moment ago can be taken by a server another test starts meanwhile,
        # which then gets this scan's connection in its limits.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4096 <= hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        ports = closedPorts(2000, self)
        command = [
            installedScript("welcome-client"),
            "--json",
            "--parallel",
            "10",
            "127.0.0.1",
            "--ports",
            portList(ports),
        ]
        process = subprocess.Popen(
            command,
            cwd=tempfile.gettempdir(),
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        peak = 0

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
        stdout, stderr = process.communicate(timeout=120)
        sampler.join()
        self.assertEqual(process.returncode, 1, stderr)
        self.assertEqual(jsonObjects(stdout)[-1]["ports"], 2000)
        self.assertGreater(peak, 3)
        self.assertLessEqual(peak, 10 + SPARE_DESCRIPTORS)

    def test_parallelAboveFileLimit(self) -> None:
        """
        A C{--parallel} the open-file limit cannot hold is a one-line usage
        error, before anything is connected.
        """

        def lowLimit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        result = subprocess.run(
            [installedScript("welcome-client"), "--parallel", "1000", "--ports", "1-5"],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            capture_output=True,
            text=True,
            preexec_fn=lowLimit,
            timeout=30,
        )
        self.assertEqual(result.returncode, 2)
        self.assertEqual(
            result.stderr,
            "welcome-client: --parallel 1000 needs 1032 open files, above the "
            "limit of 256 (ulimit -n); use at most 224 (see --help)\n",
        )


class UsageTests(TestCase):
    """
    Mistakes in port lists and targets: one line, the mode's status.
    """

    def test_badPortLists(self) -> None:
        """
        Each mistake is named; status 2, or 3 (UNKNOWN) with C{--nagios}.
        """
        for args, message in [
            (["--ports", "80-20"], "--ports '80-20': the range '80-20' ends"),
            (["--ports", "0,1"], "--ports '0,1': '0' is not a port from 1 to 65535"),
            (["h:1-70000"], "'h:1-70000': '70000' is not a port from 1 to 65535"),
            (["--expect-closed", "x"], "--expect-closed 'x': 'x' is not a port"),
            (["a..b:1-2"], "'a..b:1-2': 'a..b' is not a valid host name"),
            (["--targets-file", "/nonexistent/t"], "--targets-file /nonexistent/t"),
            (["--count", "2", "h:1-2"], "--count checks one port"),
        ]:
            result = runClient(args)
            self.assertEqual(result.returncode, 2, args)
            self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
            self.assertIn(message, result.stderr)
            nagios = runClient(["--nagios", *args])
            self.assertEqual(nagios.returncode, 3, args)
            self.assertTrue(nagios.stdout.startswith("WELCOME UNKNOWN - "))


class ServerRangeTests(TestCase):
    """
    The installed C{twistd welcome} with a port range, checked by the
    installed client.
    """

    def test_rangeWelcomesOnEveryPort(self) -> None:
        """
        C{--listen tcp:A-B}: one start-up line for the range, and each
        client is told the port it reached (C{{server_port}}).
        """
        first = freePortRange(50)
        description = f"tcp:{first}-{first + 49}:interface=127.0.0.1"
        server = ServerProcess(["--listen", description, "--message", "{server_port}"])
        self.addCleanup(server.kill)
        server.waitListening()
        self.assertEqual(server.addresses, [f"127.0.0.1:{first}-{first + 49}"])
        result = runClient(["--json", "--sorted", f"127.0.0.1:{first}-{first + 49}"])
        self.assertEqual(result.returncode, 0, result.stdout)
        objects = jsonObjects(result.stdout)
        self.assertEqual(
            [(o["port"], o["welcome"]) for o in objects[:-1]],
            [(p, str(p)) for p in range(first, first + 50)],
        )
        self.assertFalse([line for line in server.output if "starting on" in line])

    def test_fileLimit(self) -> None:
        """
        More ports than the hard open-file limit can hold: one line, exit 1.
        """

        def lowLimit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

        result = subprocess.run(
            [installedScript("twistd"), "-n", "welcome", "--port", "30000-30999"],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            capture_output=True,
            text=True,
            preexec_fn=lowLimit,
            timeout=60,
        )
        self.assertEqual(result.returncode, 1)
        self.assertTrue(
            result.stdout.strip()
            .splitlines()[-1]
            .endswith(
                "1000 listening ports need 1032 open files, above the hard "
                "open-file limit of 256 (ulimit -Hn; LimitNOFILE= in systemd); "
                "listen on fewer ports or raise it"
            ),
            result.stdout[-500:],
        )
