"""
End-to-end tests of the installed C{check_welcome} beside the real
C{check_tcp}: the same arguments, against the same servers, for every state;
the same exit status and the same line (after the service name).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.clientpeers import (
    OpenSSLServer,
    openSSLServer,
    runCheckTCP,
    threadedServer,
)
from tests.support import (
    ServerProcess,
    _environment,
    freePort,
    installedScript,
    temporaryPath,
)

NUMBER = re.compile(r"\d+\.\d+")


def runCheckWelcome(
    *args: str, seconds: float = 30.0
) -> subprocess.CompletedProcess[str]:
    """
    Run the installed C{check_welcome} with C{args}.
    """
    return subprocess.run(
        [installedScript("check_welcome"), *args],
        cwd=tempfile.gettempdir(),
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds,
    )


def shape(line: str) -> str:
    """
    A plugin line with the service name and the measured numbers taken out:
    C{TCP OK - 0.001 second ...|time=0.000711s;...} and C{WELCOME OK -
    0.002 second ...} have the same shape.
    """
    return NUMBER.sub("N", re.sub(r"\A(TCP|WELCOME) ", "", line))


class BesideCheckTCPTests(TestCase):
    """
    C{check_welcome} and C{check_tcp} with the same arguments.
    """

    def both(
        self, *args: str
    ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        """
        Run both plugins with C{args}.
        """
        return runCheckWelcome(*args), runCheckTCP(*args)

    def assertSameLine(self, state: int, *args: str) -> str:
        """
        Both exit with C{state} and print one line of the same shape.

        @return: C{check_welcome}'s line.
        """
        mine, theirs = self.both(*args)
        self.assertEqual(
            (mine.returncode, theirs.returncode), (state, state), (mine, theirs)
        )
        self.assertEqual(mine.stdout.count("\n"), 1, mine.stdout)
        self.assertEqual(shape(mine.stdout), shape(theirs.stdout))
        return mine.stdout

    def test_ok(self) -> None:
        """
        OK against the project's server: the time, the host and port, the
        welcome in brackets, and the perfdata, as C{check_tcp} writes them.
        """
        server = ServerProcess(["--listen", "tcp:0:interface=127.0.0.1"])
        self.addCleanup(server.kill)
        port = str(server.tcpPort())
        line = self.assertSameLine(0, "-H", "127.0.0.1", "-p", port, "-e", "Welcome")
        self.assertTrue(line.startswith("WELCOME OK - "), line)
        self.assertIn(f"on 127.0.0.1 port {port} [Welcome!]|time=", line)
        # Any one of several expect strings will do, unless -A; -j hides
        # the welcome; the host as the first argument is named by port only.
        self.assertSameLine(0, "-H", "127.0.0.1", "-p", port, "-e", "x", "-e", "Wel")
        self.assertSameLine(0, "-H", "127.0.0.1", "-p", port, "-e", "Wel", "-j")
        self.assertSameLine(0, "127.0.0.1", "-p", port, "-e", "Welcome")
        self.assertSameLine(
            0, "-H", "127.0.0.1", "-p", port, "-e", "Wel", "-w", "5", "-c", "10"
        )
        self.assertSameLine(0, "-H", "127.0.0.1", "-p", port, "-e", "Wel", "-4")

    def test_withoutHost(self) -> None:
        """
        Without C{-H}, this host is checked, as C{check_tcp -p} checks the
        local host: both OK against a server on every interface.
        """
        server = ServerProcess(["--listen", "tcp:0"])
        self.addCleanup(server.kill)
        port = str(server.tcpPort())
        line = self.assertSameLine(0, "-p", port, "-e", "Welcome")
        self.assertTrue(line.startswith("WELCOME OK - "), line)

    def test_warning(self) -> None:
        """
        WARNING: slower than C{-w}; a mismatch (also with C{-A}, and with
        C{-j}).
        """
        server = threadedServer(self, "welcome")
        port = str(server.port)
        self.assertSameLine(
            1, "-H", "127.0.0.1", "-p", port, "-e", "Wel", "-w", "0.0000001", "-c", "5"
        )
        self.assertSameLine(1, "-H", "127.0.0.1", "-p", port, "-e", "Nope")
        self.assertSameLine(1, "-H", "127.0.0.1", "-p", port, "-e", "Nope", "-j")
        self.assertSameLine(
            1, "-H", "127.0.0.1", "-p", port, "-e", "Nope", "-e", "Wel", "-A"
        )
        mine, theirs = self.both("-H", "127.0.0.1", "-p", str(freePort()), "-r", "warn")
        self.assertEqual((mine.returncode, theirs.returncode), (1, 1))
        self.assertEqual(mine.stdout, "WELCOME WARNING - " + theirs.stdout)

    def test_critical(self) -> None:
        """
        CRITICAL: slower than C{-c}, a mismatch with C{-M crit}, a refusal
        (C{check_tcp} leaves out the service and state there), a timeout, a
        server that hangs up without a word.
        """
        server = threadedServer(self, "welcome")
        port = str(server.port)
        self.assertSameLine(
            2, "-H", "127.0.0.1", "-p", port, "-e", "Wel", "-w", "1", "-c", "0.0000001"
        )
        self.assertSameLine(2, "-H", "127.0.0.1", "-p", port, "-e", "No", "-M", "crit")
        closed = str(freePort())
        mine, theirs = self.both("-H", "127.0.0.1", "-p", closed)
        self.assertEqual((mine.returncode, theirs.returncode), (2, 2))
        self.assertEqual(mine.stdout, "WELCOME CRITICAL - " + theirs.stdout)
        silent = threadedServer(self, "silent")
        mine, theirs = self.both(
            "-H", "127.0.0.1", "-p", str(silent.port), "-e", "Wel", "-t", "1"
        )
        self.assertEqual((mine.returncode, theirs.returncode), (2, 2))
        self.assertEqual(mine.stdout, "WELCOME " + theirs.stdout)
        hangup = threadedServer(self, "hangup")
        mine, theirs = self.both("-H", "127.0.0.1", "-p", str(hangup.port), "-e", "W")
        self.assertEqual((mine.returncode, theirs.returncode), (2, 2))
        self.assertEqual(mine.stdout, "WELCOME CRITICAL - " + theirs.stdout)

    def test_criticalTimeBeatsMismatch(self) -> None:
        """
        C{check_tcp}'s order of precedence: a critical response time beats
        the C{-M} state of a mismatch, a warning one does not (C{-M ok}
        turns it OK).  The text is the same; the performance data is not
        compared: where C{check_tcp} writes a mismatch's thresholds as
        zeroes, C{check_welcome} leaves them out.
        """
        server = threadedServer(self, "welcome")
        port = str(server.port)
        fast = "0.0000001"
        for state, args in [
            (2, ["-e", "No", "-c", fast]),
            (2, ["-e", "No", "-M", "ok", "-c", fast]),
            (0, ["-e", "No", "-M", "ok", "-w", fast]),
            (1, ["-e", "No", "-w", fast, "-c", "5"]),
        ]:
            mine, theirs = self.both("-H", "127.0.0.1", "-p", port, *args)
            self.assertEqual(
                (mine.returncode, theirs.returncode), (state, state), (mine, theirs)
            )
            self.assertEqual(
                shape(mine.stdout).split("|")[0], shape(theirs.stdout).split("|")[0]
            )

    def test_ok_states(self) -> None:
        """
        C{-r ok} and C{-M ok} turn a refusal and a mismatch into OK.
        """
        server = threadedServer(self, "wrong")
        self.assertSameLine(
            0, "-H", "127.0.0.1", "-p", str(server.port), "-e", "Wel", "-M", "ok"
        )
        mine, theirs = self.both("-H", "127.0.0.1", "-p", str(freePort()), "-r", "ok")
        self.assertEqual((mine.returncode, theirs.returncode), (0, 0))

    def test_unknown(self) -> None:
        """
        UNKNOWN for bad values, in one line (C{check_tcp} adds its usage).
        """
        for args in (
            ["-H", "127.0.0.1", "-p", "x"],
            ["-H", "127.0.0.1", "-p", "1", "-t", "soon"],
            ["-H", "127.0.0.1", "-p", "1", "-r", "maybe"],
            ["-H", "127.0.0.1", "-p", "1", "-M", "maybe"],
            ["-H", "127.0.0.1", "-p", "1", "-m", "-5"],
            ["-H", "127.0.0.1", "-p", "1", "--bogus"],
            ["-H", "127.0.0.1", "-p", "1", "-d", "0"],
        ):
            mine, theirs = self.both(*args)
            self.assertEqual((mine.returncode, theirs.returncode), (3, 3), args)
            self.assertEqual(mine.stdout.count("\n"), 1, mine.stdout)
            self.assertTrue(mine.stdout.startswith("WELCOME UNKNOWN - "), mine.stdout)
            self.assertNotIn("Traceback", mine.stdout + mine.stderr)

    def test_badHostNameIsUnknown(self) -> None:
        """
        A host name IDNA refuses is UNKNOWN, one line: a mistake in the
        command definition, where C{check_tcp} says CRITICAL.
        """
        for host in ["a..b", ".a", "a" * 64 + ".org"]:
            mine, theirs = self.both("-H", host, "-p", "1")
            self.assertEqual((mine.returncode, theirs.returncode), (3, 2), host)
            self.assertEqual(mine.stdout.count("\n"), 1)
            self.assertIn("is not a valid host name", mine.stdout)
        mine = runCheckWelcome("-H", "127.0.0.1", "--sni", "a..b")
        self.assertEqual(mine.returncode, 3)
        self.assertTrue(mine.stdout.startswith("WELCOME UNKNOWN - --sni 'a..b'"))

    def test_sendAndQuit(self) -> None:
        """
        C{-s} is sent once connected and C{-q} before closing, with C{\\r\\n}
        added to C{-q}, or escapes read with C{-E} first: the server receives
        the same bytes from both plugins.
        """
        for args, sent in [
            (["-s", "PING", "-q", "QUIT"], b"PINGQUIT\r\n"),
            (["-E", "-s", "PING\\n", "-q", "BYE\\r\\n"], b"PING\nBYE\r\n"),
            (["-j", "-s", "A\\t", "-E", "-q", "B\\t"], b"A\\tB\t"),
        ]:
            server = threadedServer(self, "echo")
            common = ["-H", "127.0.0.1", "-p", str(server.port), "-e", "PING"]
            common[-1] = "PING" if b"PING" in sent else "A"
            self.assertSameLine(0, *common, *args)
            deadline = time.monotonic() + 10
            while len(server.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(server.received[:2], [sent, sent])
            server.close()

    def test_verbose(self) -> None:
        """
        C{-v} adds lines after the status line; the first line stays the
        plugin's line.
        """
        server = threadedServer(self, "welcome")
        mine = runCheckWelcome("-H", "127.0.0.1", "-p", str(server.port), "-v")
        self.assertEqual(mine.returncode, 0)
        first, *rest = mine.stdout.splitlines()
        self.assertTrue(first.startswith("WELCOME OK - "))
        self.assertIn(f"Server: 127.0.0.1 port {server.port}", rest)
        self.assertIn("Received 8 bytes: b'Welcome!'", rest)

    def test_unixSocket(self) -> None:
        """
        C{-H} with a path checks a UNIX socket, as C{check_tcp} does.
        """
        path = tempfile.mktemp(suffix=".sock", dir=tempfile.mkdtemp())
        server = ServerProcess(["--listen", f"unix:{path}"])
        self.addCleanup(server.kill)
        server.waitListening()
        line = self.assertSameLine(0, "-H", path, "-e", "Welcome")
        self.assertIn(f"on socket {path} [Welcome!]", line)
        missing = path + ".missing"
        mine, theirs = self.both("-H", missing)
        self.assertEqual((mine.returncode, theirs.returncode), (2, 2))
        self.assertTrue(
            mine.stdout.startswith(
                f"WELCOME CRITICAL - connect to file socket {missing}"
            )
        )


class TLSBesideCheckTCPTests(TestCase):
    """
    C{-S} and C{-D} against C{openssl s_server}, beside C{check_tcp}; only
    C{check_welcome} is given C{--ca-file}, as it verifies the certificate.
    """

    def server(self, days: float) -> tuple[OpenSSLServer, Path]:
        """
        Start C{s_server} with a certificate for localhost valid C{days}.
        """
        cert, key = makeCertificate(Path(temporaryPath(self)), days=days)
        return openSSLServer(self, cert, key), cert

    def test_validAndExpiring(self) -> None:
        """
        A certificate valid 90 days passes C{-D 30}: OK in both; one
        expiring in 2 days is WARNING in both with C{-D 7}, and CRITICAL
        with C{-D 7,3}.
        """
        for days, certificate, state in [(90, "30", 0), (2, "7", 1), (2, "7,3", 2)]:
            tls, cert = self.server(days)
            args = ["-H", "localhost", "-p", str(tls.port), "-D", certificate]
            tls.greetNext()
            mine = runCheckWelcome(*args, "-e", "Welcome", "--ca-file", str(cert))
            tls.greetNext()
            theirs = runCheckTCP(*args, "-e", "Welcome")
            self.assertEqual(
                (mine.returncode, theirs.returncode), (state, state), (mine, theirs)
            )
            self.assertEqual(mine.stdout.count("\n"), 1, mine.stdout)
            tls.stop()

    def test_verified(self) -> None:
        """
        Unlike C{check_tcp -S}, a certificate no trusted authority signed is
        CRITICAL.
        """
        tls, _ = self.server(90)
        tls.greetNext()
        mine = runCheckWelcome("-H", "localhost", "-p", str(tls.port), "-S")
        self.assertEqual(mine.returncode, 2)
        self.assertTrue(
            mine.stdout.startswith(
                "WELCOME CRITICAL - Cannot make SSL connection: TLS certificate "
                "verification failed"
            ),
            mine.stdout,
        )
