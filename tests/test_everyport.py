"""
Every port with one socket, for real: two network namespaces joined by a
veth pair, the rule sets of C{contrib/nftables} applied as shipped, the
installed C{twistd welcome} with one TCP socket in one namespace and the
installed C{welcome-client} scanning all 65,535 ports from the other.

The commands are read from C{docs/every-port.md} ("How to test it") and run
as written, with the namespace and link names made unique; only the
client's C{--json} is added, to check each port's welcome.  These tests need
root (or C{CAP_NET_ADMIN} and C{CAP_SYS_ADMIN}); without it they skip, and
fail when C{CI=true}.

Each scan prints its figures: the scan's time, the server's descriptors and
RSS (the most seen while it ran) and its CPU per greeting.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import ServerProcess, installedScript

_ROOT = Path(__file__).resolve().parents[1]
_DOC = _ROOT / "docs" / "every-port.md"
_EXCLUDED = 22
_SCAN_SECONDS = 180.0
_GREETINGS = 10000

#: Connect to ports FIRST, FIRST+STEP, ... COUNT times, one at a time, from
#: the client's namespace; write to stdout each port whose welcome was not
#: its own number.
_UDP_PROBE = """
import json, select, socket, time
result = {"wrong": [], "small": 0, "reflected": 0, "flood": 0}
def ask(port, size=100, source=0, tries=3):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("", source))
        s.connect(("10.200.0.1", port))
        s.settimeout(0.5)
        for _ in range(tries):
            s.send(b"x" * size)
            try:
                return s.recv(100).decode()
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                return "refused"
        return None
for port in range(40000, 40005):
    result["small"] += ask(port, size=1, tries=1) is not None
    result["reflected"] += ask(port, source=7, tries=1) is not None
time.sleep(2)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    for port in range(20000, 23000):
        s.sendto(b"x" * 100, ("10.200.0.1", port))
        if port % 100 == 0:
            time.sleep(0.01)  # paced under the server's receive buffer
    deadline = time.monotonic() + 2
    while select.select([s], [], [], max(0, deadline - time.monotonic()))[0]:
        data, (host, port) = s.recvfrom(100)
        result["flood"] += 1
        if data != str(port).encode():
            result["wrong"].append([port, data.decode()])
print(json.dumps(result))
"""

#: Ask the dual-stack listener over IPv6 and IPv4, redirected, and directly.
_DUAL = """
import socket
asked = [("fd00:200::1", 20005), ("10.200.0.1", 20006), ("10.200.0.1", 12345)]
for host, port in asked:
    with socket.create_connection((host, port), timeout=10) as s:
        data = b""
        while chunk := s.recv(100):
            data += chunk
    print(data.decode())
"""

_LOAD = """
import socket, sys
first, step, count = map(int, sys.argv[1:])
for i in range(count):
    port = first + i * step
    with socket.create_connection(("10.200.0.1", port), timeout=10) as s:
        data = b""
        while chunk := s.recv(100):
            data += chunk
    if data != str(port).encode():
        print(port, data)
"""

_NAMESPACE = re.compile(
    r"(netns add |netns del |exec |-n |netns )welcome-(server|client)\b"
)
_LINK = re.compile(r"\bwelcome([01])\b")


def documentedCommands(mode: str = "redirect") -> list[list[str]]:
    """
    Read the commands of C{docs/every-port.md}'s test, for C{mode}.

    @param mode: C{redirect} as written, or C{tproxy} in its place.
    @return: Each command as its words.
    """
    text = _DOC.read_text()
    section = text.split("## How to test it", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [
        shlex.split(line.replace("redirect", mode))
        for line in block.splitlines()
        if line.strip()
    ]


def documentedUDP() -> tuple[list[str], str]:
    """
    @return: The server command of C{docs/every-port.md}'s UDP test, and
        its client command, a shell line.
    """
    section = _DOC.read_text().split("### UDP over TPROXY", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    server, client = block.strip().splitlines()
    return shlex.split(server), client


def requireRoot(case: TestCase) -> None:
    """
    Skip C{case} unless it runs as root with C{ip} and C{nft}; under
    C{CI=true}, fail instead.
    """
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    why = None
    if os.geteuid() != 0:
        why = "needs root: it makes network namespaces and nftables rules"
    elif missing:
        why = f"needs {', '.join(missing)}"
    if why is None:
        return
    if os.environ.get("CI") == "true":
        case.fail(why)
    raise case.skipTest(why)


class _Sampler:
    """
    Watch a process's descriptors and RSS from a thread, keeping the most.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.descriptors = 0
        self.rssKiB = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]  # Linux always has the line
        self.descriptors = max(self.descriptors, fds)
        self.rssKiB = max(self.rssKiB, rss)

    def _run(self) -> None:
        while not self._done.wait(0.1):
            self._sample()

    def __enter__(self) -> _Sampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._sample()


