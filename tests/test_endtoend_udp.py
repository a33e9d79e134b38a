"""
End-to-end tests of UDP: the installed C{twistd welcome} with C{udp:}
listeners, real datagrams on loopback, Debian's C{socat} and C{ncat} as
peers, and the installed C{welcome-client --udp}.

Floods here are loopback only and bounded in count and time.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from twisted.trial.unittest import TestCase

from tests.support import ServerProcess, runClient

STATS = re.compile(
    r"datagrams (?P<received>\d+) \(answered (?P<answered>\d+), too small "
    r"(?P<tooSmall>\d+), rate limited (?P<limited>\d+), dropped (?P<dropped>\d+)\), "
    r"datagram bytes in (?P<bytesIn>\d+), out (?P<bytesOut>\d+)"
)

FLOODER = r"""
import socket, sys, time
port, seconds, limit = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect(("127.0.0.1", port))
sock.setblocking(False)
empty, padded = b"", b"\0" * 1200
sent = 0
deadline = time.monotonic() + seconds
while sent < limit and time.monotonic() < deadline:
    for _ in range(256):
        try:
            sock.send(empty if sent % 2 else padded)
        except (BlockingIOError, ConnectionRefusedError):
            pass
        sent += 1
print(sent)
"""
"""
A flood from one source: empty and padded datagrams, alternately, as fast
as one Python process sends them, until C{seconds} or C{limit}.  Empty
datagrams are the worst case for Twisted's own read bound, which counts
bytes.
"""


class UDPServer:
    """
    C{twistd welcome} listening on TCP and UDP on free loopback ports.
    """

    def __init__(
        self, case: TestCase, *args: str, interface: str = "127.0.0.1"
    ) -> None:
        escaped = interface.replace(":", "\\:")
        tcp = "tcp6" if ":" in interface else "tcp"
        self.server = ServerProcess(
            [
                "--listen",
                f"{tcp}:0:interface={escaped}",
                "--listen",
                f"udp:0:interface={escaped}",
                *args,
            ]
        )
        case.addCleanup(self.server.kill)
        tcp, udp = self.server.waitListening(2)
        self.server.waitRunning()
        self.tcpPort = int(tcp.rsplit(":", 1)[1])
        assert udp.endswith("/udp"), udp
        self.udpPort = int(udp[: -len("/udp")].rsplit(":", 1)[1])
        self.interface = interface

    def stats(self) -> dict[str, int]:
        """
        Ask for the stats line (C{SIGUSR1}) and read its UDP counters.
        """
        before = len(self.server.output)
        self.server.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.server.output[before:]:
                found = STATS.search(line)
                if found:
                    return {k: int(v) for k, v in found.groupdict().items()}
            self.server._readFor(0.1)
        raise AssertionError("no stats line:\n" + "\n".join(self.server.output))

    def udpLines(self) -> list[str]:
        """
        @return: The log lines about refused datagrams.
        """
        return [line for line in self.server.output if "UDP: " in line]


def greet(port: int, seconds: float) -> bytes:
    """
    Connect over TCP and read the welcome until the server closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        chunks = []
        while chunk := sock.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)


def probeUntilAnswered(
    sock: socket.socket, address: tuple[str, int], tries: int = 10
) -> bytes:
    """
    Send a padded probe and wait a second for the reply, again until one
    comes: a loaded loopback may drop a datagram the server had no room
    for, and a probe lost that way says nothing about the server.

    @return: The first reply.
    @raise TimeoutError: If no probe was answered.
    """
    sock.settimeout(1.0)
    for _ in range(tries - 1):
        sock.sendto(b"\0" * 1200, address)
        try:
            return sock.recv(65535)
        except TimeoutError:
            continue
    sock.sendto(b"\0" * 1200, address)
    return sock.recv(65535)


