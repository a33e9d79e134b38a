"""
The Grafana dashboard in C{contrib/grafana}: every panel's queries, with
Grafana's variables filled in, return data from a real Prometheus that has
scraped two instances of the installed service after they served traffic,
refused clients and timed connections out.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import time
from pathlib import Path
from typing import Any

from twisted.trial.unittest import TestCase

from tests.hostileclients import WELCOME, waitClosedByServer
from tests.metricshelpers import samples, scrape, value
from tests.prometheusserver import WAIT_SECONDS, PrometheusServer
from tests.support import ServerProcess, readAll

DASHBOARD = (
    Path(__file__).resolve().parent.parent / "contrib" / "grafana" / "welcome.json"
)
LOOPBACK = "tcp:0:interface=127.0.0.1"
#: What Grafana gives C{$__rate_interval} for a data source scraped every
#: 15 s (four scrape intervals).
RATE_INTERVAL = "1m"
#: The oldest schemaVersion of a current Grafana (10.x and later).
SCHEMA_VERSION = 39


def dashboard() -> dict[str, Any]:
    """
    @return: The dashboard.
    """
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[tuple[str, str]]:
    """
    @return: Each panel's title with each of its queries, variables filled
        in as Grafana does with every job and instance selected.
    """
    filled = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            expression = (
                target["expr"]
                .replace("$__rate_interval", RATE_INTERVAL)
                .replace("$job", ".+")
                .replace("$instance", ".+")
            )
            assert "$" not in expression, expression
            filled.append((panel["title"], expression))
    return filled


def port(address: str) -> int:
    """
    @return: The port of C{HOST:PORT}.
    """
    return int(address.rsplit(":", 1)[1])


class DashboardTests(TestCase):
    """
    The JSON is a dashboard a current Grafana imports, its data source
    chosen by a variable.
    """

    def test_currentSchema(self) -> None:
        """
        The dashboard has a uid, a recent C{schemaVersion} and panels with
        unique ids.
        """
        board = dashboard()
        self.assertEqual(board["uid"], "welcome-protocol")
        self.assertGreaterEqual(board["schemaVersion"], SCHEMA_VERSION)
        ids = [panel["id"] for panel in board["panels"]]
        self.assertEqual(len(ids), len(set(ids)))

    def test_datasourceVariable(self) -> None:
        """
        A C{datasource} variable picks the Prometheus, and every panel and
        query (and the other variables) use it.
        """
        board = dashboard()
        variables = {v["name"]: v for v in board["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        chosen = {"type": "prometheus", "uid": "${datasource}"}
        for name in ("job", "instance"):
            self.assertEqual(variables[name]["datasource"], chosen)
        for panel in board["panels"]:
            self.assertEqual(panel["datasource"], chosen, panel["title"])
            self.assertTrue(panel["targets"], panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"], chosen, panel["title"])
                self.assertIn('job=~"$job"', target["expr"])
                self.assertIn('instance=~"$instance"', target["expr"])


class PanelDataTests(TestCase):
    """
    Against a real Prometheus and real traffic.
    """

    def startServer(self, *args: str, listeners: int) -> list[int]:
        """
        Start C{twistd welcome ARGS} with metrics on loopback.

        @return: Its listening ports, the metrics port last.
        """
        server = ServerProcess([*args, "--metrics", LOOPBACK])
        self.addCleanup(server.kill)
        self.servers.append(server)
        return [port(address) for address in server.waitListening(listeners + 1)]

    def workerPids(self, server: ServerProcess, count: int) -> list[int]:
        """
        @return: The pids of the first C{count} workers reported serving.
        """
        pids: list[int] = []
        while len(pids) < count:
            known = "".join(rf"(?!{pid}\b)" for pid in pids)
            pattern = rf"Worker {known}(\d+) serving on "
            found = re.search(pattern, server.waitForLine(pattern))
            assert found is not None
            pids.append(int(found.group(1)))
        return pids

    def test_everyPanelHasData(self) -> None:
        """
        Two instances, one with two workers (one of them killed and
        restarted), the other refusing, timing out and rejecting PROXY
        headers: every query of every panel returns data, and every panel
        shows something other than zero.
        """
        self.servers: list[ServerProcess] = []
        workersPort, workersMetrics = self.startServer(
            "--listen", LOOPBACK, "--workers", "2", listeners=1
        )
        plainPort, proxyPort, limitedMetrics = self.startServer(
            "--listen",
            LOOPBACK,
            "--listen",
            f"haproxy:{LOOPBACK}",
            "--keep-open",
            "--idle-timeout",
            "1",
            "--handshake-timeout",
            "1",
            "--max-per-ip",
            "1",
            listeners=2,
        )
        targets = [f"127.0.0.1:{workersMetrics}", f"127.0.0.1:{limitedMetrics}"]
        prometheus = PrometheusServer(targets)
        self.addCleanup(prometheus.stop)
        prometheus.waitReady()
        # Traffic only after the first scrapes, so that rates see it.
        prometheus.waitValue("count(up == 1)", 2)

        for _ in range(20):
            with socket.create_connection(("127.0.0.1", workersPort), 10) as c:
                self.assertEqual(readAll(c), WELCOME)
        # The workers send their counters once a second: wait until the
        # parent has them, so that killing a worker cannot take the
        # greetings with it.
        deadline = time.monotonic() + WAIT_SECONDS
        while (
            value(
                samples(scrape(workersMetrics)),
                "welcome_connections_closed_total",
                outcome="served",
            )
            != 20
        ):
            self.assertLess(time.monotonic(), deadline, "20 greetings never counted")
            time.sleep(0.1)
        first = self.workerPids(self.servers[0], 2)[0]
        os.kill(first, signal.SIGKILL)
        self.workerPids(self.servers[0], 3)

        with socket.create_connection(("127.0.0.1", plainPort), 10) as held:
            self.assertEqual(held.recv(100), WELCOME)
            with socket.create_connection(("127.0.0.1", plainPort), 10) as refused:
                self.assertEqual(readAll(refused), b"")
            with socket.create_connection(("127.0.0.1", proxyPort), 10) as silent:
                with socket.create_connection(("127.0.0.1", proxyPort), 10) as bad:
                    bad.sendall(b"PROXY TCP4 not an address\r\n")
                    self.assertEqual(readAll(bad), b"")
                # Aborted at --handshake-timeout, and the held one at
                # --idle-timeout.
                self.assertEqual(waitClosedByServer([silent, held], 5), 2)

        names = set()
        for target in targets:
            names |= {name for name, _ in samples(scrape(port(target)))}
        for title, expression in queries():
            for used in re.findall(r"\b(?:welcome|process)_\w+", expression):
                used = re.sub(r"_(bucket|count|sum)$", "", used)
                self.assertTrue(
                    used in names or f"{used}_bucket" in names, f"{title}: {used}"
                )

        # The job and instance variables' query, label_values(welcome_build_info,
        # ...), offers the job and both instances.
        offered = {
            (str(series["metric"]["job"]), str(series["metric"]["instance"]))  # type: ignore[index]
            for series in prometheus.query("welcome_build_info")
        }
        self.assertEqual(offered, {("welcome", target) for target in targets})

        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            missing = self.panelsWithoutData(prometheus)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(missing, [])

    def panelsWithoutData(self, prometheus: PrometheusServer) -> list[str]:
        """
        @return: A line for each query that returns no series, and each
            panel whose queries give no value other than zero.
        """
        missing = []
        nonzero: dict[str, bool] = {}
        for title, expression in queries():
            result = prometheus.query(expression)
            if not result:
                missing.append(f"{title}: no series from {expression}")
            values = []
            for series in result:
                sample = series["value"]
                assert isinstance(sample, list)
                values.append(float(sample[1]))
            nonzero[title] = nonzero.get(title, False) or any(
                v != 0 and not math.isnan(v) for v in values
            )
        missing += [f"{title}: only zeros" for title, ok in nonzero.items() if not ok]
        return missing
