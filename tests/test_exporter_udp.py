"""
The exporter's UDP prober and port lists, end to end: the installed
C{twistd welcome-exporter} against our own server's C{udp:} and C{tcp:}
listeners, and against Debian's C{socat} as a UDP peer that answers or
stays silent.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.exporterpeers import ExporterProcess, scratch, startWelcomeExporter
from tests.support import ServerProcess, freePort

MODULES = """\
modules:
  udp:
    prober: udp
    timeout: 1s
    udp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Welcome"
  udp_any:
    prober: udp
    timeout: 1s
    udp:
      preferred_ip_protocol: ip4
      retries: 0
  welcome:
    prober: welcome
    timeout: 1s
    welcome:
      preferred_ip_protocol: ip4
"""


def freeUDPPort() -> int:
    """
    @return: A loopback UDP port nothing is bound to (now).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def socat(case: TestCase, *address: str) -> int:
    """
    Run C{socat} with a UDP listener on a free loopback port and
    C{address} as its other side, for the test's duration.

    @return: The port.
    """
    path = shutil.which("socat")
    if path is None:
        raise AssertionError("socat is missing: apt-get install socat")
    port = freeUDPPort()
    process = subprocess.Popen(
        [path, f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", *address],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def stop() -> None:
        process.kill()
        process.wait(5)

    case.addCleanup(stop)
    waitBound(port, process)
    return port


def waitBound(port: int, process: subprocess.Popen[bytes]) -> None:
    """
    Wait until C{process} has bound loopback UDP C{port}: until binding it
    ourselves fails.
    """
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.01)
    raise AssertionError(f"socat did not bind UDP port {port}")


class UDPProberTests(TestCase):
    """
    The C{udp} prober, and port lists, against real peers.
    """

    def setUp(self) -> None:
        self.workdir: Path = scratch("welcome-exporter-udp-")
        self.addCleanup(shutil.rmtree, self.workdir, True)
        config = self.workdir / "modules.yml"
        config.write_text(MODULES)
        self.exporter: ExporterProcess = startWelcomeExporter(
            "--config", str(config), workdir=self.workdir
        )
        self.addCleanup(self.exporter.stop)

    def ourServer(self) -> tuple[int, int]:
        """
        Start our server on a TCP and a UDP loopback port.

        @return: The TCP and UDP ports.
        """
        server = ServerProcess(
            [
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--listen",
                "udp:0:interface=127.0.0.1",
            ]
        )
        self.addCleanup(server.kill)
        tcp, udp = server.waitListening(2)
        return int(tcp.rsplit(":", 1)[1]), int(udp[: -len("/udp")].rsplit(":", 1)[1])

    def test_ourUDPListener(self) -> None:
        """
        Our server's C{udp:} listener answers the padded probe with its
        welcome: success.
        """
        _, udp = self.ourServer()
        answer = self.exporter.probe(f"127.0.0.1:{udp}", "udp")
        found = answer.metrics()
        self.assertEqual(found["probe_success"], 1, answer.body)
        self.assertEqual(found["probe_failed_due_to_regex"], 0)
        self.assertEqual(found["probe_ip_protocol"], 4)

    def test_refused(self) -> None:
        """
        A UDP port nothing listens on answers an ICMP port unreachable: the
        probe fails as refused, well before its timeout.
        """
        answer = self.exporter.probe(f"127.0.0.1:{freeUDPPort()}", "udp", debug="true")
        self.assertIn("probe_success 0.0", answer.body)
        self.assertIn("ICMP port unreachable", answer.body)
        self.assertNotIn("open or filtered", answer.body)

    def test_socatReplyChecked(self) -> None:
        """
        A C{socat} peer that replies: its reply is matched against the
        expectation, and the wrong text fails due to the regex.
        """
        right = socat(self, "SYSTEM:echo Welcome from socat")
        wrong = socat(self, "SYSTEM:echo Go away")
        self.assertEqual(
            self.exporter.probe(f"127.0.0.1:{right}", "udp").metrics()["probe_success"],
            1,
        )
        found = self.exporter.probe(f"127.0.0.1:{wrong}", "udp").metrics()
        self.assertEqual(found["probe_success"], 0)
        self.assertEqual(found["probe_failed_due_to_regex"], 1)

    def test_socatSilentIsOpenOrFiltered(self) -> None:
        """
        A C{socat} peer that reads and never replies: the probe fails at the
        timeout, and says the port is open or filtered.
        """
        silent = socat(self, "OPEN:/dev/null")
        answer = self.exporter.probe(f"127.0.0.1:{silent}", "udp_any", debug="true")
        self.assertIn("probe_success 0.0", answer.body)
        self.assertIn("open or filtered", answer.body)

    def test_udpPortList(self) -> None:
        """
        A UDP port list: our listener open, a closed port expected closed,
        a silent one (socat) expected open: one series each, and the scrape
        fails because of the silent one only.
        """
        _, udp = self.ourServer()
        closed = freeUDPPort()
        silent = socat(self, "OPEN:/dev/null")
        answer = self.exporter.probe(
            "127.0.0.1", "udp", ports=f"{udp},{silent}", expect_closed=str(closed)
        )
        found = answer.metrics()
        self.assertEqual(found[f'probe_port_success{{port="{udp}"}}'], 1, answer.body)
        self.assertEqual(found[f'probe_port_success{{port="{closed}"}}'], 1)
        self.assertEqual(found[f'probe_port_success{{port="{silent}"}}'], 0)
        self.assertEqual(
            found[
                f'probe_port_state_info{{expected="closed",port="{closed}",state="refused"}}'
            ],
            1,
        )
        self.assertEqual(
            found[
                f'probe_port_state_info{{expected="open",port="{silent}",state="timeout"}}'
            ],
            1,
        )
        self.assertEqual(found["probe_success"], 0)

    def test_tcpPortList(self) -> None:
        """
        A TCP port list against our server: the welcoming port open, a
        refused port expected closed: every port as expected.
        """
        tcp, _ = self.ourServer()
        closed = freePort()
        answer = self.exporter.probe(
            "127.0.0.1", "welcome", ports=str(tcp), expect_closed=str(closed)
        )
        found = answer.metrics()
        self.assertEqual(found["probe_success"], 1, answer.body)
        self.assertEqual(
            found[
                f'probe_port_state_info{{expected="open",port="{tcp}",state="welcomed"}}'
            ],
            1,
        )

    def test_expectedClosedButOpen(self) -> None:
        """
        A port expected closed that welcomes fails the scrape.
        """
        tcp, _ = self.ourServer()
        answer = self.exporter.probe("127.0.0.1", "welcome", expect_closed=str(tcp))
        found = answer.metrics()
        self.assertEqual(found[f'probe_port_success{{port="{tcp}"}}'], 0)
        self.assertEqual(found["probe_success"], 0)