class UDPServerTests(TestCase):
    """
    The installed service answers datagrams within its rules.
    """

    def check_paddedAndShort(self, interface: str) -> None:
        """
        A padded datagram gets the welcome; short ones, and one as long as
        the welcome, get nothing at all.
        """
        server = UDPServer(self, interface=interface)
        family = socket.AF_INET6 if ":" in interface else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((interface, server.udpPort))
            sock.settimeout(10)
            for short in (b"", b"x", b"Welcome!"):
                sock.send(short)
            sock.send(b"\0" * 1200)
            self.assertEqual(sock.recv(65535), b"Welcome!")
            sock.settimeout(0.5)
            self.assertRaises(TimeoutError, sock.recv, 65535)
        counts = server.stats()
        self.assertEqual(
            (
                counts["answered"],
                counts["tooSmall"],
                counts["bytesIn"],
                counts["bytesOut"],
            ),
            (1, 3, 1209, 8),
        )

    def test_paddedAndShortIPv4(self) -> None:
        """
        Over IPv4.
        """
        self.check_paddedAndShort("127.0.0.1")

    def test_paddedAndShortIPv6(self) -> None:
        """
        Over IPv6, when the interface is an IPv6 address.
        """
        self.check_paddedAndShort("::1")

    def test_templateForSource(self) -> None:
        """
        Placeholders are filled in for the datagram's source.
        """
        server = UDPServer(self, "--message", "{peer_host} {peer_port}")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("127.0.0.1", server.udpPort))
            sock.settimeout(10)
            sock.send(b"\0" * 100)
            reply = sock.recv(65535)
            self.assertEqual(reply, f"127.0.0.1 {sock.getsockname()[1]}".encode())

    def test_tooSmallForRenderedCostsNoToken(self) -> None:
        """
        Datagrams larger than the template's literal text but too small for
        the welcome filled in for their source are all counted too small,
        however many there are: none takes a token, so a padded probe from
        the same source after 300 of them (more than its bucket's burst of
        200, which hardly refills) is still answered.
        """
        server = UDPServer(
            self, "--message", "{peer_host}:{peer_port} welcome", "--udp-rate", "0.01"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("127.0.0.1", server.udpPort))
            for _ in range(300):
                sock.send(b"x" * 12)
            reply = probeUntilAnswered(sock, ("127.0.0.1", server.udpPort))
            self.assertEqual(
                reply, f"127.0.0.1:{sock.getsockname()[1]} welcome".encode()
            )
        counts = server.stats()
        self.assertEqual((counts["limited"], counts["dropped"]), (0, 0))
        # The kernel may drop datagrams a busy server does not read in time.
        self.assertEqual(counts["tooSmall"], counts["received"] - counts["answered"])
        self.assertGreater(counts["tooSmall"], 200)

    def test_tooSmallSprayDoesNotStarveProbe(self) -> None:
        """
        A spray of datagrams too small for the rendered welcome, from 4,000
        /24 prefixes (all of 127.0.0.0/8 is loopback), takes no token of the
        global bucket: a padded probe from an untouched prefix is answered.
        """
        server = UDPServer(
            self,
            "--message",
            "{peer_host}:{peer_port} welcome",
            "--udp-global-burst",
            "100",
            "--udp-global-rate",
            "0.01",
        )
        for n in range(4000):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as spray:
                spray.bind((f"127.{1 + n // 256}.{n % 256}.1", 0))
                spray.sendto(b"x" * 12, ("127.0.0.1", server.udpPort))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.250.250.1", 0))
            reply = probeUntilAnswered(probe, ("127.0.0.1", server.udpPort))
        self.assertTrue(reply.startswith(b"127.250.250.1:"), reply)
        counts = server.stats()
        self.assertEqual(counts["limited"], 0)
        self.assertEqual(counts["tooSmall"], counts["received"] - counts["answered"])
        self.assertGreater(counts["tooSmall"], 100)

    def test_floodFromOneSource(self) -> None:
        """
        A sustained flood from one source gets no more replies than its
        bucket holds plus what it refills over the flood's length; over the
        whole flood, bytes out stay at or below bytes in; a few log lines
        sum it up, not one per datagram.
        """
        server = UDPServer(self)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.connect(("127.0.0.1", server.udpPort))
        sock.setblocking(False)
        sent = bytesSent = replies = bytesReceived = 0
        started = time.monotonic()

        def drain() -> None:
            nonlocal replies, bytesReceived
            while True:
                try:
                    reply = sock.recv(65535)
                except BlockingIOError:
                    return
                replies += 1
                bytesReceived += len(reply)

        # 10,000 datagrams over 2 seconds: 100 every 20 ms, of 0 to 99 bytes.
        for _ in range(100):
            for _ in range(100):
                datagram = b"\0" * (sent % 100)
                sock.send(datagram)
                sent += 1
                bytesSent += len(datagram)
            drain()
            time.sleep(0.02)
        time.sleep(0.5)
        drain()
        elapsed = time.monotonic() - started
        counts = server.stats()
        self.assertLessEqual(replies, 200 + 100 * elapsed)
        self.assertGreaterEqual(replies, 200)
        self.assertLessEqual(bytesReceived, bytesSent)
        self.assertLessEqual(counts["bytesOut"], counts["bytesIn"])
        # The kernel may drop what a busy server does not read in time.
        self.assertLessEqual(counts["received"], sent)
        self.assertLessEqual(counts["bytesIn"], bytesSent)
        self.assertEqual(counts["answered"], replies)
        self.assertEqual(
            counts["answered"] + counts["tooSmall"] + counts["limited"],
            counts["received"],
        )
        self.assertLessEqual(len(server.udpLines()), 4, server.udpLines())

    def test_tcpGreetedDuringFlood(self) -> None:
        """
        While one source floods the UDP port as fast as it can, TCP clients
        are still greeted, each within a second.
        """
        server = UDPServer(self)
        flooder = subprocess.Popen(
            [sys.executable, "-c", FLOODER, str(server.udpPort), "4", "3000000"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(flooder.kill)
        time.sleep(0.5)
        slowest = 0.0
        greeted = 0
        while flooder.poll() is None and greeted < 20:
            started = time.monotonic()
            self.assertEqual(greet(server.tcpPort, 5.0), b"Welcome!")
            slowest = max(slowest, time.monotonic() - started)
            greeted += 1
            time.sleep(0.05)
        flooder.wait(30)
        counts = server.stats()
        self.assertEqual(greeted, 20, "the flood ended before 20 greetings")
        self.assertLess(slowest, 1.0)
        self.assertGreater(counts["received"], 20000, counts)
        self.assertLessEqual(counts["bytesOut"], counts["bytesIn"])

    def test_metrics(self) -> None:
        """
        The metrics count datagrams by outcome, and bytes in and out.
        """
        server = UDPServer(self, "--metrics", "tcp:0:interface=127.0.0.1")
        server.server.waitListening(3)
        metricsPort = int(server.server.addresses[2].rsplit(":", 1)[1])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("127.0.0.1", server.udpPort))
            sock.settimeout(10)
            sock.send(b"x")
            sock.send(b"\0" * 100)
            sock.recv(65535)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{metricsPort}/metrics", timeout=10
        ) as response:
            text = response.read().decode()
        for line in [
            'welcome_datagrams_total{outcome="answered"} 1.0',
            'welcome_datagrams_total{outcome="too_small"} 1.0',
            'welcome_datagrams_total{outcome="rate_limited"} 0.0',
            'welcome_datagrams_total{outcome="dropped"} 0.0',
            'welcome_datagram_bytes_total{direction="in"} 101.0',
            'welcome_datagram_bytes_total{direction="out"} 8.0',
        ]:
            self.assertIn(line, text.splitlines())


