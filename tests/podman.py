"""
The real C{podman} for the container tests: the image the root C{Dockerfile}
builds, and containers and pods run from it.

The image is built once per test process (podman's layer cache makes later
builds of the same tree quick), serialised between processes by a lock, and
used by its ID, so that runs from other trees on the same machine cannot
swap it underneath.  Its base, C{debian:bookworm-slim}, must already be in
podman's storage: C{.ci/debian-base} makes it where no registry is reachable.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE = "debian:bookworm-slim"
#: The trust bundle handed to the build as its optional C{ca} secret.
TRUST_BUNDLE = os.environ.get("PIP_CERT", "/etc/ssl/certs/ca-certificates.crt")
#: How long a container may take to start serving.
START_SECONDS = 30.0

_CONFIG = Path(tempfile.gettempdir()) / "welcome-tests-containers.conf"


def _environment() -> dict[str, str]:
    """
    podman's environment: a C{containers.conf} without default ulimits, which
    may exceed this machine's hard open-file limit; containers then inherit
    the caller's limits.
    """
    if not _CONFIG.exists():
        partial = _CONFIG.with_suffix(f".{os.getpid()}")
        partial.write_text("[containers]\ndefault_ulimits = []\n")
        partial.replace(_CONFIG)
    return {**os.environ, "CONTAINERS_CONF": str(_CONFIG)}


def podman(
    *args: str, check: bool = True, seconds: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """
    Run C{podman ARGS} with the C{runc} runtime (C{crun} refuses cgroups in
    hybrid mode, which some machines still have).

    @param check: Fail unless it exits 0.
    @raise AssertionError: If podman is missing (C{.ci/run} installs it), or
        C{check} and it fails; the message has its output.
    """
    path = shutil.which("podman")
    if path is None:
        raise AssertionError("podman is not installed; .ci/run installs it")
    result = subprocess.run(
        [path, "--runtime", "runc", *args],
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=seconds,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


@functools.cache
def builtImage() -> str:
    """
    Build the root C{Dockerfile} (once per process).

    @return: The image's ID.
    @raise AssertionError: If the base image is missing, or the build fails.
    """
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        raise AssertionError(
            f"{BASE_IMAGE} is not in podman's storage: run .ci/debian-base "
            f"(or podman pull docker.io/library/{BASE_IMAGE})"
        )
    lock = Path(tempfile.gettempdir()) / "welcome-tests-image-build.lock"
    with lock.open("a") as held, tempfile.TemporaryDirectory() as scratch:
        fcntl.flock(held, fcntl.LOCK_EX)
        iidfile = Path(scratch) / "iid"
        secret = []
        if Path(TRUST_BUNDLE).is_file():
            secret = ["--secret", f"id=ca,src={TRUST_BUNDLE}"]
        # The docker format keeps HEALTHCHECK; OCI images have no such field.
        podman(
            "build",
            "--quiet",
            "--format",
            "docker",
            *secret,
            "--iidfile",
            str(iidfile),
            str(ROOT),
            seconds=600,
        )
        return iidfile.read_text().strip()


def uniqueName(prefix: str) -> str:
    """
    @return: A container or pod name no other run uses.
    """
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def removeContainer(name: str) -> None:
    """
    Remove container C{name}, running or not; for clean-ups.
    """
    podman("rm", "--force", "--time", "0", "--ignore", name, check=False)


def hostPort(name: str, containerPort: int) -> int:
    """
    @return: The host port published for C{containerPort} of C{name}.
    """
    published = podman("port", name, f"{containerPort}/tcp").stdout.split()
    assert len(published) == 1, published
    return int(published[0].rsplit(":", 1)[1])


def inspect(name: str, template: str) -> str:
    """
    @return: C{podman inspect --format TEMPLATE NAME}, stripped.
    """
    return podman("inspect", "--format", template, name).stdout.strip()


def waitUntil(
    condition: Callable[[], bool], what: str, seconds: float = START_SECONDS
) -> None:
    """
    Wait until C{condition()} is true.

    @raise AssertionError: Naming C{what}, if it is not within C{seconds}.
    """
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {seconds} s")
        time.sleep(0.2)


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """
    @return: The Deployment's one container.
    """
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = only
    return result


def option(args: list[str], name: str) -> str:
    """
    @return: The value that follows C{name} in a container's C{args}.
    """
    return args[args.index(name) + 1]
