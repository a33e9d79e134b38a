"""
End-to-end tests of the installed C{twistd welcome-exporter}: its start,
its pages, and a clear answer without a traceback for every bad input.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.clientpeers import threadedServer
from tests.exporterpeers import (
    ExporterProcess,
    runExporter,
    scratch,
    startWelcomeExporter,
)
from tests.support import freePort, readAll, temporaryPath

MODULES = """\
modules:
  welcome:
    prober: welcome
    timeout: 1s
    welcome:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Welcome"
"""


class StartTests(TestCase):
    """
    Starting, and refusing to start with one line.
    """

    def assertRefused(self, words: str, *args: str) -> None:
        """
        Assert the exporter exits 1 with one line naming C{words}, and no
        traceback.
        """
        done = runExporter(*args)
        output = done.stdout + done.stderr
        self.assertEqual(done.returncode, 1, output)
        self.assertIn(words, output)
        self.assertNotIn("Traceback", output)

    def test_unsupportedOption(self) -> None:
        """
        A modules file with an option we do not support is refused at start,
        naming the module and the option.
        """
        path = Path(temporaryPath(self))
        path.write_text(
            "modules:\n  m:\n    prober: tcp\n    tcp:\n"
            "      query_response:\n        - send: HELO\n"
        )
        self.assertRefused(
            "module 'm'.tcp.query_response[0].send is not supported",
            "--config",
            str(path),
        )

    def test_missingFile(self) -> None:
        """
        A modules file that does not exist is named.
        """
        self.assertRefused("no such file or directory", "--config", "/nonexistent.yml")

    def test_badListen(self) -> None:
        """
        A bad endpoint description is named.
        """
        self.assertRefused("--listen", "--listen", "nonsense:1")

    def test_cannotListen(self) -> None:
        """
        A port in use: one line, status 1.
        """
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            self.assertRefused(
                "cannot listen on", "--listen", f"tcp:{port}:interface=127.0.0.1"
            )

    def test_badAllowTargets(self) -> None:
        """
        A bad C{--allow-targets} is named.
        """
        self.assertRefused("--allow-targets", "--allow-targets", "10.0.0.1/8")


class PagesTests(TestCase):
    """
    One exporter, asked many things.
    """

    def setUp(self) -> None:
        self.workdir = scratch("welcome-exporter-e2e-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        config = self.workdir / "modules.yml"
        config.write_text(MODULES)
        self.exporter = startWelcomeExporter(
            "--config", str(config), workdir=self.workdir
        )
        self.addCleanup(self.exporter.stop)

    def test_startupLineSaysEveryTarget(self) -> None:
        """
        Without C{--allow-targets}, the start-up line says that every target
        may be probed.
        """
        self.exporter.get("/")
        self.assertIn("every target may be probed", self.exporter.output())

    def test_probe(self) -> None:
        """
        A welcoming port: 200, Prometheus' text format, success.
        """
        server = threadedServer(self, "welcome")
        answer = self.exporter.probe(f"127.0.0.1:{server.port}", "welcome")
        self.assertEqual(answer.code, 200)
        self.assertIn("text/plain; version=0.0.4; charset=utf-8", answer.contentType)
        self.assertEqual(answer.metrics()["probe_success"], 1)

    def test_debug(self) -> None:
        """
        C{debug=true} answers the probe's log, with the reply escaped, then
        the metrics and the module.
        """
        server = threadedServer(self, "wrong")
        answer = self.exporter.probe(
            f"127.0.0.1:{server.port}", "welcome", debug="true"
        )
        self.assertEqual(answer.code, 200)
        self.assertIn("Logs for the probe:", answer.body)
        self.assertIn("Regexp did not match", answer.body)
        self.assertIn("reply=b'Service Unavailable\\n'", answer.body)
        self.assertIn("probe_failed_due_to_regex 1.0", answer.body)
        self.assertIn("Module configuration:\nprober: welcome", answer.body)

    def test_badInputs(self) -> None:
        """
        Each bad request gets a 400 with one line, escaped; none a traceback.
        """
        cases = [
            ({"module": "welcome"}, "the target parameter is missing"),
            (
                {"target": "127.0.0.1:1", "module": "nope\x1b[31m"},
                "unknown module 'nope\\x1b[31m'",
            ),
            ({"target": "<script>:1", "module": "welcome"}, "is not a host name"),
            (
                {"target": "a" * 64 + ".example:1", "module": "welcome"},
                "label empty or too long",
            ),
            ({"target": "127.0.0.1:99999", "module": "welcome"}, "from 1 to 65535"),
            (
                {"target": "127.0.0.1", "module": "welcome", "ports": "1-2000"},
                "at most 1024",
            ),
        ]
        for params, words in cases:
            answer = self.exporter.get("/probe", params)
            self.assertEqual(answer.code, 400, (params, answer.body))
            self.assertIn(words, answer.body)
            self.assertEqual(answer.body.count("\n"), 1)
            self.assertTrue(answer.body.rstrip("\n").isprintable(), answer.body)
        self.assertNotIn("Traceback", self.exporter.output())

    def test_badTimeoutHeader(self) -> None:
        """
        A scrape timeout header that is not a number: 400.
        """
        answer = self.exporter.get(
            "/probe",
            {"target": "127.0.0.1:1", "module": "welcome"},
            {"X-Prometheus-Scrape-Timeout-Seconds": "soon"},
        )
        self.assertEqual(answer.code, 400)

    def test_metricsAndIndex(self) -> None:
        """
        C{/metrics} has the exporter's counters and its process's; C{/}
        lists the modules; another path is 404, another method 405.
        """
        self.exporter.get("/probe", {"module": "welcome"})
        metrics = self.exporter.get("/metrics").metrics()
        self.assertEqual(
            metrics['welcome_exporter_refused_requests_total{reason="bad_request"}'], 1
        )
        self.assertIn("process_resident_memory_bytes", metrics)
        index = self.exporter.get("/")
        self.assertEqual(index.code, 200)
        self.assertIn("<code>welcome</code>", index.body)
        self.assertEqual(self.exporter.get("/nothing").code, 404)
        self.assertEqual(self.exporter.get("/probe/deeper").code, 404)

    def test_hostileHTTP(self) -> None:
        """
        A body is refused before it is read (413), too many headers end the
        connection (with a 400 if it can be read), another method gets a
        405: the metrics port's bounded site.
        """
        with socket.create_connection(("127.0.0.1", self.exporter.port)) as sock:
            sock.sendall(
                b"POST /probe HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n"
            )
            self.assertIn(b"413", readAll(sock).split(b"\r\n")[0])
        with socket.create_connection(("127.0.0.1", self.exporter.port)) as sock:
            many = b"".join(b"X-%d: 1\r\n" % (n,) for n in range(100))
            sock.sendall(b"GET / HTTP/1.1\r\n" + many + b"\r\n")
            # 400, or nothing when the close finds the rest unread.
            self.assertIn(readAll(sock)[:12], (b"", b"HTTP/1.1 400"))
        with socket.create_connection(("127.0.0.1", self.exporter.port)) as sock:
            sock.sendall(b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"405", readAll(sock).split(b"\r\n")[0])
        self.assertNotIn("Traceback", self.exporter.output())


class AllowTargetsTests(TestCase):
    """
    C{--allow-targets}.
    """

    def test_forbiddenAndAllowed(self) -> None:
        """
        A target outside the networks gets a 403; one inside is probed; the
        start-up line names what is allowed.
        """
        exporter: ExporterProcess = startWelcomeExporter(
            "--allow-targets", "127.0.0.0/8,localhost"
        )
        self.addCleanup(exporter.stop)
        answer = exporter.probe("192.0.2.1:22", "tcp_connect")
        self.assertEqual(answer.code, 403)
        self.assertEqual(answer.body, "target '192.0.2.1' is not in --allow-targets\n")
        answer = exporter.probe(f"127.0.0.1:{freePort()}", "tcp_connect")
        self.assertEqual(answer.code, 200)
        self.assertIn("only targets in 127.0.0.0/8, localhost", exporter.output())


class DripperTests(TestCase):
    """
    The bounded site's cap, on the exporter.
    """

    def test_drippersDoNotLockOutScrapes(self) -> None:
        """
        With C{--max-scrapes 2}, two clients that send their request a byte
        at a time (and never finish) do not keep a scrape out: the scrape
        evicts the oldest, and is answered.
        """
        exporter = startWelcomeExporter("--max-scrapes", "2")
        self.addCleanup(exporter.stop)
        drippers = []
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", exporter.port))
            self.addCleanup(sock.close)
            sock.sendall(b"G")
            drippers.append(sock)
        # The index, asked on a third connection, evicts the first dripper;
        # the scrape after it, the second.
        self.assertEqual(exporter.get("/").code, 200)
        answer = exporter.probe(f"127.0.0.1:{freePort()}", "tcp_connect")
        self.assertEqual(answer.code, 200)
        self.assertEqual(answer.metrics()["probe_success"], 0)
        # The oldest dripper was aborted (a reset, or the end of its stream).
        drippers[0].settimeout(10)
        try:
            left = drippers[0].recv(1)
        except ConnectionResetError:
            left = b""
        self.assertEqual(left, b"")