class RealPeerTests(TestCase):
    """
    Debian's socat and ncat exchange datagrams with the service.
    """

    def peer(self, name: str, port: int, data: bytes, wait: float) -> bytes:
        """
        Send C{data} as one datagram with peer C{name}, and return what it
        prints within C{wait} seconds.  Its input stays open meanwhile: ncat
        stops reading the socket once its input ends.
        """
        path = shutil.which(name)
        if path is None:
            self.fail(f"{name} is not installed (apt-get install {name})")
        command = {
            "socat": [path, "-", f"UDP:127.0.0.1:{port}"],
            "ncat": [path, "-u", "127.0.0.1", str(port)],
        }[name]
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.addCleanup(process.kill)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(data)
        process.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(wait)
        output = os.read(process.stdout.fileno(), 65535) if ready else b""
        process.kill()
        process.wait(10)
        return output

    def check_peer(self, name: str) -> None:
        """
        A padded datagram from C{name} gets the welcome; a short one gets
        nothing.
        """
        server = UDPServer(self)
        self.assertEqual(self.peer(name, server.udpPort, b"0" * 64, 10), b"Welcome!")
        self.assertEqual(self.peer(name, server.udpPort, b"hi", 1), b"")

    def test_socat(self) -> None:
        """
        socat.
        """
        self.check_peer("socat")

    def test_ncat(self) -> None:
        """
        ncat.
        """
        self.check_peer("ncat")


