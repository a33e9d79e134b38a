"""
End-to-end tests of the installed C{welcome-client}'s modes, against the
project's server, misbehaving loopback servers, C{openssl s_server}, and
beside the real C{check_tcp}.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.clientpeers import openSSLServer, runCheckTCP, threadedServer
from tests.support import (
    ServerProcess,
    _environment,
    freePort,
    installedScript,
    runClient,
    temporaryPath,
)

PERFDATA = re.compile(
    r"\Atime=(?P<value>[0-9.]+)s;[^;|]*;[^;|]*;(?P<min>[0-9.]+);(?P<max>[0-9.]+)\Z"
)
"""
C{check_tcp}'s performance data: label C{time}, unit C{s}, five fields.
"""


def nagiosParts(output: str) -> tuple[str, str | None]:
    """
    Split a plugin's one line into its text and its performance data.
    """
    lines = output.splitlines()
    assert len(lines) == 1, output
    text, _, perf = lines[0].partition("|")
    return text, perf or None


def jsonLines(output: str) -> list[dict[str, object]]:
    """
    Parse every line of C{--json} output; each must be one JSON object.
    """
    objects = [json.loads(line) for line in output.splitlines()]
    assert objects and all(isinstance(o, dict) for o in objects), output
    return objects


STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "
"""
The time that starts each C{--count} line (RFC 3339, UTC, milliseconds).
"""


def interrupted(
    test: TestCase, args: list[str], sig: int = signal.SIGINT
) -> tuple[list[str], int]:
    """
    Run the client until it printed two lines, then send C{sig}.

    @param test: Kills the process at its cleanup, if it is still running.
    @return: Its output lines and exit status.
    """
    process = subprocess.Popen(
        [installedScript("welcome-client"), *args],
        cwd=tempfile.gettempdir(),
        env=_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    test.addCleanup(process.kill)
    assert process.stdout is not None
    got = [process.stdout.readline(), process.stdout.readline()]
    process.send_signal(sig)
    rest, _ = process.communicate(timeout=15)
    return "".join([*got, rest]).splitlines(), process.returncode


class ProjectServerTests(TestCase):
    """
    The modes against the installed C{twistd welcome}.
    """

    def setUp(self) -> None:
        server = ServerProcess(["--listen", "tcp:0:interface=127.0.0.1"])
        self.addCleanup(server.kill)
        self.port = server.tcpPort()
        self.target = f"127.0.0.1:{self.port}"

    def test_positionalHostPort(self) -> None:
        """
        C{welcome-client HOST:PORT} behaves as C{--host}/C{--port}, and so
        does C{python -m welcome_protocol.client}.
        """
        result = runClient([self.target])
        self.assertEqual((result.returncode, result.stdout), (0, "Welcome!\n"))
        module = subprocess.run(
            [sys.executable, "-m", "welcome_protocol.client", self.target],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=30,
        )
        self.assertEqual((module.returncode, module.stdout), (0, "Welcome!\n"))

    def test_countEndsWithSummary(self) -> None:
        """
        C{--count 3} makes three attempts, a line each, then the summary;
        all welcomed, so exit 0.
        """
        result = runClient(
            ["--count", "3", "--interval", "0.1", "-e", "Welcome", self.target]
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        for line in lines[:3]:
            self.assertRegex(
                line,
                rf"^{STAMP}Welcome from {re.escape(self.target)}: 8 bytes, "
                r"connect \d+\.\d\d ms, welcome \d+\.\d\d ms$",
            )
        self.assertEqual(
            lines[3:6],
            [
                "",
                f"--- {self.target} welcome statistics ---",
                "3 attempts, 3 welcomed, 0.0% failed",
            ],
        )
        self.assertRegex(
            lines[6],
            r"^time to welcome min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms$",
        )
        self.assertEqual(len(lines), 7)

    def test_jsonLines(self) -> None:
        """
        C{--json --count 2}: two attempt objects and a summary, each line
        valid JSON.
        """
        result = runClient(["--json", "-n", "2", "-i", "0.1", self.target])
        self.assertEqual(result.returncode, 0)
        first, second, summary = jsonLines(result.stdout)
        for attempt in (first, second):
            self.assertEqual(
                (
                    attempt["ok"],
                    attempt["kind"],
                    attempt["welcome"],
                    attempt["address"],
                ),
                (True, None, "Welcome!", "127.0.0.1"),
            )
            self.assertGreaterEqual(
                float(str(attempt["total_seconds"])),
                float(str(attempt["connect_seconds"])),
            )
        self.assertEqual((summary["attempts"], summary["welcomed"]), (2, 2))

    def test_nameSaysWhichAddressAnswered(self) -> None:
        """
        With C{-4} and a name, the line names the address that answered.
        """
        result = runClient(["-4", "-n", "1", f"localhost:{self.port}"])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertRegex(
            result.stdout,
            rf"^{STAMP}Welcome from localhost:{self.port} "
            rf"\(127\.0\.0\.1:{self.port}\): ",
        )

    def test_mismatch(self) -> None:
        """
        An expectation that fails exits 1 with one line quoting the welcome.
        """
        result = runClient(["--expect", "Welcome", "--expect", "Hello", self.target])
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertEqual(
            result.stderr,
            f"welcome-client: unexpected welcome from {self.target}: 'Welcome!'\n",
        )
        regex = runClient(["--expect-regex", r"^Wel+come!$", self.target])
        self.assertEqual(regex.returncode, 0)

    def test_sigintPrintsSummary(self) -> None:
        """
        C{--count 0} runs until SIGINT, then prints the summary and exits 1
        (as documented, and as a scan does), even when every attempt was
        welcomed.
        """
        lines, status = interrupted(self, ["-n", "0", "-i", "0.1", self.target])
        self.assertEqual(status, 1, lines)
        for line in lines[:2]:
            self.assertRegex(line, rf"^{STAMP}Welcome from ")
        self.assertIn(f"--- {self.target} welcome statistics ---", lines)
        counts = [line for line in lines if " attempts, " in line]
        self.assertRegex(counts[0], r"^\d+ attempts, \d+ welcomed, 0\.0% failed$")

    def test_sigtermJSON(self) -> None:
        """
        C{--json --count 0} stopped by SIGTERM: the summary says
        C{"interrupted": true}, and the status is 1.
        """
        lines, status = interrupted(
            self, ["--json", "-n", "0", "-i", "0.1", self.target], signal.SIGTERM
        )
        summary = json.loads(lines[-1])
        self.assertEqual((status, summary["interrupted"]), (1, True), lines)

    def test_oneAttempt(self) -> None:
        """
        One attempt is written "1 attempt".
        """
        result = runClient(["-n", "1", self.target])
        self.assertIn("1 attempt, 1 welcomed, 0.0% failed", result.stdout)


class MisbehavingServerTests(TestCase):
    """
    The modes against servers that fail in one way each.
    """

    def test_keepOpenServer(self) -> None:
        """
        A server that never closes (the tutorial's): welcomed each time.
        """
        server = threadedServer(self, "keep-open")
        result = runClient(["-n", "2", "-i", "0.1", f"127.0.0.1:{server.port}"])
        self.assertEqual(result.returncode, 0, result.stdout)
        self.assertIn("2 attempts, 2 welcomed, 0.0% failed", result.stdout)

    def test_refusedCount(self) -> None:
        """
        A refused port: a line per attempt, 100% failed, exit 1.
        """
        port = freePort()
        result = runClient(["-n", "2", "-i", "0.1", f"127.0.0.1:{port}"])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            [re.sub(f"^{STAMP}", "", line) for line in result.stdout.splitlines()],
            [
                f"No welcome from 127.0.0.1:{port}: connection refused",
                f"No welcome from 127.0.0.1:{port}: connection refused",
                "",
                f"--- 127.0.0.1:{port} welcome statistics ---",
                "2 attempts, 0 welcomed, 100.0% failed",
            ],
        )

    def test_refusedSigint(self) -> None:
        """
        SIGINT after failed attempts: the summary, and exit 1.
        """
        port = freePort()
        lines, status = interrupted(
            self,
            ["-n", "0", "-i", "0.1", f"127.0.0.1:{port}"],
        )
        self.assertEqual(status, 1, lines)
        self.assertRegex(
            next(line for line in lines if " attempts, " in line),
            r"^\d+ attempts, 0 welcomed, 100\.0% failed$",
        )

    def test_silentServerTimesOut(self) -> None:
        """
        A server that says nothing: C{timeout} in JSON, exit 1.
        """
        server = threadedServer(self, "silent")
        result = runClient(["--json", "-t", "0.5", f"127.0.0.1:{server.port}"])
        self.assertEqual(result.returncode, 1)
        attempt, summary = jsonLines(result.stdout)
        self.assertEqual(
            (attempt["kind"], attempt["reason"], attempt["address"]),
            ("timeout", "no welcome within 0.5 s", "127.0.0.1"),
        )
        self.assertEqual(summary["failed"], 1)

    def test_wrongText(self) -> None:
        """
        A server sending the wrong text: the mismatch line, and in JSON the
        kind and the text.
        """
        server = threadedServer(self, "wrong")
        target = f"127.0.0.1:{server.port}"
        result = runClient(["-e", "Welcome", target])
        self.assertEqual(
            (result.returncode, result.stderr),
            (
                1,
                f"welcome-client: unexpected welcome from {target}: "
                "'Service Unavailable\\n'\n",
            ),
        )
        result = runClient(["--json", "--expect-regex", "^Wel", target])
        attempt, _ = jsonLines(result.stdout)
        self.assertEqual(
            (attempt["kind"], attempt["welcome"], attempt["bytes"]),
            ("mismatch", "Service Unavailable\n", 20),
        )

    def test_badRegexUsage(self) -> None:
        """
        A bad regular expression: exit 2 (3 with C{--nagios}).
        """
        self.assertEqual(runClient(["--expect-regex", "(", "x"]).returncode, 2)
        nagios = runClient(["--nagios", "--expect-regex", "(", "x"])
        self.assertEqual(nagios.returncode, 3)
        self.assertTrue(nagios.stdout.startswith("WELCOME UNKNOWN - --expect-regex"))


class TLSTests(TestCase):
    """
    C{--tls} against C{openssl s_server} with certificates made here.
    """

    def server(
        self, days: float, names: tuple[str, ...] = ("localhost",)
    ) -> tuple[int, Path]:
        """
        Start C{s_server} with a certificate for C{names} valid C{days}.

        @return: Its port and the certificate (to trust with C{--ca-file}).
        """
        cert, key = makeCertificate(Path(temporaryPath(self)), names=names, days=days)
        self.tls = openSSLServer(self, cert, key)
        return self.tls.port, cert

    def test_validCertificate(self) -> None:
        """
        A valid certificate: the welcome, and in JSON the TLS version,
        notAfter and days left.
        """
        port, cert = self.server(90)
        self.tls.greetNext()
        result = runClient(
            ["--json", "--tls", "--ca-file", str(cert), "-D", "30", f"localhost:{port}"]
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        attempt, _ = jsonLines(result.stdout)
        self.assertEqual((attempt["ok"], attempt["welcome"]), (True, "Welcome!\n"))
        self.assertIn(attempt["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertRegex(
            str(attempt["certificate_not_after"]), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
        )
        self.assertAlmostEqual(
            float(str(attempt["certificate_days_left"])), 90, delta=0.1
        )

    def test_expiringCertificate(self) -> None:
        """
        A certificate expiring in 2 days: with C{-D 7}, one line and exit 1;
        in Nagios mode WARNING, or CRITICAL within the critical days.
        """
        port, cert = self.server(2)
        target = f"localhost:{port}"
        common = ["--tls", "--ca-file", str(cert)]
        self.tls.greetNext()
        result = runClient([*common, "-D", "7", target])
        self.assertEqual(result.returncode, 1)
        self.assertRegex(
            result.stderr,
            rf"^welcome-client: {target}: certificate expires in [12]\.\d days "
            r"\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n$",
        )
        self.tls.greetNext()
        warn = runClient(["--nagios", *common, "-D", "7,1", target])
        self.assertEqual(warn.returncode, 1, warn.stdout)
        self.assertTrue(warn.stdout.startswith("WELCOME WARNING - "))
        self.tls.greetNext()
        crit = runClient(["--nagios", *common, "-D", "7,3", target])
        self.assertEqual(crit.returncode, 2, crit.stdout)
        self.assertIsNotNone(PERFDATA.match(str(nagiosParts(crit.stdout)[1])))

    def test_wrongName(self) -> None:
        """
        A certificate for another name fails verification (kind C{tls});
        C{--sni} with that name makes it pass.
        """
        port, cert = self.server(90, names=("other.invalid",))
        common = ["--tls", "--ca-file", str(cert)]
        result = runClient(["--json", *common, f"localhost:{port}"])
        self.assertEqual(result.returncode, 1)
        attempt, _ = jsonLines(result.stdout)
        self.assertEqual(attempt["kind"], "tls")
        self.assertIn("not valid for the host name", str(attempt["reason"]))
        self.tls.greetNext()
        sni = runClient([*common, "--sni", "other.invalid", f"localhost:{port}"])
        self.assertEqual((sni.returncode, sni.stdout), (0, "Welcome!\n"), sni.stderr)


class CheckTCPTests(TestCase):
    """
    C{welcome-client --nagios} beside the real C{check_tcp}, against the same
    servers: the same state, and the same performance data shape.
    """

    def both(
        self, port: int, ours: list[str], theirs: list[str]
    ) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
        """
        Run both plugins against 127.0.0.1 C{port}.
        """
        mine = runClient(["--nagios", *ours, f"127.0.0.1:{port}"])
        check = runCheckTCP("-H", "127.0.0.1", "-p", str(port), *theirs)
        return mine, check

    def assertSame(
        self,
        port: int,
        ours: list[str],
        theirs: list[str],
        state: int,
        perfdata: bool,
    ) -> None:
        """
        Both exit with C{state}; both have C{check_tcp}'s perfdata, or both
        have none (as C{check_tcp} prints none for refusals and timeouts).
        """
        mine, check = self.both(port, ours, theirs)
        self.assertEqual(
            (mine.returncode, check.returncode),
            (state, state),
            (mine.stdout, check.stdout),
        )
        for output in (mine.stdout, check.stdout):
            _, perf = nagiosParts(output)
            if perfdata:
                assert perf is not None, output
                found = PERFDATA.match(perf)
                self.assertIsNotNone(found, output)
                assert found is not None
                self.assertEqual(float(found.group("min")), 0.0)
            else:
                self.assertIsNone(perf, output)
        if perfdata:
            mineFields = str(nagiosParts(mine.stdout)[1]).split(";")
            theirFields = str(nagiosParts(check.stdout)[1]).split(";")
            self.assertEqual(mineFields[3:], theirFields[3:])
            self.assertEqual(len(mineFields), len(theirFields))

    def test_ok(self) -> None:
        """
        OK against the project's server, with the banner in brackets.
        """
        server = ServerProcess(["--listen", "tcp:0:interface=127.0.0.1"])
        self.addCleanup(server.kill)
        port = server.tcpPort()
        self.assertSame(port, ["-e", "Welcome"], ["-e", "Welcome"], 0, True)
        mine, check = self.both(port, ["-e", "Welcome"], ["-e", "Welcome"])
        self.assertIn(f"on 127.0.0.1 port {port} [Welcome!]|", mine.stdout)
        self.assertIn(f"on 127.0.0.1 port {port} [Welcome!]|", check.stdout)

    def test_thresholds(self) -> None:
        """
        A response slower than the warning threshold warns, in both; the
        thresholds show in the perfdata's fields.
        """
        server = threadedServer(self, "welcome")
        ours = ["-w", "0.0000001", "--critical", "5"]
        self.assertSame(server.port, ours, ["-w", "0.0000001", "-c", "5"], 1, True)
        mine, check = self.both(server.port, ours, ["-w", "0.0000001", "-c", "5"])
        self.assertEqual(
            str(nagiosParts(mine.stdout)[1]).split(";")[1:3],
            str(nagiosParts(check.stdout)[1]).split(";")[1:3],
        )

    def test_refused(self) -> None:
        """
        Refused: CRITICAL by default, WARNING with C{-r warn}.
        """
        port = freePort()
        self.assertSame(port, [], [], 2, False)
        self.assertSame(port, ["-r", "warn"], ["-r", "warn"], 1, False)

    def test_timeout(self) -> None:
        """
        A silent server with a welcome expected: CRITICAL after the timeout.
        """
        server = threadedServer(self, "silent")
        started = time.monotonic()
        self.assertSame(
            server.port,
            ["-t", "1", "-e", "Welcome"],
            ["-t", "1", "-e", "Welcome"],
            2,
            False,
        )
        self.assertLess(time.monotonic() - started, 20)

    def test_mismatch(self) -> None:
        """
        The wrong text: WARNING by default, CRITICAL with C{-M crit}.
        """
        server = threadedServer(self, "wrong")
        self.assertSame(server.port, ["-e", "Welcome"], ["-e", "Welcome"], 1, True)
        self.assertSame(
            server.port,
            ["-e", "Welcome", "-M", "crit"],
            ["-e", "Welcome", "-M", "crit"],
            2,
            True,
        )
