"""
docs/exporter.md's examples are the ones run: its modules file is loaded
as it is written, and the exporter started with it as the page shows
probes our server with its modules.
"""

from __future__ import annotations

import re
import shutil
import urllib.parse
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.exporterpeers import scratch, startWelcomeExporter
from tests.support import ServerProcess, temporaryPath
from welcome_protocol.exporter.modules import loadModules

PAGE = Path(__file__).resolve().parent.parent / "docs" / "exporter.md"


def blocks(language: str) -> list[str]:
    """
    @return: The page's fenced blocks in C{language}, in order.
    """
    text = PAGE.read_text("utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


class ExamplesTests(TestCase):
    """
    The page's examples.
    """

    def test_modulesFileLoads(self) -> None:
        """
        The modules file loads as written, every module and option of it.
        """
        [text] = blocks("yaml")
        path = Path(temporaryPath(self))
        path.write_text(text)
        modules = loadModules(str(path))
        self.assertEqual(
            sorted(modules), ["ssh_banner", "udp_welcome", "welcome", "welcome_tls"]
        )
        self.assertEqual(modules["udp_welcome"].pad, 1200)
        self.assertTrue(modules["welcome_tls"].tls)

    def test_commandsRun(self) -> None:
        """
        The exporter started as the page shows (on another port), with the
        page's modules, probes our server over TCP and UDP as the page's
        scrape does.
        """
        [console] = blocks("console")
        start, fetch = [line.removeprefix("$ ") for line in console.splitlines()]
        self.assertEqual(start, "twistd -n welcome-exporter --config modules.yml")
        workdir = scratch("welcome-exporter-docs-")
        self.addCleanup(shutil.rmtree, workdir, True)
        [text] = blocks("yaml")
        (workdir / "modules.yml").write_text(text)
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
        exporter = startWelcomeExporter("--config", "modules.yml", workdir=workdir)
        self.addCleanup(exporter.stop)
        url = urllib.parse.urlsplit(re.findall(r"'(http://[^']+)'", fetch)[0])
        params = dict(urllib.parse.parse_qsl(url.query))
        self.assertEqual(url.path, "/probe")
        self.assertEqual(params["module"], "welcome")
        params["target"] = tcp
        self.assertEqual(exporter.get(url.path, params).metrics()["probe_success"], 1)
        udpTarget = udp.removesuffix("/udp")
        answer = exporter.probe(udpTarget, "udp_welcome")
        self.assertEqual(answer.metrics()["probe_success"], 1, answer.body)
