"""
The exporter side by side with the real blackbox_exporter (Debian's
C{prometheus-blackbox-exporter}): both probe the same targets with the same
modules file, and the metrics dashboards and alerts read must agree.

Where they differ on purpose (docs/exporter.md, "Deliberate differences"),
the test says so and checks both sides.
"""

from __future__ import annotations

import shutil

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.clientpeers import threadedServer
from tests.exporterpeers import (
    Answer,
    ExporterProcess,
    blackboxCommand,
    scratch,
    startBlackbox,
    startWelcomeExporter,
)
from tests.support import ServerProcess, freePort

#: The metrics that must agree for every target.
AGREEING = (
    "probe_success",
    "probe_failed_due_to_regex",
    "probe_ip_protocol",
    "probe_ssl_earliest_cert_expiry",
)

MODULES = """\
modules:
  welcome:
    prober: tcp
    timeout: 1s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Welcome"
  welcome_tls:
    prober: tcp
    timeout: 1s
    tcp:
      preferred_ip_protocol: ip4
      tls: true
      tls_config:
        ca_file: {ca}
        server_name: localhost
      query_response:
        - expect: "^Welcome"
  tcp_connect:
    prober: tcp
    timeout: 1s
    tcp:
      preferred_ip_protocol: ip4
  expect_other:
    prober: tcp
    timeout: 1s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Goodbye"
"""


