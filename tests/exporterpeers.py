"""
The exporters the exporter's end-to-end tests run: the installed
C{twistd welcome-exporter}, and Debian's C{prometheus-blackbox-exporter} to
compare it with; and a scrape of either.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.prometheusserver import WAIT_SECONDS, PrometheusServer
from tests.support import STARTUP_SECONDS, freePort, installedScript, waitConnectable

BLACKBOX = "prometheus-blackbox-exporter"


def blackboxCommand() -> str:
    """
    @return: The path of Debian's blackbox_exporter.
    @raise AssertionError: If it is not installed (C{.ci/run} installs it):
        a missing peer fails the comparison, never skips it.
    """
    path = shutil.which(BLACKBOX) or shutil.which("blackbox_exporter")
    if path is None:
        raise AssertionError(f"{BLACKBOX} is missing: apt-get install {BLACKBOX}")
    return path


class Answer:
    """
    One HTTP answer.

    @ivar code: The status.
    @ivar body: The body, as text.
    @ivar contentType: The C{Content-Type}.
    """

    def __init__(self, code: int, body: str, contentType: str) -> None:
        self.code = code
        self.body = body
        self.contentType = contentType

    def metrics(self) -> dict[str, float]:
        """
        @return: Each sample of the body (Prometheus' text format), by its
            name and labels as written, e.g. C{probe_port_success{port="22"}}.
        """
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(self.body):
            for sample in family.samples:
                labels = ",".join(
                    f'{k}="{v}"' for k, v in sorted(sample.labels.items())
                )
                key = f"{sample.name}{{{labels}}}" if labels else sample.name
                samples[key] = sample.value
        return samples


def get(
    port: int,
    path: str,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    seconds: float = 30.0,
) -> Answer:
    """
    C{GET} C{path} from an exporter on loopback C{port}.
    """
    query = "" if params is None else "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}{query}", headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=seconds) as response:
            return Answer(
                response.status,
                response.read().decode("utf-8", "replace"),
                response.headers.get("content-type", ""),
            )
    except urllib.error.HTTPError as e:
        return Answer(
            e.code,
            e.read().decode("utf-8", "replace"),
            e.headers.get("content-type", ""),
        )


class ExporterProcess:
    """
    An exporter running on a loopback port, its output in a file.

    @ivar port: The port it serves HTTP on.
    @ivar workdir: Its scratch directory.
    """

    def __init__(self, command: Sequence[str], port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.logPath = workdir / "output.log"
        with self.logPath.open("wb") as log:
            self.process = subprocess.Popen(
                list(command),
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            waitConnectable("127.0.0.1", port, STARTUP_SECONDS)
        except BaseException:
            self.stop()
            raise AssertionError(
                f"{command[0]} did not start:\n{self.output()}"
            ) from None

    def output(self) -> str:
        """
        @return: What it wrote so far.
        """
        return self.logPath.read_text(errors="replace")

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """
        C{GET} C{path} from it.
        """
        return get(self.port, path, params, headers)

    def probe(self, target: str, module: str, **params: str) -> Answer:
        """
        Scrape C{/probe} for C{target} with C{module}.
        """
        return self.get("/probe", {"target": target, "module": module, **params})

    def stop(self) -> int:
        """
        End it.

        @return: Its exit status.
        """
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)


def scratch(prefix: str) -> Path:
    """
    @return: A new temporary directory (the caller removes it).
    """
    return Path(tempfile.mkdtemp(prefix=prefix))


def _onFreePort(
    command: Callable[[int], list[str]], workdir: Path, tries: int = 3
) -> ExporterProcess:
    """
    Start C{command(port)} on a port that was free a moment ago, and again
    on another if something else took it meanwhile (the other test process
    of C{trial -j2} picks free ports too): a lost race is not a failure.
    """
    for attempt in range(tries):
        port = freePort()
        try:
            return ExporterProcess(command(port), port, workdir)
        except AssertionError as e:
            if "already in use" not in str(e) or attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def startWelcomeExporter(*args: str, workdir: Path | None = None) -> ExporterProcess:
    """
    Start the installed C{twistd welcome-exporter ARGS} on a free loopback
    port.
    """
    directory = workdir or scratch("welcome-exporter-")
    return _onFreePort(
        lambda port: [
            installedScript("twistd"),
            "--nodaemon",
            "--pidfile=",
            "--logfile=-",
            "welcome-exporter",
            "--listen",
            f"tcp:{port}:interface=127.0.0.1",
            *args,
        ],
        directory,
    )


def startBlackbox(config: Path) -> ExporterProcess:
    """
    Start Debian's blackbox_exporter with the modules file C{config} on a
    free loopback port.
    """
    return _onFreePort(
        lambda port: [
            blackboxCommand(),
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        config.parent,
    )


def runExporter(*args: str, seconds: float = 30.0) -> subprocess.CompletedProcess[str]:
    """
    Run C{twistd welcome-exporter ARGS} to its end (a start that fails).
    """
    return subprocess.run(
        [
            installedScript("twistd"),
            "--nodaemon",
            "--pidfile=",
            "--logfile=-",
            "welcome-exporter",
            *args,
        ],
        cwd=tempfile.gettempdir(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds,
    )


class ConfiguredPrometheus(PrometheusServer):
    """
    C{prometheus} on a loopback port with a configuration of the test's
    (and the rule files beside it), its own temporary directory.
    """

    def __init__(self, config: str, files: Mapping[str, str]) -> None:
        """
        @param config: The whole C{prometheus.yml}.
        @param files: Other files to write beside it (rule files), by name.
        """
        self.workdir = Path(tempfile.mkdtemp(prefix="welcome-prometheus-"))
        for name, text in files.items():
            (self.workdir / name).write_text(text)
        path = self.workdir / "prometheus.yml"
        path.write_text(config)
        self._start(path)

    def waitFor(
        self, expression: str, matches: Callable[[list[dict[str, object]]], bool]
    ) -> list[dict[str, object]]:
        """
        Wait until the query's result C{matches}.

        @return: That result.
        @raise AssertionError: If it does not within L{WAIT_SECONDS}.
        """
        deadline = time.monotonic() + WAIT_SECONDS
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            result = self.query(expression)
            if matches(result):
                return result
            time.sleep(0.1)
        raise AssertionError(f"{expression}: {result}\n{self.output()}")
