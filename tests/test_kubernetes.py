"""
The Kubernetes manifests in C{contrib/kubernetes}: the Deployment run by the
real C{podman kube play} from the image the root C{Dockerfile} builds, and
the other resources checked against it.
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from twisted.trial.unittest import TestCase

from tests.podman import (
    builtImage,
    container,
    inspect,
    option,
    podman,
    uniqueName,
    waitUntil,
)
from tests.support import freePort, readAll, runClient

KUBERNETES = Path(__file__).resolve().parent.parent / "contrib" / "kubernetes"


def load(name: str) -> dict[str, Any]:
    """
    @return: The one resource in C{contrib/kubernetes/NAME}.
    """
    resource: dict[str, Any] = yaml.safe_load((KUBERNETES / name).read_text())
    return resource


class ManifestTests(TestCase):
    """
    The resources agree with the Deployment: same labels, same port names,
    and a grace period longer than the service's own shutdown deadline.
    """

    def test_kustomizationListsEveryManifest(self) -> None:
        """
        C{kustomization.yaml} names every other manifest in the directory,
        and sets the Deployment's image.
        """
        kustomization = load("kustomization.yaml")
        self.assertEqual(
            sorted(kustomization["resources"]),
            sorted(
                path.name
                for path in KUBERNETES.glob("*.yaml")
                if path.name != "kustomization.yaml"
            ),
        )
        image = container(load("deployment.yaml"))["image"]
        [override] = kustomization["images"]
        self.assertEqual(image.split(":")[0], override["name"])

    def test_selectorsMatchThePods(self) -> None:
        """
        The Service, the PodDisruptionBudget and the PodMonitor select the
        Deployment's pods, and name ports its container has.
        """
        deployment = load("deployment.yaml")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        self.assertEqual(deployment["spec"]["selector"]["matchLabels"], labels)
        ports = {port["name"]: port for port in container(deployment)["ports"]}
        service = load("service.yaml")
        self.assertEqual(service["spec"]["selector"], labels)
        self.assertEqual(
            [port["targetPort"] for port in service["spec"]["ports"]], ["welcome"]
        )
        budget = load("poddisruptionbudget.yaml")
        self.assertEqual(budget["spec"]["selector"]["matchLabels"], labels)
        monitor = load("podmonitor.yaml")
        self.assertEqual(monitor["spec"]["selector"]["matchLabels"], labels)
        [endpoint] = monitor["spec"]["podMetricsEndpoints"]
        self.assertIn(endpoint["port"], ports)
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(
            int(annotations["prometheus.io/port"]),
            ports[endpoint["port"]]["containerPort"],
        )

    def test_portsMatchTheArguments(self) -> None:
        """
        The container ports are the ones the service's arguments listen on.
        """
        spec = container(load("deployment.yaml"))
        ports = {port["name"]: port["containerPort"] for port in spec["ports"]}
        self.assertEqual(int(option(spec["args"], "--port")), ports["welcome"])
        self.assertEqual(option(spec["args"], "--metrics"), f"tcp:{ports['metrics']}")

    def test_gracePeriodCoversShutdownTimeout(self) -> None:
        """
        Kubernetes waits longer than C{--shutdown-timeout} before SIGKILL,
        but not much longer: the service stops by itself in that time.
        """
        deployment = load("deployment.yaml")
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        shutdown = int(option(container(deployment)["args"], "--shutdown-timeout"))
        self.assertTrue(shutdown < grace <= shutdown + 10, (shutdown, grace))


class KubePlayTests(TestCase):
    """
    The Deployment, run by C{podman kube play}, which honours its
    securityContext and publishes each C{containerPort} on the host.
    """

    def play(self) -> tuple[str, dict[str, int]]:
        """
        Run one replica of the Deployment from the image built from this
        tree, its ports published on free loopback ports; take it down after
        the test.

        @return: The container's name, and the host port of each port name.
        """
        deployment = load("deployment.yaml")
        name = uniqueName("welcome-test")
        deployment["metadata"]["name"] = name
        deployment["spec"]["replicas"] = 1
        spec = container(deployment)
        image = f"localhost/welcome-protocol:{name}"
        podman("tag", builtImage(), image)
        self.addCleanup(podman, "untag", builtImage(), image, check=False)
        spec["image"] = image
        manifest = Path(tempfile.mkdtemp(prefix="welcome-kube-")) / "deployment.yaml"
        self.addCleanup(manifest.parent.rmdir)
        self.addCleanup(manifest.unlink)
        self.addCleanup(podman, "kube", "down", str(manifest), check=False)
        # A free port can be taken by another socket between freePort() and
        # podman's bind; only that failure is tried again, with new ports.
        attempts = 3
        while True:
            published = {}
            for port in spec["ports"]:
                published[port["name"]] = port["hostPort"] = freePort()
                port["hostIP"] = "127.0.0.1"
            manifest.write_text(yaml.safe_dump(deployment))
            played = podman("kube", "play", str(manifest), check=False)
            if played.returncode == 0:
                return f"{name}-pod-0-{spec['name']}", published
            output = played.stdout + played.stderr
            attempts -= 1
            if "address already in use" not in output or not attempts:
                raise AssertionError(
                    f"podman kube play exited {played.returncode}:\n{output}"
                )
            podman("kube", "down", str(manifest), check=False)

    def greet(self, port: int) -> str:
        """
        @return: What C{welcome-client} prints once the pod greets on C{port}.
        """
        results = []

        def greeted() -> bool:
            results.append(
                runClient(["--host", "127.0.0.1", "--port", str(port), "-t", "3"])
            )
            return results[-1].returncode == 0

        waitUntil(greeted, "greeted")
        return results[-1].stdout

    def test_greetsAndServesMetrics(self) -> None:
        """
        The pod greets a client on the host, and its metrics port serves
        /metrics, which counts that client.
        """
        _, ports = self.play()
        self.assertEqual(self.greet(ports["welcome"]), "Welcome!\n")
        with socket.create_connection(
            ("127.0.0.1", ports["metrics"]), timeout=10
        ) as scraper:
            scraper.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            page = readAll(scraper).decode()
        self.assertRegex(page, r"^HTTP/1\.[01] 200 ")
        self.assertRegex(
            page, r'\nwelcome_connections_closed_total\{outcome="served"\} [1-9]'
        )
        self.assertIn("\nprocess_open_fds ", page)

    def test_securityContextHonoured(self) -> None:
        """
        The service runs as the non-root user, with no capabilities, no
        privilege escalation, a seccomp filter, and a read-only root.
        """
        name, ports = self.play()
        self.greet(ports["welcome"])
        status = podman("exec", name, "cat", "/proc/1/status").stdout
        self.assertRegex(status, r"\nUid:\s+10001\s+10001\s+10001\s+10001\n")
        for field in ("CapEff", "CapPrm", "CapBnd"):
            self.assertIn(f"\n{field}:\t0000000000000000\n", status)
        self.assertIn("\nNoNewPrivs:\t1\n", status)
        self.assertIn("\nSeccomp:\t2\n", status)
        written = podman("exec", name, "touch", "/opt/welcome/x", check=False)
        self.assertEqual(written.returncode, 1)
        self.assertIn("Read-only file system", written.stderr)

    def test_stopsWithinGracePeriod(self) -> None:
        """
        Stopped as Kubernetes stops a pod (SIGTERM, SIGKILL after
        C{terminationGracePeriodSeconds}), the service exits 0 by itself
        within C{--shutdown-timeout}.
        """
        deployment = load("deployment.yaml")
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        shutdown = int(option(container(deployment)["args"], "--shutdown-timeout"))
        name, ports = self.play()
        self.greet(ports["welcome"])
        self.assertEqual(inspect(name, "{{.Config.StopTimeout}}"), str(grace))
        started = time.monotonic()
        podman("stop", name, seconds=grace + 30)
        elapsed = time.monotonic() - started
        self.assertEqual(inspect(name, "{{.State.ExitCode}}"), "0")
        self.assertLess(elapsed, shutdown)
        self.assertRegex(podman("logs", name).stdout, r"Server Shut Down\.\n$")
