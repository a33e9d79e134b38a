"""
Tests for L{welcome_protocol.workers.pool}: C{--workers N} runs N processes on one
listening socket, replaces one that dies, and leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from pathlib import Path

from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.support import ServerProcess, temporaryPath
from welcome_protocol.tap import Options
from welcome_protocol.workers.pool import MAX_WORKERS, parseWorkers, workerArguments

SERVING = r"Worker (\d+) serving on "


def _greet(port: int) -> bytes:
    """
    @return: What one loopback client receives from C{port}.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        chunks = []
        while chunk := client.recv(100):
            chunks.append(chunk)
    return b"".join(chunks)


def _gone(pid: int, seconds: float = 10.0) -> bool:
    """
    @return: Whether process C{pid} no longer exists (or is a zombie) within
        C{seconds}.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


class WorkerOptionTests(TestCase):
    """
    C{--workers} is validated once, like every option.
    """

    def test_default(self) -> None:
        """
        By default there are no worker processes.
        """
        config = Options()
        config.parseOptions([])
        self.assertEqual(config["workers"], 0)

    def test_count(self) -> None:
        """
        C{--workers N} asks for N workers.
        """
        config = Options()
        config.parseOptions(["--workers", "4"])
        self.assertEqual(config["workers"], 4)

    def test_bad(self) -> None:
        """
        Anything but an integer from 0 to the maximum is a usage error naming
        the option and the value.
        """
        for bad in ["-1", "two", str(MAX_WORKERS + 1), ""]:
            config = Options()
            error = self.assertRaises(
                usage.UsageError, config.parseOptions, ["--workers", bad]
            )
            self.assertEqual(
                str(error),
                f"--workers must be an integer from 0 to {MAX_WORKERS}, not {bad!r}",
            )

    def test_needsOnePlainListener(self) -> None:
        """
        Workers serve one plain socket: with TLS, a PROXY header, or more
        than one listener, C{--workers} is a usage error.
        """
        for listen in [
            ["--listen", "haproxy:tcp:0"],
            ["--listen", "tcp:0", "--listen", "tcp:0"],
            ["--listen", "unix:welcome.sock"],
        ]:
            config = Options()
            error = self.assertRaises(
                usage.UsageError, config.parseOptions, [*listen, "--workers", "2"]
            )
            self.assertEqual(
                str(error),
                "--workers needs exactly one plain tcp: or tcp6: listener",
            )
        for listen in [[], ["--listen", "tcp6:0"], ["--listen", "tcp:0"]]:
            config = Options()
            config.parseOptions([*listen, "--workers", "2"])
            self.assertEqual(config["workers"], 2)

    def test_parseWorkers(self) -> None:
        """
        L{parseWorkers} accepts surrounding blanks.
        """
        self.assertEqual(parseWorkers(" 3 "), 3)

    def test_workerArguments(self) -> None:
        """
        Workers get every option except C{--workers}, in either spelling.
        """
        self.assertEqual(
            workerArguments(
                ["--port", "0", "--workers", "2", "--workers=3", "--no-log-connections"]
            ),
            ["--port", "0", "--no-log-connections"],
        )


class WorkerProcessTests(TestCase):
    """
    The installed C{twistd welcome --workers 2}, as a user runs it.
    """

    def startServer(self, *args: str) -> ServerProcess:
        """
        Start the installed server; make sure it is gone after the test.
        """
        server = ServerProcess(args)
        self.addCleanup(server.kill)
        return server

    def workerPids(self, server: ServerProcess, count: int) -> list[int]:
        """
        Wait until C{count} distinct workers have reported serving.

        @return: Their process ids, in order of report.
        """
        deadline = time.monotonic() + 20
        while True:
            pids: list[int] = []
            for line in server.output:
                found = re.search(SERVING, line)
                if found and int(found.group(1)) not in pids:
                    pids.append(int(found.group(1)))
            if len(pids) >= count:
                return pids
            self.assertLess(time.monotonic(), deadline, "\n".join(server.output))
            server._readFor(0.1)

    def welcomedBy(self, server: ServerProcess) -> set[int]:
        """
        @return: The worker pids named in the access lines so far.
        """
        return {
            int(found.group(1))
            for found in (
                re.search(r"\] Welcomed 127\.0\.0\.1:\d+ \(worker (\d+)\)$", line)
                for line in server.output
            )
            if found
        }

    def test_allWorkersServe(self) -> None:
        """
        Each of the workers welcomes clients, and each welcome is logged with
        the client's address and the worker's pid.
        """
        server = self.startServer("--port", "0", "--workers", "2")
        port = server.tcpPort()
        pids = self.workerPids(server, 2)
        for _ in range(400):
            self.assertEqual(_greet(port), b"Welcome!")
            if len(self.welcomedBy(server)) == 2:
                break
            server._readFor(0)
        server.stop(signal.SIGTERM)
        self.assertEqual(self.welcomedBy(server), set(pids), "\n".join(server.output))

    def test_killedWorkerReplaced(self) -> None:
        """
        A worker that dies is replaced by a new one, and clients are still
        welcomed.
        """
        server = self.startServer("--port", "0", "--workers", "2")
        port = server.tcpPort()
        first, second = self.workerPids(server, 2)
        os.kill(first, signal.SIGKILL)
        server.waitForLine(
            rf"Worker 0 \(pid {first}\) ended|Worker 1 \(pid {first}\) ended"
        )
        pids = self.workerPids(server, 3)
        self.assertEqual(pids[:2], [first, second])
        self.assertTrue(_gone(first))
        for _ in range(20):
            self.assertEqual(_greet(port), b"Welcome!")

    def test_hangupReachesWorkers(self) -> None:
        """
        SIGHUP to twistd is passed on to every worker, and each re-reads the
        message file: clients get the new message from all of them.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"old")
        server = self.startServer(
            "--port", "0", "--workers", "2", "--message-file", str(path)
        )
        port = server.tcpPort()
        self.workerPids(server, 2)
        server.waitRunning()
        self.assertEqual(_greet(port), b"old")
        path.write_bytes(b"new")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while (
            sum(
                "Now sending the message from message file" in line
                for line in server.output
            )
            < 2
        ):
            self.assertLess(time.monotonic(), deadline, "\n".join(server.output))
            server._readFor(0.1)
        self.assertEqual({_greet(port) for _ in range(50)}, {b"new"})

    def test_sigtermToEveryProcess(self) -> None:
        """
        SIGTERM to twistd and to every worker at once, as systemd sends it
        to a service's whole control group, stops everything without a
        traceback.
        """
        server = self.startServer("--port", "0", "--workers", "2")
        server.tcpPort()
        pids = self.workerPids(server, 2)
        server.waitRunning()
        server.process.send_signal(signal.SIGTERM)
        # Keep signalling the workers while they stop, so that signals
        # arrive during their shutdown, as systemd's and twistd's do.
        deadline = time.monotonic() + 3
        alive = list(pids)
        while alive and time.monotonic() < deadline:
            for pid in list(alive):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    alive.remove(pid)
            time.sleep(0.002)
        status = server.wait()
        log = "\n".join(server.output)
        self.assertEqual(status, -signal.SIGTERM, log)
        self.assertNotIn("Traceback", log)
        self.assertEqual([pid for pid in pids if not _gone(pid)], [])

    def test_sigtermLeavesNothingBehind(self) -> None:
        """
        SIGTERM stops the workers and then twistd, without a traceback;
        no worker is left running.
        """
        server = self.startServer("--port", "0", "--workers", "2")
        port = server.tcpPort()
        pids = self.workerPids(server, 2)
        server.waitRunning()
        status = server.stop(signal.SIGTERM)
        log = "\n".join(server.output)
        self.assertEqual(status, -signal.SIGTERM, log)
        self.assertNotIn("Traceback", log)
        self.assertEqual([pid for pid in pids if not _gone(pid)], [])
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", port)), 0)

    def test_parentKilledWorkersEnd(self) -> None:
        """
        Even if twistd itself is killed (no chance to stop them), the
        workers end.
        """
        server = self.startServer("--port", "0", "--workers", "2")
        server.tcpPort()
        pids = self.workerPids(server, 2)
        server.stop(signal.SIGKILL)
        self.assertEqual([pid for pid in pids if not _gone(pid)], [])
