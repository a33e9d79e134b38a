"""
A real Prometheus server for the end-to-end tests: Debian's C{prometheus}
binary, run on a loopback port with a scratch configuration and storage.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tests.support import freePort

#: How long Prometheus may take to start, and a query to come true.
WAIT_SECONDS = 30.0


def command(name: str) -> str:
    """
    @return: The path of C{name} (C{prometheus} or C{promtool}).
    @raise FileNotFoundError: If it is not installed (C{.ci/run} installs
        Debian's C{prometheus} package, which has both).
    """
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is missing: apt-get install prometheus")
    return path


class PrometheusServer:
    """
    C{prometheus} scraping its targets every C{interval}.
    """

    def __init__(self, target: str | Sequence[str], interval: str = "200ms") -> None:
        """
        @param target: C{HOST:PORT} of the metrics endpoint to scrape, or a
            sequence of them (as many instances of the service).
        @param interval: The scrape interval (and timeout).
        """
        targets = [target] if isinstance(target, str) else list(target)
        self.workdir = Path(tempfile.mkdtemp(prefix="welcome-prometheus-"))
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  scrape_timeout: {interval}\n"
            "scrape_configs:\n"
            "  - job_name: welcome\n"
            "    static_configs:\n"
            f"      - targets: {json.dumps(targets)}\n"
        )
        self._start(config)

    def _start(self, config: Path) -> None:
        """
        Start C{prometheus} with C{config}, in C{self.workdir}, on a free
        loopback port.
        """
        self.port = freePort()
        self.log = (self.workdir / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                command("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def _get(self, path: str) -> bytes:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
        return body

    def waitReady(self) -> None:
        """
        Wait until Prometheus answers on its readiness endpoint.
        """
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                self._get("/-/ready")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "prometheus did not start:\n" + self.output()
                    ) from None
                time.sleep(0.1)

    def query(self, expression: str) -> list[dict[str, object]]:
        """
        @return: The result vector of an instant query.
        """
        body = self._get(
            "/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        )
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        result: list[dict[str, object]] = answer["data"]["result"]
        return result

    def waitValue(self, expression: str, expected: float) -> None:
        """
        Wait until the query's single value is C{expected}.

        @raise AssertionError: If it is not within L{WAIT_SECONDS}.
        """
        deadline = time.monotonic() + WAIT_SECONDS
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            result = self.query(expression)
            if len(result) == 1:
                sample = result[0]["value"]
                assert isinstance(sample, list)
                if float(sample[1]) == expected:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{expression} is not {expected}: {result}")

    def output(self) -> str:
        """
        @return: What Prometheus logged.
        """
        self.log.flush()
        return (self.workdir / "prometheus.log").read_text(errors="replace")

    def stop(self) -> None:
        """
        Stop Prometheus and remove its files.
        """
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