class _BothExporters(TestCase):
    """
    The same targets, the same modules, both exporters.
    """

    def setUp(self) -> None:
        """
        Write the certificate (expiring in 2 days) and the modules file,
        start our welcome server (plain and TLS), and both exporters.
        """
        blackboxCommand()
        self.workdir = scratch("welcome-sidebyside-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        self.cert, key = makeCertificate(self.workdir / "tls", days=2)
        self.config = self.workdir / "modules.yml"
        self.config.write_text(MODULES.format(ca=self.cert))
        self.server = ServerProcess(
            [
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--listen",
                f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={self.cert}",
            ]
        )
        self.addCleanup(self.server.stop)
        plain, tls = self.server.waitListening(2)
        self.welcoming = plain
        self.tls = tls
        self.ours = self._start(startWelcomeExporter, "--config", str(self.config))
        self.theirs = self._start(startBlackbox, self.config)

    def _start(self, starter: object, *args: object) -> ExporterProcess:
        assert callable(starter)
        exporter: ExporterProcess = starter(*args)
        self.addCleanup(exporter.stop)
        return exporter

    def both(self, target: str, module: str) -> tuple[Answer, Answer]:
        """
        @return: Our answer and blackbox_exporter's, for the same scrape.
        """
        return self.ours.probe(target, module), self.theirs.probe(target, module)

    def assertAgree(self, target: str, module: str) -> dict[str, float]:
        """
        Assert that both answer 200 and agree on L{AGREEING}.

        @return: Our metrics.
        """
        ours, theirs = self.both(target, module)
        self.assertEqual((ours.code, theirs.code), (200, 200), (ours.body, theirs.body))
        mine, blackbox = ours.metrics(), theirs.metrics()
        for name in AGREEING:
            self.assertEqual(
                (name, mine.get(name)),
                (name, blackbox.get(name)),
                f"{target} {module}:\nours:\n{ours.body}\nblackbox:\n{theirs.body}",
            )
        return mine


class SideBySideTests(_BothExporters):
    """
    Where both must agree.
    """

    def test_welcomingPort(self) -> None:
        """
        A port that greets with C{Welcome!}: success, for both.
        """
        mine = self.assertAgree(self.welcoming, "welcome")
        self.assertEqual(mine["probe_success"], 1)
        self.assertEqual(mine["probe_ip_protocol"], 4)

    def test_refusedPort(self) -> None:
        """
        A port nothing listens on: failure, not due to the regex.
        """
        mine = self.assertAgree(f"127.0.0.1:{freePort()}", "welcome")
        self.assertEqual(mine["probe_success"], 0)
        self.assertEqual(mine["probe_failed_due_to_regex"], 0)

    def test_refusedPortConnectOnly(self) -> None:
        """
        The same with a module that only connects.
        """
        mine = self.assertAgree(f"127.0.0.1:{freePort()}", "tcp_connect")
        self.assertEqual(mine["probe_success"], 0)

    def test_silentPort(self) -> None:
        """
        A port that accepts and says nothing: failure at the module's
        timeout, not due to the regex; a connect-only module succeeds.
        """
        silent = threadedServer(self, "silent")
        mine = self.assertAgree(f"127.0.0.1:{silent.port}", "welcome")
        self.assertEqual(mine["probe_success"], 0)
        self.assertEqual(mine["probe_failed_due_to_regex"], 0)
        mine = self.assertAgree(f"127.0.0.1:{silent.port}", "tcp_connect")
        self.assertEqual(mine["probe_success"], 1)

    def test_wrongText(self) -> None:
        """
        A port that says something else and closes: failed due to the regex.
        """
        wrong = threadedServer(self, "wrong")
        mine = self.assertAgree(f"127.0.0.1:{wrong.port}", "welcome")
        self.assertEqual(mine["probe_success"], 0)
        self.assertEqual(mine["probe_failed_due_to_regex"], 1)

    def test_tlsCertificateExpiringIn2Days(self) -> None:
        """
        A TLS port whose certificate expires in 2 days: success, and the
        same expiry to the second (for the one certificate the server sends,
        the last chain's expiry too); the TLS version agrees.
        """
        mine = self.assertAgree(self.tls, "welcome_tls")
        self.assertEqual(mine["probe_success"], 1)
        ours, theirs = self.both(self.tls, "welcome_tls")
        found = [answer.metrics() for answer in (ours, theirs)]
        last = "probe_ssl_last_chain_expiry_timestamp_seconds"
        self.assertEqual(found[0][last], found[1][last])
        versions = [
            sorted(k for k in metrics if k.startswith("probe_tls_version_info"))
            for metrics in found
        ]
        self.assertEqual(versions[0], versions[1])
        self.assertEqual(versions[0], ['probe_tls_version_info{version="TLS 1.3"}'])

    def test_unresolvableName(self) -> None:
        """
        A name that cannot resolve (C{.invalid}): failure, no IP protocol.
        """
        mine = self.assertAgree("welcome.invalid:12000", "welcome")
        self.assertEqual(mine["probe_success"], 0)
        self.assertEqual(mine["probe_ip_protocol"], 0)

    def test_addressHashAgrees(self) -> None:
        """
        C{probe_ip_addr_hash} is blackbox_exporter's hash of the address.
        """
        ours, theirs = self.both(self.welcoming, "welcome")
        self.assertEqual(
            ours.metrics()["probe_ip_addr_hash"], theirs.metrics()["probe_ip_addr_hash"]
        )


class DeliberateDifferenceTests(_BothExporters):
    """
    The differences docs/exporter.md lists, each shown on both exporters.
    """

    def test_wrongTextKeptOpen(self) -> None:
        """
        A server that says the wrong text and keeps the connection open:
        blackbox_exporter waits for more lines until its timeout, and the
        failure is not due to the regex; we judge the reply after the
        client's quiet period, at once, and say it is.
        """
        server = threadedServer(self, "keep-open")
        ours, theirs = self.both(f"127.0.0.1:{server.port}", "expect_other")
        mine, blackbox = ours.metrics(), theirs.metrics()
        self.assertEqual((mine["probe_success"], blackbox["probe_success"]), (0, 0))
        self.assertEqual(mine["probe_failed_due_to_regex"], 1)
        self.assertEqual(blackbox["probe_failed_due_to_regex"], 0)
        self.assertLess(mine["probe_duration_seconds"], 0.9)
        self.assertGreaterEqual(blackbox["probe_duration_seconds"], 0.9)

    def test_targetWithoutPort(self) -> None:
        """
        A target without a port: blackbox_exporter answers a failed probe;
        we answer 400 with one line.
        """
        ours, theirs = self.both("127.0.0.1", "welcome")
        self.assertEqual(theirs.code, 200)
        self.assertEqual(theirs.metrics()["probe_success"], 0)
        self.assertEqual(ours.code, 400)
        self.assertEqual(ours.body.count("\n"), 1)
        self.assertIn("has no port", ours.body)