class ClientTests(TestCase):
    """
    The installed C{welcome-client --udp}.
    """

    def test_ourServer(self) -> None:
        """
        Against our server: the welcome, exit 0.
        """
        server = UDPServer(self)
        result = runClient(["--udp", f"127.0.0.1:{server.udpPort}"])
        self.assertEqual(
            (result.returncode, result.stdout, result.stderr), (0, "Welcome!\n", "")
        )

    def test_probeTooSmall(self) -> None:
        """
        Against our server, a probe no larger than the welcome is dropped
        by its size rule: the silence comes with the hint to pad the
        probe, in every mode.
        """
        server = UDPServer(self)
        target = f"127.0.0.1:{server.udpPort}"
        args = ["--udp", "--pad", "4", "--timeout", "0.6", "--retries", "1", target]
        result = runClient(args)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.count("\n"), 1)
        self.assertIn(
            "or a welcome server dropped the 4-byte probe as no larger than "
            "its welcome: pad the probe (--pad 1200)",
            result.stderr,
        )
        nagios = runClient(["--nagios", *args])
        self.assertIn("pad the probe", nagios.stdout)
        lines = runClient(["--json", *args])
        self.assertIn(
            "pad the probe", json.loads(lines.stdout.splitlines()[0])["reason"]
        )

    def test_closedPort(self) -> None:
        """
        Against a port nothing listens on: refused (ICMP), exit 1, at once.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        started = time.monotonic()
        result = runClient(["--udp", f"127.0.0.1:{port}", "--timeout", "20"])
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stderr,
            f"welcome-client: 127.0.0.1:{port}/udp refused: ICMP port unreachable, "
            "nothing listens on that UDP port\n",
        )

    def test_silentPort(self) -> None:
        """
        Against a port that never answers: a timeout after every try, which
        says open or filtered; exit 1.
        """
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            result = runClient(
                ["--udp", f"127.0.0.1:{port}", "--timeout", "0.9", "--retries", "2"]
            )
            received = 0
            sock.settimeout(0)
            while True:
                try:
                    sock.recv(65535)
                except BlockingIOError:
                    break
                received += 1
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stderr,
            f"welcome-client: no reply from 127.0.0.1:{port}/udp within 0.9 s "
            "(3 tries): the port is open or filtered\n",
        )
        self.assertEqual(received, 3)

    def test_nagiosAndJSON(self) -> None:
        """
        C{--nagios} and C{--json} against our server.
        """
        server = UDPServer(self)
        nagios = runClient(["--udp", "--nagios", f"127.0.0.1:{server.udpPort}"])
        self.assertEqual(nagios.returncode, 0)
        self.assertIn(
            f"on 127.0.0.1 UDP port {server.udpPort} [Welcome!]", nagios.stdout
        )
        json = runClient(
            [
                "--udp",
                "--json",
                "--count",
                "2",
                "-i",
                "0.1",
                f"127.0.0.1:{server.udpPort}",
            ]
        )
        self.assertEqual(json.returncode, 0)
        self.assertEqual(json.stdout.count('"transport": "udp"'), 3)
