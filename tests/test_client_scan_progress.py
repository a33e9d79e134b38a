"""
Tests for L{welcome_protocol.client.scan.progress} and the streamed
C{--json} of a scan: progress on a terminal only, on stderr; each port's
object as its check ends.
"""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import tempfile

from twisted.trial.unittest import TestCase

from tests.clientpeers import threadedServer
from tests.support import _environment, installedScript, runClient
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.scan.plan import PortCheck
from welcome_protocol.client.scan.progress import Progress
from welcome_protocol.client.scan.scanner import PortResult


def portResult(kind: str | None) -> PortResult:
    """
    A port's result of C{kind} (L{None}: welcomed).
    """
    return PortResult(
        PortCheck(0, "h", 1, False), "127.0.0.1", ProbeResult(kind, welcome=b"W"), 0.1
    )


class ProgressTests(TestCase):
    """
    L{Progress} draws one line, counting states and the time left.
    """

    def test_line(self) -> None:
        """
        Ports done out of the total, the states so far, the time left.
        """
        clock = [0.0]
        out = io.StringIO()
        progress = Progress(out, 4, lambda: clock[0], interval=0)
        clock[0] = 10.0
        progress.port(portResult(None))
        self.assertEqual(progress.line(), "1/4 ports: 1 welcomed; about 30 s left")
        progress.port(portResult("refused"))
        self.assertTrue(out.getvalue().startswith("\r\x1b[K1/4 ports"))
        progress.close()
        self.assertTrue(out.getvalue().endswith("\r\x1b[K"))

    def test_notOnAPipe(self) -> None:
        """
        No progress is made for a stream that is not a terminal.
        """
        self.assertIsNone(Progress.onTerminal(io.StringIO(), 10))

    def test_throttled(self) -> None:
        """
        Results closer together than the interval are not all drawn.
        """
        out = io.StringIO()
        progress = Progress(out, 100, lambda: 0.0, interval=1)
        for _ in range(10):
            progress.port(portResult(None))
        self.assertEqual(out.getvalue().count("\r\x1b[K"), 1)


class FromOutsideTests(TestCase):
    """
    The installed client, its stderr a terminal or a pipe.
    """

    def test_progressOnATerminal(self) -> None:
        """
        With stderr on a pty, the progress line is drawn there, stdout
        (a pipe) keeps only the table; with stderr a pipe, nothing.
        """
        silent = threadedServer(self, "silent").port
        other = threadedServer(self, "silent").port
        args = ["--parallel", "1", "-t", "0.3", f"127.0.0.1:{silent},{other}"]
        controller, terminal = os.openpty()
        self.addCleanup(os.close, controller)
        process = subprocess.Popen(
            [installedScript("welcome-client"), *args],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
        )
        os.close(terminal)
        out, _ = process.communicate(timeout=30)
        drawn = b""
        while select.select([controller], [], [], 0.5)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
        self.assertIn(b"1/2 ports: 1 silent", drawn)
        self.assertNotIn("ports:", out)
        piped = runClient(args)
        self.assertEqual(piped.stderr, "")

    def test_killedRunKeepsItsLines(self) -> None:
        """
        C{--json} writes each port's object as it ends: a run killed before
        the end has the objects of the ports done.
        """
        welcome = threadedServer(self, "welcome").port
        silent = threadedServer(self, "silent").port
        process = subprocess.Popen(
            [
                installedScript("welcome-client"),
                "--json",
                "--parallel",
                "1",
                "-t",
                "30",
                f"127.0.0.1:{welcome},{silent}",
            ],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(process.kill)
        assert process.stdout is not None
        ready = select.select([process.stdout], [], [], 10)[0]
        self.assertTrue(ready, "no port object before the silent port's timeout")
        first = json.loads(process.stdout.readline())
        self.assertEqual((first["port"], first["state"]), (welcome, "welcomed"))
        process.send_signal(signal.SIGKILL)
        process.wait(10)
