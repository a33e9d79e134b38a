"""
Run the installed commands as a user would, for the end-to-end tests.

The tests use the C{twistd} and C{welcome-client} scripts installed next to
the running interpreter (the virtual environment the README's test command
creates), from a scratch directory, so they exercise the installed package
and its dropin rather than the source tree.
"""

from __future__ import annotations

import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from twisted.trial.unittest import TestCase

from welcome_protocol.tap import Options

LISTENING = re.compile(r"Listening on (?P<address>\S+) \((?P<description>[^)]*)\)")
STARTUP_SECONDS = 20.0


def installedScript(name: str) -> str:
    """
    @return: The path of console script C{name} installed beside Python.
    @raise FileNotFoundError: If the package's environment lacks it, which
        means the package (or Twisted) is not installed there.
    """
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: install the package first (see README.md)"
        )
    return str(path)


def _environment() -> dict[str, str]:
    """
    The environment for child processes: no source tree on the path.
    """
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServerProcess:
    """
    C{twistd -n welcome ...} running in a scratch directory, its log on a pipe.

    @ivar output: Every line it has written so far (stdout and stderr).
    @ivar addresses: The addresses it reported listening on, in order.
    """

    def __init__(
        self,
        args: Sequence[str],
        program: str = "twistd",
        launcher: Sequence[str] = (),
        logFile: str | None = None,
        preexec: Callable[[], None] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        """
        @param launcher: A command that runs the server, such as
            C{systemd-socket-activate -l ADDRESS}; the server's command line
            follows it.
        @param logFile: For twistd, a log file (relative to the scratch
            directory) instead of the pipe; the pipe then only carries what
            twistd writes before its log starts.
        @param preexec: Run in the child before it executes the program,
            e.g. to lower its resource limits.
        @param environment: Variables added to the child's environment.
        """
        self.workdir = tempfile.mkdtemp(prefix="welcome-e2e-")
        command = [*launcher, installedScript(program)]
        if program == "twistd":
            command += ["--nodaemon", "--pidfile=", f"--logfile={logFile or '-'}"]
        else:
            # twist writes JSON when its output is not a terminal.
            command += ["--log-format=text"]
        command += ["welcome", *args]
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            env={**_environment(), **(environment or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=preexec,
        )
        self.pid = self.process.pid
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        self._partial = ""
        self.output: list[str] = []
        self.addresses: list[str] = []
        self.logPath = None if logFile is None else Path(self.workdir, logFile)
        self._log: TextIO | None = None

    def _readFor(self, seconds: float) -> bool:
        """
        Read what the server wrote within C{seconds}; False at end of output.
        """
        if self.logPath is None:
            return self._readPipeFor(seconds)
        deadline = time.monotonic() + seconds
        while True:
            self._readPipeFor(0)
            if self._readLog():
                return True
            if self.process.poll() is not None:
                self._readPipeFor(0)
                self._readLog()
                return False
            if time.monotonic() >= deadline:
                return True
            time.sleep(0.02)

    def _readLog(self) -> bool:
        """
        Read what was added to the log file; False if nothing was.  After
        twistd rotates the file (on SIGUSR1), the rest of the old one is
        read, then the new one.
        """
        assert self.logPath is not None
        got = False
        while True:
            if self._log is None:
                try:
                    self._log = self.logPath.open(encoding="utf-8", errors="replace")
                except FileNotFoundError:
                    return got
            chunk = self._log.read()
            if chunk:
                self._addText(chunk)
                got = True
            try:
                rotated = (
                    os.stat(self.logPath).st_ino != os.fstat(self._log.fileno()).st_ino
                )
            except FileNotFoundError:
                rotated = True
            if not rotated:
                return got
            self._addText(self._log.read())
            self._log.close()
            self._log = None

    def _readPipeFor(self, seconds: float) -> bool:
        """
        Read what the server wrote on its output pipe within C{seconds};
        False at its end.
        """
        assert self.process.stdout is not None
        if self.process.stdout.closed:
            return False
        if not self._selector.select(seconds):
            return True
        chunk = self.process.stdout.read()
        if not chunk:
            return False
        self._addText(chunk)
        return True

    def _addText(self, chunk: str) -> None:
        """
        Split what was read into lines and note listening addresses.
        """
        self._partial += chunk
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self.output.append(line)
            found = LISTENING.search(line)
            if found:
                self.addresses.append(found.group("address"))

    def waitForLine(self, pattern: str, seconds: float = STARTUP_SECONDS) -> str:
        """
        Wait until a line matching C{pattern} (a regular expression) appears.

        @return: The line.
        @raise AssertionError: If it does not within C{seconds}, or the
            process ends first; the message includes all the output.
        """
        compiled = re.compile(pattern)
        checked = 0
        deadline = time.monotonic() + seconds
        while True:
            for line in self.output[checked:]:
                if compiled.search(line):
                    return line
            checked = len(self.output)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readFor(min(remaining, 0.1)):
                raise AssertionError(
                    f"no line matching {pattern!r}; output was:\n"
                    + "\n".join([*self.output, self._partial])
                )

    def waitForLines(
        self, pattern: str, count: int, seconds: float = STARTUP_SECONDS
    ) -> list[str]:
        """
        Wait until C{count} lines matching C{pattern} have appeared, e.g.
        one from each worker.

        @return: The first C{count} of them.
        @raise AssertionError: If they do not within C{seconds}, or the
            process ends first; the message includes all the output.
        """
        compiled = re.compile(pattern)
        deadline = time.monotonic() + seconds
        while True:
            found = [line for line in self.output if compiled.search(line)]
            if len(found) >= count:
                return found[:count]
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readFor(min(remaining, 0.1)):
                raise AssertionError(
                    f"{len(found)} of {count} lines matching {pattern!r}; "
                    "output was:\n" + "\n".join([*self.output, self._partial])
                )

    def reportStats(self, seconds: float = 10.0) -> dict[str, int]:
        """
        Ask for the stats line with C{SIGUSR1}, and read its counters.

        @return: The counters by name, e.g. C{{"served": 3, ...}}.
        @raise AssertionError: If no new stats line comes within C{seconds}.
        """
        seen = len([line for line in self.output if "Stats: " in line])
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + seconds
        while True:
            lines = [line for line in self.output if "Stats: " in line]
            if len(lines) > seen:
                text = lines[-1].split("Stats: ", 1)[1]
                return {
                    name.strip(): int(value)
                    for name, value in re.findall(
                        r"([A-Za-z][A-Za-z -]*?) (\d+)\b", text
                    )
                }
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readFor(min(remaining, 0.1)):
                raise AssertionError(
                    "no stats line after SIGUSR1; output was:\n"
                    + "\n".join([*self.output, self._partial])
                )

    def readAvailable(self) -> None:
        """
        Read what the server has written so far, without waiting for more.
        """
        while True:
            before = (len(self.output), len(self._partial))
            if not self._readFor(0):
                return
            if (len(self.output), len(self._partial)) == before:
                return

    def waitListening(self, count: int = 1) -> list[str]:
        """
        Wait until the server reports C{count} listening addresses.

        @return: The addresses, e.g. C{["0.0.0.0:41234"]}.
        """
        deadline = time.monotonic() + STARTUP_SECONDS
        while len(self.addresses) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._readFor(min(remaining, 0.1)):
                raise AssertionError(
                    f"not listening on {count} address(es); output was:\n"
                    + "\n".join([*self.output, self._partial])
                )
        return self.addresses[:count]

    def waitRunning(self) -> None:
        """
        Wait until the reactor runs (and so handles signals): the host report
        is logged from the running reactor.
        """
        self.waitForLine(r"This host is ")

    def tcpPort(self) -> int:
        """
        @return: The TCP port of the first listening address.
        """
        return int(self.waitListening()[0].rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM, seconds: float = 15.0) -> int:
        """
        Send C{sig} and wait for the process to end, collecting its output.

        @return: The exit status (negative for death by signal).
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait(seconds)

    def wait(self, seconds: float = 15.0) -> int:
        """
        Wait for the process to end by itself, collecting its output.

        @return: The exit status (negative for death by signal).
        """
        deadline = time.monotonic() + seconds
        while self._readFor(max(0.0, min(0.1, deadline - time.monotonic()))):
            if time.monotonic() > deadline:
                self.process.kill()
                break
        status = self.process.wait(5)
        if self._partial:
            self.output.append(self._partial)
            self._partial = ""
        self._selector.close()
        assert self.process.stdout is not None
        self.process.stdout.close()
        if self._log is not None:
            self._log.close()
        return status

    def kill(self) -> None:
        """
        End the process for certain and remove its directory; for clean-ups.
        """
        if self.process.poll() is None:
            self.process.kill()
            self.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def runClient(
    args: Sequence[str], seconds: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """
    Run the installed C{welcome-client} with C{args} and collect its result.
    """
    return subprocess.run(
        [installedScript("welcome-client"), *args],
        cwd=tempfile.gettempdir(),
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds,
    )


def freePort(host: str = "127.0.0.1") -> int:
    """
    Find a TCP port that nothing listens on now, for a peer that cannot be
    told to pick one itself (C{systemd-socket-activate}, C{haproxy}).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


def freePortRange(count: int, host: str = "127.0.0.1") -> int:
    """
    Find C{count} consecutive TCP ports that nothing listens on now, for a
    server given a port range.

    @return: The first of them.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(100):
        first = random.randrange(20000, 30000 - count)
        held = []
        try:
            for port in range(first, first + count):
                s = socket.socket(family)
                held.append(s)
                s.bind((host, port))
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
        return first
    raise AssertionError(f"no {count} consecutive free ports on {host}")


def waitConnectable(host: str, port: int, seconds: float = STARTUP_SECONDS) -> None:
    """
    Wait until something accepts TCP connections on C{host}, C{port}.

    @raise AssertionError: If nothing does within C{seconds}.
    """
    deadline = time.monotonic() + seconds
    while True:
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing accepts connections on {host}:{port}")
        time.sleep(0.05)


def readAll(sock: socket.socket, seconds: float = 10.0) -> bytes:
    """
    Read from C{sock} until the peer closes the connection.

    @raise AssertionError: If it does not close within C{seconds}.
    """
    sock.settimeout(seconds)
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def parseServerOptions(*argv: str) -> Options:
    """
    Parse C{argv} as C{twistd welcome} would.
    """
    options = Options()
    options.parseOptions(list(argv))
    return options


def temporaryPath(case: TestCase) -> str:
    """
    Name a file or directory, not yet made, in a fresh temporary directory
    removed after C{case}.

    Unlike C{TestCase.mktemp}, the path is absolute and outside the source
    tree under pytest as well as under trial.
    """
    base = tempfile.mkdtemp(prefix="welcome-test-")
    case.addCleanup(shutil.rmtree, base, True)
    return os.path.join(base, "scratch")
