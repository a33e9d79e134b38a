"""
The container image the root C{Dockerfile} builds, built and run with the
real C{podman}: greeted from the host through a published port, run as an
unprivileged user, healthy by its own C{HEALTHCHECK}, and stopped cleanly by
SIGTERM.
"""

from __future__ import annotations

import json
import re
import socket
import time

from twisted.trial.unittest import TestCase

from tests.podman import (
    builtImage,
    hostPort,
    inspect,
    podman,
    removeContainer,
    uniqueName,
    waitUntil,
)
from tests.support import readAll, runClient

WELCOME_PORT = 12000
METRICS_PORT = 9112


class ContainerImageTests(TestCase):
    """
    The image, and containers run from it as C{docker run} would.
    """

    def runContainer(self, *args: str) -> str:
        """
        Run the image detached with its ports published on loopback
        (C{ARGS} replace its command, i.e. the service's options); remove
        it after the test.

        @return: The container's name.
        """
        name = uniqueName("welcome-test")
        self.addCleanup(removeContainer, name)
        podman(
            "run",
            "--detach",
            "--name",
            name,
            "--publish",
            f"127.0.0.1::{WELCOME_PORT}",
            "--publish",
            f"127.0.0.1::{METRICS_PORT}",
            builtImage(),
            *args,
        )
        return name

    def greet(self, name: str) -> str:
        """
        @return: What C{welcome-client} on the host prints, once the service
            in C{name} greets through its published port.
        """
        port = hostPort(name, WELCOME_PORT)
        results = []

        def greeted() -> bool:
            results.append(
                runClient(["--host", "127.0.0.1", "--port", str(port), "-t", "3"])
            )
            return results[-1].returncode == 0

        waitUntil(greeted, "greeted")
        return results[-1].stdout

    def test_imageMetadata(self) -> None:
        """
        The image exposes the welcome and metrics ports, runs as a numeric
        unprivileged user (which Kubernetes' C{runAsNonRoot} can check), and
        keeps its C{HEALTHCHECK}, which runs C{welcome-client}.
        """
        [image] = json.loads(podman("image", "inspect", builtImage()).stdout)
        config = image["Config"]
        self.assertEqual(
            set(config["ExposedPorts"]),
            {f"{WELCOME_PORT}/tcp", f"{METRICS_PORT}/tcp"},
        )
        self.assertEqual(config["User"], "10001:10001")
        self.assertEqual(config["StopSignal"], "SIGTERM")
        self.assertEqual(
            image["Healthcheck"]["Test"][:4],
            ["CMD", "welcome-client", "--host", "127.0.0.1"],
        )

    def test_greetsThroughPublishedPort(self) -> None:
        """
        A client on the host is greeted through the port published on
        127.0.0.1; the service logs the connection on stdout, where the
        container's log comes from, and its metrics are published too.
        """
        name = self.runContainer()
        self.assertEqual(self.greet(name), "Welcome!\n")
        waitUntil(
            lambda: "Welcomed " in podman("logs", name).stdout,
            "logged the connection on stdout",
        )
        with socket.create_connection(
            ("127.0.0.1", hostPort(name, METRICS_PORT)), timeout=10
        ) as scraper:
            scraper.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            page = readAll(scraper).decode()
        self.assertRegex(
            page, r'\nwelcome_connections_closed_total\{outcome="served"\} [1-9]'
        )

    def test_runsAsNonRoot(self) -> None:
        """
        The service's process (PID 1 in the container) runs as the image's
        unprivileged user, with no capabilities.
        """
        name = self.runContainer()
        self.greet(name)
        status = podman("exec", name, "cat", "/proc/1/status").stdout
        self.assertRegex(status, r"\nUid:\s+10001\s+10001\s+10001\s+10001\n")
        self.assertRegex(status, r"\nGid:\s+10001\s+10001\s+10001\s+10001\n")
        self.assertIn("\nCapEff:\t0000000000000000\n", status)
        self.assertIn("twistd", podman("exec", name, "cat", "/proc/1/cmdline").stdout)

    def test_healthcheckHealthy(self) -> None:
        """
        The image's C{HEALTHCHECK} reports the container healthy once the
        service greets.
        """
        name = self.runContainer()
        self.greet(name)
        podman("healthcheck", "run", name)
        self.assertEqual(inspect(name, "{{.State.Health.Status}}"), "healthy")
        log = json.loads(inspect(name, "{{json .State.Health.Log}}"))
        self.assertEqual(log[-1]["Output"].strip(), "Welcome!")

    def test_healthcheckUnhealthy(self) -> None:
        """
        When nothing greets on the welcome port (here the service was told
        to listen elsewhere), the C{HEALTHCHECK} fails, saying why.
        """
        name = self.runContainer("--port", "12001")
        waitUntil(lambda: "Listening on" in podman("logs", name).stdout, "listening")
        result = podman("healthcheck", "run", name, check=False)
        self.assertEqual((result.returncode, result.stdout.strip()), (1, "unhealthy"))
        log = json.loads(inspect(name, "{{json .State.Health.Log}}"))
        self.assertIn("welcome-client: cannot connect", log[-1]["Output"])

    def test_sigtermStopsCleanly(self) -> None:
        """
        SIGTERM stops the service within C{--shutdown-timeout}, with exit
        status 0 and its shutdown logged, while a client holds a connection
        open.
        """
        shutdownTimeout = 2
        name = self.runContainer(
            "--port",
            str(WELCOME_PORT),
            "--keep-open",
            "--shutdown-timeout",
            str(shutdownTimeout),
        )
        self.greet(name)
        with socket.create_connection(
            ("127.0.0.1", hostPort(name, WELCOME_PORT)), timeout=10
        ) as held:
            self.assertEqual(held.recv(100), b"Welcome!")
            started = time.monotonic()
            podman("kill", "--signal", "TERM", name)
            status = podman("wait", name, seconds=30).stdout.strip()
            elapsed = time.monotonic() - started
            self.assertEqual(readAll(held), b"")
        self.assertEqual(status, "0")
        # The deadline plus the time podman takes to notice the exit.
        self.assertLess(elapsed, shutdownTimeout + 3)
        logs = podman("logs", name).stdout
        self.assertRegex(logs, r"Server Shut Down\.\n$")
        self.assertIsNone(re.search(r"Traceback", logs))
