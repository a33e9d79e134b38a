"""
The exporter in a container: the image the root C{Dockerfile} builds runs
C{twistd welcome-exporter}, and the manifests in
C{contrib/kubernetes/exporter/} agree with each other and are run by the
real C{podman kube play}.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations
from twisted.trial.unittest import TestCase

from tests.exporterpeers import get
from tests.podman import builtImage, container, option, podman, uniqueName, waitUntil
from tests.support import freePort
from welcome_protocol.exporter.modules import parseModules

EXPORTER = (
    Path(__file__).resolve().parent.parent / "contrib" / "kubernetes" / "exporter"
)


def load(name: str) -> dict[str, Any]:
    """
    @return: The one resource in C{contrib/kubernetes/exporter/NAME}.
    """
    resource: dict[str, Any] = yaml.safe_load((EXPORTER / name).read_text())
    return resource


class ManifestTests(TestCase):
    """
    The manifests agree with each other and with the exporter.
    """

    def test_kustomizationListsEveryManifest(self) -> None:
        """
        C{kustomization.yaml} names every other manifest in the directory.
        """
        self.assertEqual(
            sorted(load("kustomization.yaml")["resources"]),
            sorted(
                p.name
                for p in EXPORTER.glob("*.yaml")
                if p.name != "kustomization.yaml"
            ),
        )

    def test_modulesLoad(self) -> None:
        """
        The ConfigMap's modules file is one the exporter accepts.
        """
        text = load("configmap.yaml")["data"]["modules.yml"]
        self.assertEqual(
            sorted(parseModules(yaml.safe_load(text))),
            ["tcp_connect", "udp", "welcome"],
        )

    def test_configMounted(self) -> None:
        """
        C{--config} names the file where the ConfigMap is mounted, and
        C{--listen} the port the container and the Service name.
        """
        deployment = load("deployment.yaml")
        spec = container(deployment)
        [mount] = spec["volumeMounts"]
        [volume] = deployment["spec"]["template"]["spec"]["volumes"]
        self.assertEqual(mount["name"], volume["name"])
        self.assertEqual(
            volume["configMap"]["name"], load("configmap.yaml")["metadata"]["name"]
        )
        self.assertEqual(
            option(spec["args"], "--config"), f"{mount['mountPath']}/modules.yml"
        )
        [port] = spec["ports"]
        self.assertEqual(
            option(spec["args"], "--listen"), f"tcp:{port['containerPort']}"
        )
        [servicePort] = load("service.yaml")["spec"]["ports"]
        self.assertEqual(servicePort["targetPort"], port["name"])
        self.assertEqual(spec["command"][-1], "welcome-exporter")


class KubePlayTests(TestCase):
    """
    The Deployment and its ConfigMap, run by C{podman kube play} from the
    image built from this tree.
    """

    def test_probesAndServesMetrics(self) -> None:
        """
        The pod answers C{/probe} with the ConfigMap's modules (here for
        itself: the test lets it probe loopback) and C{/metrics}, as the
        non-root user.
        """
        deployment = load("deployment.yaml")
        name = uniqueName("welcome-exporter-test")
        deployment["metadata"]["name"] = name
        spec = container(deployment)
        image = f"localhost/welcome-protocol:{name}"
        podman("tag", builtImage(), image)
        self.addCleanup(podman, "untag", builtImage(), image, check=False)
        spec["image"] = image
        args = spec["args"]
        args[args.index("--allow-targets") + 1] = "127.0.0.0/8"
        [port] = spec["ports"]
        port["hostPort"] = hostPort = freePort()
        port["hostIP"] = "127.0.0.1"
        manifest = Path(tempfile.mkdtemp(prefix="welcome-kube-")) / "exporter.yaml"
        self.addCleanup(manifest.parent.rmdir)
        self.addCleanup(manifest.unlink)
        manifest.write_text(yaml.safe_dump_all([load("configmap.yaml"), deployment]))
        self.addCleanup(podman, "kube", "down", str(manifest), check=False)
        podman("kube", "play", str(manifest))
        answers = []

        def probed() -> bool:
            try:
                answers.append(
                    get(
                        hostPort,
                        "/probe",
                        {"target": "127.0.0.1:9115", "module": "tcp_connect"},
                        seconds=5,
                    )
                )
            except OSError:
                return False
            return answers[-1].code == 200

        waitUntil(probed, "answered /probe")
        self.assertEqual(answers[-1].metrics()["probe_success"], 1)
        forbidden = get(
            hostPort, "/probe", {"target": "192.0.2.1:1", "module": "welcome"}
        )
        self.assertEqual(forbidden.code, 403)
        self.assertIn(
            "process_resident_memory_bytes", get(hostPort, "/metrics").metrics()
        )
        status = podman("exec", f"{name}-pod-0-{spec['name']}", "cat", "/proc/1/status")
        self.assertRegex(status.stdout, r"\nUid:\s+10001\s+10001\s+10001\s+10001\n")
