"""
The ready-made Prometheus configuration in C{contrib/prometheus/} for the
exporter: checked by C{promtool}, and used by a real Prometheus that
scrapes our exporter and blackbox_exporter side by side through its
multi-target relabelling, until the alert fires on the refused target.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations
from twisted.trial.unittest import TestCase

from tests.exporterpeers import (
    ConfiguredPrometheus,
    scratch,
    startBlackbox,
    startWelcomeExporter,
)
from tests.prometheusserver import command
from tests.support import ServerProcess, freePort

CONTRIB = Path(__file__).resolve().parent.parent / "contrib" / "prometheus"
CONFIG = CONTRIB / "welcome-exporter.yml"
RULES = CONTRIB / "welcome-exporter-rules.yml"

#: A module named as the contrib configuration asks (module=welcome), that
#: both exporters understand: blackbox_exporter has no welcome prober.
MODULES = """\
modules:
  welcome:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^Welcome"
"""


def promtool(*args: str, cwd: Path = CONTRIB) -> subprocess.CompletedProcess[str]:
    """
    Run C{promtool ARGS} in C{cwd}.
    """
    return subprocess.run(
        [command("promtool"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


class PromtoolTests(TestCase):
    """
    C{promtool} accepts the configuration and the rules, and the rules'
    own tests pass.
    """

    def test_config(self) -> None:
        """
        C{promtool check config} accepts the scrape configuration (and the
        rule file it names).
        """
        done = promtool("check", "config", CONFIG.name)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

    def test_rules(self) -> None:
        """
        C{promtool check rules} accepts the rules, and C{promtool test
        rules} passes their tests.
        """
        done = promtool("check", "rules", RULES.name)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        done = promtool("test", "rules", "welcome-exporter-rules.test.yml")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)


def _relabelledTo(job: dict[str, Any], exporter: str) -> None:
    """
    Point C{job}'s relabelling at C{exporter} (C{HOST:PORT}).
    """
    [toExporter] = [
        rule
        for rule in job["relabel_configs"]
        if rule.get("target_label") == "__address__"
    ]
    toExporter["replacement"] = exporter


class RealPrometheusTests(TestCase):
    """
    Prometheus scrapes both exporters through the contrib relabelling.
    """

    def test_alertFiresOnRefusedTarget(self) -> None:
        """
        Through the contrib configuration (its intervals and the rules'
        C{for} shortened), Prometheus probes a welcoming and a refused target
        through both exporters: C{probe_success} is 1 and 0 on both, and
        C{WelcomeProbeFailed} fires on the refused target only, for each.
        """
        workdir = scratch("welcome-exporter-prometheus-")
        self.addCleanup(shutil.rmtree, workdir, True)
        modules = workdir / "modules.yml"
        modules.write_text(MODULES)
        server = ServerProcess(["--listen", "tcp:0:interface=127.0.0.1"])
        self.addCleanup(server.kill)
        [welcoming] = server.waitListening()
        refused = f"127.0.0.1:{freePort()}"
        ours = startWelcomeExporter("--config", str(modules), workdir=workdir)
        self.addCleanup(ours.stop)
        theirs = startBlackbox(modules)
        self.addCleanup(theirs.stop)

        config = yaml.safe_load(CONFIG.read_text())
        config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
        probe = next(
            j for j in config["scrape_configs"] if j["job_name"] == "welcome-probe"
        )
        probe["static_configs"] = [{"targets": [welcoming, refused]}]
        _relabelledTo(probe, f"127.0.0.1:{ours.port}")
        blackbox = yaml.safe_load(yaml.safe_dump(probe))
        blackbox["job_name"] = "blackbox-probe"
        _relabelledTo(blackbox, f"127.0.0.1:{theirs.port}")
        own = next(
            j for j in config["scrape_configs"] if j["job_name"] == "welcome-exporter"
        )
        own["static_configs"] = [{"targets": [f"127.0.0.1:{ours.port}"]}]
        config["scrape_configs"] = [probe, blackbox, own]
        rules = yaml.safe_load(RULES.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                rule["for"] = "1s"
        prometheus = ConfiguredPrometheus(
            yaml.safe_dump(config), {RULES.name: yaml.safe_dump(rules)}
        )
        self.addCleanup(prometheus.stop)
        prometheus.waitReady()

        for job in ("welcome-probe", "blackbox-probe"):
            prometheus.waitValue(
                f'probe_success{{job="{job}",instance="{welcoming}"}}', 1
            )
            prometheus.waitValue(
                f'probe_success{{job="{job}",instance="{refused}"}}', 0
            )
        firing = prometheus.waitFor(
            'ALERTS{alertname="WelcomeProbeFailed",alertstate="firing"}',
            lambda result: len(result) == 2,
        )
        labels = sorted(
            (alert["metric"]["job"], alert["metric"]["instance"])  # type: ignore[index]
            for alert in firing
        )
        self.assertEqual(
            labels, [("blackbox-probe", refused), ("welcome-probe", refused)]
        )
        prometheus.waitValue('up{job="welcome-exporter"}', 1)
        prometheus.waitValue(
            'welcome_exporter_scrapes_total{job="welcome-exporter",module="welcome",'
            'result="failure"} > bool 0',
            1,
        )
