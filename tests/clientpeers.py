"""
Peers for the client's end-to-end tests: small loopback servers that
misbehave in one way each, and C{openssl s_server}.

The servers run in threads, because the tests wait for the client process
with the reactor stopped.  Each serves until closed, on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import freePort, waitConnectable

CHECK_TCP = "/usr/lib/nagios/plugins/check_tcp"
"""
Debian's C{monitoring-plugins-basic} installs the real C{check_tcp} here.
"""


class ThreadedServer:
    """
    Accept connections and do to each what C{mode} says:

      - C{welcome}: send C{Welcome!} and close;
      - C{keep-open}: send C{Welcome!} and keep the connection open (the
        tutorial's server);
      - C{wrong}: send C{Service Unavailable\\n} and close;
      - C{silent}: accept and say nothing;
      - C{hangup}: close at once, without a word;
      - C{pieces}: send C{W}, then another C{W} half a second later (more
        than the client's quiet period), and keep the connection open;
      - C{echo}: read what the client sends (until it stops for a moment)
        and send it back, keeping everything read in C{received}.

    @ivar port: The loopback port it listens on.
    """

    def __init__(self, mode: str) -> None:
        self._mode = mode
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self.received: list[bytes] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._mode == "echo":
                self._echo(conn)
                continue
            if self._mode == "pieces":
                self._open.append(conn)
                threading.Thread(target=self._pieces, args=(conn,), daemon=True).start()
                continue
            if self._mode in ("welcome", "keep-open"):
                conn.sendall(b"Welcome!")
            elif self._mode == "wrong":
                conn.sendall(b"Service Unavailable\n")
            if self._mode in ("welcome", "wrong", "hangup"):
                conn.close()
            else:
                self._open.append(conn)

    def _pieces(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"W")
            time.sleep(0.5)
            conn.sendall(b"W")

    def _echo(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        data = b""
        try:
            while chunk := conn.recv(4096):
                data += chunk
                conn.sendall(chunk)
        except OSError:
            pass
        self.received.append(data)
        conn.close()

    def close(self) -> None:
        """
        Stop accepting and close every connection.
        """
        self._stopping.set()
        self._thread.join(5)
        self._listener.close()
        for conn in self._open:
            conn.close()


def threadedServer(case: TestCase, mode: str) -> ThreadedServer:
    """
    Start a L{ThreadedServer} for the duration of C{case}.
    """
    server = ThreadedServer(mode)
    case.addCleanup(server.close)
    return server


class OpenSSLServer:
    """
    C{openssl s_server} with a certificate, greeting each client.

    C{s_server} sends what it reads on its stdin to the connected client;
    L{greetNext} writes the next client's welcome there beforehand.  It keeps
    the connection open, so the client ends after its quiet period.

    @ivar port: The loopback port it listens on.
    """

    def __init__(self, certificate: Path, key: Path) -> None:
        self.port = freePort()
        self.process = subprocess.Popen(
            [
                "openssl",
                "s_server",
                "-accept",
                f"127.0.0.1:{self.port}",
                "-cert",
                str(certificate),
                "-key",
                str(key),
                "-quiet",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        waitConnectable("127.0.0.1", self.port)
        # waitConnectable's own connection: let s_server finish with it.
        time.sleep(0.2)

    def greetNext(self, text: bytes = b"Welcome!\n") -> None:
        """
        Queue the welcome the next client gets.
        """
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def stop(self) -> None:
        """
        End the server.
        """
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(5)
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()


def openSSLServer(case: TestCase, certificate: Path, key: Path) -> OpenSSLServer:
    """
    Start an L{OpenSSLServer} for the duration of C{case}.
    """
    server = OpenSSLServer(certificate, key)
    case.addCleanup(server.stop)
    return server


def runCheckTCP(*args: str, seconds: float = 30.0) -> subprocess.CompletedProcess[str]:
    """
    Run the real C{check_tcp} with C{args}.

    @raise AssertionError: If it is not installed (C{.ci/run} installs
        C{monitoring-plugins-basic}).
    """
    if not os.access(CHECK_TCP, os.X_OK):
        raise AssertionError(
            f"{CHECK_TCP} is missing: apt-get install monitoring-plugins-basic"
        )
    return subprocess.run(
        [CHECK_TCP, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds,
    )
