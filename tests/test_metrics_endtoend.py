"""
End-to-end tests of C{--metrics}: the installed C{twistd welcome}, scraped
by a real Prometheus server and checked by C{promtool}.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.hostileclients import (
    WELCOME,
    closeAll,
    cpuSeconds,
    holdOpen,
    rssKiB,
    waitClosedByServer,
)
from tests.metricshelpers import SampleKey, samples, scrape, value
from tests.prometheusserver import PrometheusServer, command
from tests.support import ServerProcess, readAll

CONTRIB = Path(__file__).resolve().parent.parent / "contrib" / "prometheus"
METRICS = "tcp:0:interface=127.0.0.1"

#: The metrics port's request deadline (C{--metrics-deadline}) in the tests
#: that wait for it: short, yet long enough for a scrape on a loaded machine.
DEADLINE = 1.0

#: Seconds past the deadline within which its closes must be seen: less
#: than the default deadline's 5 s, so a deadline not passed on fails.
LATE = 2.0


def _greet(port: int) -> bytes:
    """
    @return: What one loopback client receives from C{port}.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        return readAll(client)


def _promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [command("promtool"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


class _Servers(TestCase):
    """
    Start the installed server with metrics on a loopback port.
    """

    def startServer(
        self, *args: str, metrics: str = METRICS
    ) -> tuple[ServerProcess, int, int]:
        """
        @param metrics: The metrics port's description.
        @return: The server, its greeting port and its metrics port.
        """
        server = ServerProcess(
            ["--port", "0", "--metrics", metrics, "--no-log-connections", *args]
        )
        self.addCleanup(server.kill)
        greeting, metrics = server.waitListening(2)
        return server, int(greeting.rsplit(":", 1)[1]), int(metrics.rsplit(":", 1)[1])

    def scrapeUntil(
        self, port: int, name: str, expected: float, **labels: str
    ) -> dict[SampleKey, float]:
        """
        Scrape until sample C{name} with C{labels} is C{expected}.

        @return: The samples of that scrape.
        """
        deadline = time.monotonic() + 20
        while True:
            found = samples(scrape(port))
            if value(found, name, **labels) == expected:
                return found
            self.assertLess(time.monotonic(), deadline, f"{name} {labels} in {found}")
            time.sleep(0.05)


class PrometheusTests(_Servers):
    """
    Prometheus itself scrapes the service, and promtool accepts it.
    """

    def test_prometheusCountsGreetings(self) -> None:
        """
        After N greetings, Prometheus's own query API says
        C{welcome_connections_closed_total{outcome="served"}} is N.
        """
        _, port, metricsPort = self.startServer()
        prometheus = PrometheusServer(f"127.0.0.1:{metricsPort}")
        self.addCleanup(prometheus.stop)
        prometheus.waitReady()
        count = 25
        for _ in range(count):
            self.assertEqual(_greet(port), WELCOME)
        prometheus.waitValue(
            'welcome_connections_closed_total{job="welcome",outcome="served"}', count
        )
        prometheus.waitValue('up{job="welcome"}', 1)
        prometheus.waitValue(
            'welcome_connections_refused_total{reason="max_per_ip"}', 0
        )

    def test_promtoolChecksExposition(self) -> None:
        """
        C{promtool check metrics} finds nothing wrong with the exposition,
        whatever the idle timeout (the longest accepted adds a duration
        bucket), and the duration histogram has one C{+Inf} bucket.
        """
        for idle in ["300", "0", "604800"]:
            _, port, metricsPort = self.startServer("--idle-timeout", idle)
            _greet(port)
            text = scrape(metricsPort)
            checked = _promtool("check", "metrics", stdin=text)
            self.assertEqual(
                (checked.returncode, checked.stdout, checked.stderr), (0, "", ""), idle
            )
            self.assertEqual(
                text.count('welcome_connection_duration_seconds_bucket{le="+Inf"}'),
                1,
                idle,
            )

    def test_contribFilesValid(self) -> None:
        """
        The contrib scrape configuration and rules pass C{promtool check},
        and the rules' own unit tests pass.
        """
        for args in [
            ["check", "config", str(CONTRIB / "prometheus.yml")],
            ["check", "rules", str(CONTRIB / "welcome-rules.yml")],
            ["test", "rules", str(CONTRIB / "welcome-rules.test.yml")],
        ]:
            checked = _promtool(*args)
            self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
            self.assertIn("SUCCESS", checked.stdout)

    def test_silentScraperCostsOneConnection(self) -> None:
        """
        A scraper that connects and never reads does not stop others from
        being answered.
        """
        _, port, metricsPort = self.startServer()
        silent = socket.create_connection(("127.0.0.1", metricsPort))
        self.addCleanup(silent.close)
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        silent.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
        self.assertEqual(_greet(port), WELCOME)
        self.scrapeUntil(
            metricsPort, "welcome_connections_closed_total", 1, outcome="served"
        )


class CommandLineTests(_Servers):
    """
    Bad values and faults get one line and the right exit status.
    """

    def test_badDescription(self) -> None:
        """
        A bad C{--metrics} description is a usage error naming it.
        """
        server = ServerProcess(["--port", "0", "--metrics", "tcp:nine"])
        self.addCleanup(server.kill)
        self.assertEqual(server.wait(), 1)
        self.assertRegex(
            server.output[-1],
            r"^\S*twistd --nodaemon: --metrics 'tcp:nine': "
            r"'nine' is not a whole number$",
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_portInUse(self) -> None:
        """
        A metrics port already in use stops the service with one line and
        exit status 1.
        """
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            description = f"tcp:{busy}:interface=127.0.0.1"
            server = ServerProcess(["--port", "0", "--metrics", description])
            self.addCleanup(server.kill)
            self.assertEqual(server.wait(), 1)
        self.assertIn(
            f"twistd welcome: cannot listen on --metrics {description}: "
            "address already in use",
            server.output,
        )
        self.assertNotIn("Traceback", "\n".join(server.output))


def _statsLine(server: ServerProcess) -> dict[str, int]:
    """
    Ask for the stats line with SIGUSR1.

    @return: Its counters, by name.
    """
    seen = sum("Stats: " in line for line in server.output)
    server.process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in server.output if "Stats: " in line]
        if len(lines) > seen:
            break
        assert time.monotonic() < deadline, "no stats line after SIGUSR1"
        server._readFor(0.1)
    text = lines[-1].split("Stats: ", 1)[1]
    return {
        name.strip(): int(number)
        for name, number in re.findall(r"([a-z][a-z -]*?) (\d+)\b", text)
    }


class OneSourceOfTruthTests(_Servers):
    """
    The stats line and the endpoint report the same counters.
    """

    def assertAgree(self, line: dict[str, int], found: dict[SampleKey, float]) -> None:
        """
        Every figure of the stats line equals its metric.
        """
        closed = "welcome_connections_closed_total"
        refused = "welcome_connections_refused_total"
        self.assertEqual(
            line,
            {
                **line,
                "served": value(found, closed, outcome="served"),
                "timed out": value(found, closed, outcome="timed_out"),
                "closed at shutdown": value(found, closed, outcome="shutdown"),
                "errors": value(found, closed, outcome="error"),
                "max-connections": value(found, refused, reason="max_connections"),
                "max-per-ip": value(found, refused, reason="max_per_ip"),
                "bytes sent": value(found, "welcome_sent_bytes_total"),
                "open": value(found, "welcome_connections_open"),
            },
        )

    def test_mixedRun(self) -> None:
        """
        After greetings, refusals and timeouts, the stats line and the
        endpoint agree.
        """
        server, port, metricsPort = self.startServer(
            "--keep-open", "--idle-timeout", "0.5", "--max-per-ip", "2"
        )
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
        for sock in held:
            self.addCleanup(sock.close)
            self.assertEqual(sock.recv(100), WELCOME)
        # Over --max-per-ip while the two are held: refused.
        for _ in range(3):
            self.assertEqual(_greet(port), b"")
        # The two held ones are silent: the idle timeout closes them.
        for sock in held:
            self.assertEqual(readAll(sock), b"")
        # The server counts them closed an instant after the clients see it.
        self.scrapeUntil(metricsPort, "welcome_connections_open", 0)
        # Greetings whose client closes first: served (each counted closed
        # before the next, which --max-per-ip would refuse otherwise).
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", port)) as client:
                self.assertEqual(client.recv(100), WELCOME)
            self.scrapeUntil(metricsPort, "welcome_connections_open", 0)
        found = self.scrapeUntil(
            metricsPort, "welcome_connections_closed_total", 4, outcome="served"
        )
        self.scrapeUntil(metricsPort, "welcome_connections_open", 0)
        line = _statsLine(server)
        found = samples(scrape(metricsPort))
        self.assertEqual(
            (line["served"], line["timed out"], line["max-per-ip"]), (4, 2, 3)
        )
        self.assertAgree(line, found)


class WorkersTests(_Servers):
    """
    With C{--workers 2}, the parent's endpoint and stats line report the
    totals of every worker, dead ones included.
    """

    def workerPids(self, server: ServerProcess, count: int) -> list[int]:
        """
        @return: The pids of the first C{count} workers reported serving.
        """
        deadline = time.monotonic() + 20
        while True:
            pids: list[int] = []
            for line in server.output:
                found = re.search(r"Worker (\d+) serving on ", line)
                if found and int(found.group(1)) not in pids:
                    pids.append(int(found.group(1)))
            if len(pids) >= count:
                return pids
            self.assertLess(time.monotonic(), deadline, "\n".join(server.output))
            server._readFor(0.1)

    def test_totalsOverWorkers(self) -> None:
        """
        Greetings spread over two workers add up; after one is killed with
        SIGKILL and replaced, no counter has gone down, and the new one's
        greetings add to the total.  SIGUSR1 to the parent logs the totals.
        """
        server = ServerProcess(["--port", "0", "--metrics", METRICS, "--workers", "2"])
        self.addCleanup(server.kill)
        greeting, metrics = server.waitListening(2)
        port, metricsPort = int(greeting.rsplit(":")[-1]), int(metrics.rsplit(":")[-1])
        first, _ = self.workerPids(server, 2)
        served = 0
        workersSeen: set[str] = set()
        pattern = re.compile(r"\(worker (\d+)\)$")
        for _ in range(20):
            for _ in range(20):
                self.assertEqual(_greet(port), WELCOME)
            served += 20
            # Access lines reach the log within a second.
            deadline = time.monotonic() + 2
            while len(workersSeen) < 2 and time.monotonic() < deadline:
                server._readFor(0.1)
                workersSeen = {
                    found.group(1)
                    for found in map(pattern.search, server.output)
                    if found
                }
            if len(workersSeen) == 2:
                break
        self.assertEqual(len(workersSeen), 2, "one worker greeted every client")
        before = self.scrapeUntil(
            metricsPort, "welcome_connections_closed_total", served, outcome="served"
        )
        self.assertEqual(value(before, "welcome_workers"), 2)
        self.assertEqual(value(before, "welcome_connections_accepted_total"), served)
        self.assertEqual(_statsLine(server)["served"], served)

        os.kill(first, signal.SIGKILL)
        self.workerPids(server, 3)
        after = self.scrapeUntil(metricsPort, "welcome_worker_restarts_total", 1)
        counters = [
            key
            for key in before
            if key[0].startswith("welcome_") and key[0].endswith(("_total", "_count"))
        ]
        self.assertTrue(counters)
        for key in counters:
            self.assertGreaterEqual(after[key], before[key], key)
        for _ in range(10):
            self.assertEqual(_greet(port), WELCOME)
        self.scrapeUntil(
            metricsPort,
            "welcome_connections_closed_total",
            served + 10,
            outcome="served",
        )
        self.assertEqual(_statsLine(server)["served"], served + 10)
        self.assertEqual(server.stop(), -signal.SIGTERM)
        final = [line for line in server.output if "Stats: " in line][-1]
        self.assertIn(f"Stats: served {served + 10}, open 0,", final)


#: How the service serves its metrics: in-process, and in the parent of
#: workers (the workers' totals).
MODES: tuple[tuple[str, ...], ...] = ((), ("--workers", "2"))


def _exchange(port: int, request: bytes) -> bytes:
    """
    @return: All the server sends back to C{request} until it closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        return readAll(client)


def _writtenBytes(pid: int) -> int:
    """
    @return: The bytes process C{pid} has had written to storage.
    """
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise ValueError(f"no write_bytes for {pid}")


class HostileScraperTests(_Servers):
    """
    The metrics port of the installed server, in-process and with
    C{--workers}, holds its bounds against hostile clients.
    """

    def test_bodyRefusedUnread(self) -> None:
        """
        A request that announces a body gets 413 and is closed before the
        body is sent; 16 clients pushing chunked bodies get nothing written
        to disk.
        """
        for mode in MODES:
            server, _, metricsPort = self.startServer(*mode)
            response = _exchange(
                metricsPort,
                b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n",
            )
            self.assertTrue(response.startswith(b"HTTP/1.1 413 "), (mode, response))
            before = _writtenBytes(server.pid)
            senders = holdOpen(metricsPort, 16)
            self.addCleanup(closeAll, senders)
            chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
            for sender in senders:
                sender.sendall(
                    b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: "
                    b"1000000000\r\n\r\n"
                )
                with contextlib.suppress(OSError):
                    for _ in range(100):
                        sender.sendall(chunk)
            self.assertEqual(waitClosedByServer(senders, 10), 16, mode)
            self.assertLess(_writtenBytes(server.pid) - before, 1 << 20, mode)
            self.assertNotIn("Traceback", "\n".join(server.output))

    def test_badAcceptNoTraceback(self) -> None:
        """
        A hundred scrapes with an C{Accept} prometheus_client cannot parse
        get the default text format, and the log no traceback.
        """
        for mode in MODES:
            server, _, metricsPort = self.startServer(*mode)
            for _ in range(100):
                response = _exchange(
                    metricsPort,
                    b"GET /metrics HTTP/1.0\r\nAccept: text/plain; version=x\r\n\r\n",
                )
                self.assertTrue(response.startswith(b"HTTP/1.0 200 OK"), response)
                self.assertIn(b"text/plain; version=0.0.4", response)
            server._readFor(0.5)
            self.assertNotIn("Traceback", "\n".join(server.output), mode)

    def test_silentBeforeProxyHeaderBounded(self) -> None:
        """
        On a C{haproxy:} metrics port, 20 clients that never send their
        PROXY header cannot lock out a scraper that does, and are closed at
        the request deadline.
        """
        for mode in MODES:
            server, _, metricsPort = self.startServer(
                *mode,
                "--metrics-deadline",
                str(DEADLINE),
                metrics="haproxy:tcp:0:interface=127.0.0.1",
            )
            silent = holdOpen(metricsPort, 20)
            self.addCleanup(closeAll, silent)
            opened = time.monotonic()
            response = _exchange(
                metricsPort,
                b"PROXY TCP4 192.0.2.1 127.0.0.1 5000 9112\r\n"
                b"GET /metrics HTTP/1.0\r\n\r\n",
            )
            self.assertTrue(response.startswith(b"HTTP/1.0 200 OK"), (mode, response))
            self.assertEqual(
                waitClosedByServer(silent, opened + DEADLINE + LATE - time.monotonic()),
                20,
                mode,
            )
            # At the deadline, not at once: the 20 were not simply refused.
            self.assertGreaterEqual(time.monotonic() - opened, DEADLINE, mode)
            self.assertNotIn("Traceback", "\n".join(server.output))

    def test_drippersCannotLockOut(self) -> None:
        """
        A scrape is answered while 20 clients drip unfinished requests.
        """
        for mode in MODES:
            _, _, metricsPort = self.startServer(*mode)
            drippers = holdOpen(metricsPort, 20)
            self.addCleanup(closeAll, drippers)
            for byte in b"GET /metrics":
                for dripper in drippers:
                    with contextlib.suppress(OSError):
                        dripper.send(bytes([byte]))
            found = samples(scrape(metricsPort))
            self.assertEqual(value(found, "welcome_connections_open"), 0, mode)

    def test_neverReadingPipelinersBounded(self) -> None:
        """
        16 clients that pipeline scrapes and never read cost the server
        under 8 MiB and a second of CPU, and are closed at the deadline.
        """
        # Longer than the second of pipelining below: the clients are
        # measured while they are still connected.
        deadline = 2.0
        for mode in MODES:
            server, _, metricsPort = self.startServer(
                *mode, "--metrics-deadline", str(deadline)
            )
            scrape(metricsPort)
            rss, cpu = rssKiB(server.pid), cpuSeconds(server.pid)
            clients = holdOpen(metricsPort, 16, receiveBuffer=4096)
            self.addCleanup(closeAll, clients)
            closedBy = time.monotonic() + deadline + LATE
            batch = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 100
            for client in clients:
                client.setblocking(False)
            for _ in range(100):
                for client in clients:
                    with contextlib.suppress(OSError):
                        client.send(batch)
                time.sleep(0.01)
            grown = rssKiB(server.pid) - rss
            self.assertLess(grown, 8 * 1024, mode)
            self.assertEqual(
                waitClosedByServer(clients, closedBy - time.monotonic()), 16, mode
            )
            self.assertLess(cpuSeconds(server.pid) - cpu, 1.0, mode)