@dataclass(frozen=True)
class _Figures:
    """
    What one scan measured.
    """

    ports: int
    startup: float
    seconds: float
    descriptors: int
    rssKiB: int
    cpuPerGreeting: float

    def line(self, listener: str) -> str:
        """
        @return: The figures as the test prints them.
        """
        return (
            f"\n{listener}: {self.ports} ports scanned in {self.seconds:.1f} s "
            f"(server up in {self.startup:.1f} s); server at most "
            f"{self.descriptors} descriptors, {self.rssKiB / 1024:.1f} MiB RSS; "
            f"{self.cpuPerGreeting * 1e6:.0f} us CPU per greeting"
        )


def _veth(namespace: str) -> str:
    """
    @return: The name of the veth link in C{namespace}.
    """
    shown = subprocess.run(
        ["ip", "-n", namespace, "-o", "link", "show", "type", "veth"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return shown.split(": ", 2)[1].split("@", 1)[0]


def cpuSeconds(pid: int) -> float:
    """
    @return: The user and system CPU time of process C{pid} so far.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EveryPortTests(TestCase):
    """
    The documented commands, in two namespaces: every port answers with its
    own number.
    """

    def run_(self, words: list[str]) -> None:
        """
        Run one documented command, from the checkout's top.
        """
        subprocess.run(words, cwd=_ROOT, check=True, capture_output=True, timeout=30)

    @contextmanager
    def namespaces(
        self, mode: str
    ) -> Iterator[tuple[list[list[str]], list[list[str]], list[list[str]]]]:
        """
        Make the documented namespaces and link, with unique names, and
        remove them afterwards.

        @return: The rest of the commands: the rules and the server, the
            client, and the removal.
        """
        suffix = f"{os.getpid() % 100000}{mode[0]}"
        commands = []
        for words in documentedCommands(mode):
            line = shlex.join(words)
            line = _NAMESPACE.sub(
                lambda m: f"{m.group(1)}welcome-{m.group(2)}-{suffix}", line
            )
            line = _LINK.sub(lambda m: f"we{m.group(1)}x{suffix}", line)
            commands.append(shlex.split(line))
        setup = [c for c in commands if c[:3] != ["ip", "netns", "exec"]]
        setup, teardown = setup[:-2], setup[-2:]
        inside = [c for c in commands if c[:3] == ["ip", "netns", "exec"]]
        try:
            for words in setup:
                self.run_(words)
            yield inside[:2], inside[2:3], inside[3:]
        finally:
            for words in teardown:
                subprocess.run(words, capture_output=True, timeout=30)

    def serveAndScan(
        self, server: list[str], client: list[str], started: list[float]
    ) -> tuple[dict[int, str | None], _Figures]:
        """
        Start the server C{server} says (C{ip netns exec NS twistd ...
        welcome ARGS}), run the scan C{client} says with C{--json}, and
        stop the server.

        @param started: Gets the time the server was started at.
        @return: Each port's welcome (L{None} for none), and the figures.
        """
        launcher, args = server[:4], server[server.index("welcome") + 1 :]
        started.append(time.monotonic())
        process = ServerProcess(args, launcher=launcher, logFile="server.log")
        self.addCleanup(process.kill)
        process.waitForLine(r"Listening on ", _SCAN_SECONDS)
        startup = time.monotonic() - started[0]
        client = [*client[:4], installedScript("welcome-client"), *client[5:]]
        before = cpuSeconds(process.pid)
        scanStarted = time.monotonic()
        with _Sampler(process.pid) as sampler:
            result = subprocess.run(
                [*client, "--json"],
                capture_output=True,
                text=True,
                timeout=_SCAN_SECONDS,
            )
        elapsed = time.monotonic() - scanStarted
        cpu = cpuSeconds(process.pid) - before
        process.stop()
        self.assertEqual(result.returncode, 0, result.stdout[-2000:])
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        welcomes = {p["port"]: p["welcome"] for p in lines if p["type"] == "port"}
        greeted = sum(1 for w in welcomes.values() if w is not None)
        return welcomes, _Figures(
            len(welcomes),
            startup,
            elapsed,
            sampler.descriptors,
            sampler.rssKiB,
            cpu / max(greeted, 1),
        )

    def scan(self, mode: str) -> None:
        """
        Apply C{mode}'s rules, start the server, scan all 65,535 ports from
        the other namespace, check every welcome, remove the rules, and
        print the figures.
        """
        requireRoot(self)
        with self.namespaces(mode) as (serving, scanning, removing):
            rules, server = serving
            self.run_(rules)
            welcomes, figures = self.serveAndScan(server, scanning[0], [])
            self.assertEqual(len(welcomes), 65535)
            wrong = [
                port
                for port, welcome in welcomes.items()
                if port != _EXCLUDED and welcome != str(port)
            ]
            self.assertEqual(wrong, [])
            self.assertIsNone(welcomes[_EXCLUDED])
            self.run_(removing[0])
            namespace = rules[3]
            tables = subprocess.run(
                ["ip", "netns", "exec", namespace, "nft", "list", "tables"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            self.assertEqual(tables.strip(), "")
        print(figures.line(f"{mode}:12345"))

    def test_redirectIPv6AndMapped(self) -> None:
        """
        Under REDIRECT, a dual-stack C{redirect:} listener reads the port an
        IPv6 client asked for (C{IP6T_SO_ORIGINAL_DST}) and the port an
        IPv4 client asked for (the IPv4 call, for its IPv4-mapped address).
        """
        requireRoot(self)
        every = "contrib/nftables/every-port"
        with self.namespaces("redirect") as (serving, scanning, _):
            server, client = serving[0][3], scanning[0][3]
            for namespace, address in [
                (server, "fd00:200::1/64"),
                (client, "fd00:200::2/64"),
            ]:
                command = ["ip", "-n", namespace, "addr", "add", address]
                self.run_([*command, "dev", _veth(namespace), "nodad"])
            inside = ["ip", "netns", "exec", server]
            self.run_(
                [
                    *inside,
                    every,
                    "redirect",
                    "add",
                    "--ports",
                    "20000-20010",
                    "--listen",
                    "12345",
                ]
            )
            process = ServerProcess(
                [
                    "--listen",
                    "redirect:12345:interface=\\:\\:",
                    "--message",
                    "{server_port}",
                ],
                launcher=inside,
                logFile="server.log",
            )
            self.addCleanup(process.kill)
            process.waitForLine(r"Listening on ")
            result = subprocess.run(
                ["ip", "netns", "exec", client, sys.executable, "-c", _DUAL],
                capture_output=True,
                text=True,
                timeout=30,
            )
            process.stop()
        self.assertEqual(
            result.stdout.split(), ["20005", "20006", "12345"], result.stderr
        )

    def test_tcpRangeForComparison(self) -> None:
        """
        For the figures, a C{tcp:} range of 10,000 ports (the most one
        description takes), a socket each, scanned the same way: each port
        answers its own number.
        """
        requireRoot(self)
        with self.namespaces("redirect") as (serving, scanning, _):
            server = [
                "tcp:20000-29999" if word == "redirect:12345" else word
                for word in serving[1]
            ]
            client = [
                "20000-29999" if word == "1-65535" else word for word in scanning[0]
            ]
            welcomes, figures = self.serveAndScan(server, client, [])
            self.assertEqual(
                welcomes, {port: str(port) for port in range(20000, 30000)} | {22: None}
            )
        print(figures.line("tcp:20000-29999"))

    def test_redirect(self) -> None:
        """
        Under REDIRECT, all 65,535 ports answer with their own number but
        the excluded one, which is refused; the rules go afterwards.
        """
        self.scan("redirect")

    def test_tproxy(self) -> None:
        """
        Under TPROXY, likewise.
        """
        self.scan("tproxy")

    def test_cpuPerGreeting(self) -> None:
        """
        For the figures, in one server: the CPU per greeting of a plain
        C{tcp:} listener, a C{redirect:} one and a C{tproxy:} one (both
        rule sets applied, on ranges of their own), each phase
        L{_GREETINGS} connections from the other namespace, one at a time,
        after a phase that warms the server up; every welcome is the port
        the client asked for.
        """
        requireRoot(self)
        every = "contrib/nftables/every-port"
        with self.namespaces("redirect") as (serving, _, _removing):
            namespace = serving[0][3]
            inside = ["ip", "netns", "exec", namespace]
            self.run_(
                [
                    *inside,
                    every,
                    "redirect",
                    "add",
                    "--ports",
                    "20000-29999",
                    "--listen",
                    "12345",
                ]
            )
            self.run_(
                [
                    *inside,
                    every,
                    "tproxy",
                    "add",
                    "--ports",
                    "30000-39999",
                    "--listen",
                    "12346",
                ]
            )
            server = serving[1]
            launcher = server[:4]
            args = [
                "--listen",
                "tcp:12000",
                "--listen",
                "redirect:12345",
                "--listen",
                "tproxy:12346",
                "--message",
                "{server_port}",
            ]
            process = ServerProcess(args, launcher=launcher, logFile="server.log")
            self.addCleanup(process.kill)
            process.waitListening(3)
            client = [*serving[0][:3], serving[0][3].replace("server", "client")]
            figures = []
            for name, first, step in [
                ("warm-up", 12000, 0),
                ("tcp:12000", 12000, 0),
                ("redirect:12345", 20000, 1),
                ("tproxy:12346", 30000, 1),
            ]:
                before = cpuSeconds(process.pid)
                result = subprocess.run(
                    [
                        *client,
                        sys.executable,
                        "-c",
                        _LOAD,
                        str(first),
                        str(step),
                        str(_GREETINGS),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=_SCAN_SECONDS,
                )
                cpu = cpuSeconds(process.pid) - before
                self.assertEqual(
                    (result.returncode, result.stdout), (0, ""), result.stderr
                )
                if name != "warm-up":
                    figures.append(f"{name} {cpu / _GREETINGS * 1e6:.0f} us")
            process.stop()
        print("\nCPU per greeting, one server: " + ", ".join(figures))

    def test_tproxyUDP(self) -> None:
        """
        Under TPROXY, with the documented rules, server and client scan, a
        UDP sample of 1,008 ports over the whole range is answered, each
        from its own port (the client's socket is connected) with its own
        number; the excluded port is not diverted (refused); datagrams too
        small for the welcome and from source port 7 get nothing; 3,000
        datagrams at once are cut by the rate limits to about their burst
        and refill.
        """
        requireRoot(self)
        with self.namespaces("tproxy") as (serving, scanning, _):
            rules = serving[0]
            self.run_(rules)
            server, scan = documentedUDP()
            server[3] = rules[3]
            launcher, args = server[:4], server[server.index("welcome") + 1 :]
            process = ServerProcess(args, launcher=launcher, logFile="server.log")
            self.addCleanup(process.kill)
            process.waitForLine(r"Listening on ")
            client = scanning[0][:4]
            scan = scan.replace("exec welcome-client ", f"exec {client[3]} ", 1)
            scan = scan.replace(
                " welcome-client --udp",
                f" {installedScript('welcome-client')} --udp",
                1,
            )
            started = time.monotonic()
            sampled = subprocess.run(
                ["sh", "-c", scan + " --json"],
                capture_output=True,
                text=True,
                timeout=_SCAN_SECONDS,
            )
            scanSeconds = time.monotonic() - started
            lines = [json.loads(line) for line in sampled.stdout.splitlines()]
            self.assertEqual(sampled.returncode, 0, sampled.stdout[-2000:])
            welcomes = {o["port"]: o["welcome"] for o in lines if o["type"] == "port"}
            self.assertEqual(
                welcomes,
                {port: str(port) for port in range(1, 65536, 65)} | {22: None},
            )
            time.sleep(1)  # the per-prefix bucket refills a little
            started = time.monotonic()
            probe = subprocess.run(
                [*client, sys.executable, "-c", _UDP_PROBE],
                capture_output=True,
                text=True,
                timeout=_SCAN_SECONDS,
            )
            elapsed = time.monotonic() - started
            self.assertEqual(probe.returncode, 0, probe.stderr)
            result = json.loads(probe.stdout)
            stats = process.reportStats()
            process.stop()
        self.assertEqual(result["wrong"], [])
        self.assertEqual((result["small"], result["reflected"]), (0, 0))
        self.assertGreater(result["flood"], 1500)
        self.assertLess(result["flood"], 3000)
        self.assertGreater(stats["rate limited"], 0)
        self.assertEqual((stats["too small"], stats["dropped"]), (5, 5))
        print(
            f"\nudp:12345:tproxy=yes: 1008 sampled ports scanned in "
            f"{scanSeconds:.1f} s, the rule checks in {elapsed:.1f} s; "
            f"{result['flood']} of 3000 flooded datagrams answered"
        )


class TransparentRefusedTests(TestCase):
    """
    Where the system will not make a socket transparent, the installed
    server does not start, and says why in one line.
    """

    def test_oneLine(self) -> None:
        """
        In a user namespace of its own (root there, but without
        C{CAP_NET_ADMIN} over the network), C{tproxy:} and
        C{udp:...:tproxy=yes} each stop the start with one line.
        """
        requireRoot(self)
        for description in ("tproxy:0:interface=127.0.0.1", "udp:0:tproxy=yes"):
            server = ServerProcess(
                ["--listen", description], launcher=["unshare", "-U", "-r", "--"]
            )
            self.addCleanup(server.kill)
            self.assertNotEqual(server.wait(), 0)
            errors = [line for line in server.output if "cannot listen" in line]
            self.assertEqual(
                errors[-1],
                f"twistd welcome: cannot listen on {description}: tproxy needs "
                "IP_TRANSPARENT, which needs CAP_NET_ADMIN (root, or a network "
                "namespace of your own)",
            )
            self.assertNotIn("Traceback", "\n".join(server.output))


class DocumentedCommandsTests(TestCase):
    """
    The test runs what the page says.
    """

    def test_commandsRead(self) -> None:
        """
        The page's test block has the rules, the server, the client and the
        removal, for either mode.
        """
        commands = [shlex.join(c) for c in documentedCommands("tproxy")]
        self.assertIn(
            "ip netns exec welcome-server contrib/nftables/every-port tproxy add "
            "--ports 1-65535 --exclude 22 --listen 12345",
            commands,
        )
        self.assertIn(
            "ip netns exec welcome-server twistd -n welcome --listen tproxy:12345 "
            "--message '{server_port}'",
            commands,
        )
        self.assertIn(
            "ip netns exec welcome-client welcome-client 10.200.0.1 "
            "--ports 1-65535 --expect-closed 22",
            commands,
        )
        server, client = documentedUDP()
        self.assertIn("udp:12345:tproxy=yes", server)
        self.assertIn("welcome-client --udp 10.200.0.1", client)
