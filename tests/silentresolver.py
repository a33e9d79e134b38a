"""
Run an installed program with a name resolver that never answers, on
loopback only.

The program runs in its own user, network and mount namespaces
(C{unshare}): there, C{resolv.conf} is bind-mounted to name 127.0.0.1 as
the only name server, and a UDP socket bound to 127.0.0.1:53 takes the
queries and never answers.  Nothing leaves the namespace's loopback, and
the machine's own C{resolv.conf} is untouched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from twisted.trial.unittest import SkipTest

from tests.support import _environment, installedScript

SILENT_NAME = "silent-resolver.example"
"""
A name found in no hosts file: its lookup goes to the silent name server.
"""

RESOLVER_TIMEOUT = 8
"""
Seconds the C library waits for the silent name server (C{timeout:8}), far
longer than the C{-t} of the tests.
"""


def requireNamespaces() -> None:
    """
    @raise SkipTest: If this machine cannot make a user, network and mount
        namespace for an unprivileged test (C{unshare} missing or refused).
    """
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise SkipTest("needs unshare and ip")
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--net", "--mount", "true"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        raise SkipTest(f"no namespaces here: {probe.stderr.strip()}")


_LAUNCHER = """
import socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["mount", "--bind", sys.argv[1], "/etc/resolv.conf"], check=True)
if sys.argv[2]:
    subprocess.run(["mount", "--bind", sys.argv[2], "/etc/hosts"], check=True)
if sys.argv[3] == "silent":
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 53))
sys.exit(subprocess.run(sys.argv[4:]).returncode)
"""


def runWithSilentResolver(
    program: str,
    args: Sequence[str],
    seconds: float = 60.0,
    hosts: str = "",
    silent: bool = True,
) -> subprocess.CompletedProcess[str]:
    """
    Run the installed C{program} with C{args}, its resolver silent.

    @param hosts: If given, the C{/etc/hosts} the program sees.
    @param silent: Whether the name server takes the queries and never
        answers; otherwise nothing listens there, and each query is
        refused at once.

    @raise SkipTest: If namespaces cannot be made here.
    """
    requireNamespaces()
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as conf:
        conf.write(
            f"nameserver 127.0.0.1\noptions timeout:{RESOLVER_TIMEOUT} attempts:1\n"
        )
    hostsPath = ""
    if hosts:
        with tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False) as f:
            f.write(hosts)
        hostsPath = f.name
    try:
        result = subprocess.run(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--net",
                "--mount",
                sys.executable,
                "-c",
                _LAUNCHER,
                conf.name,
                hostsPath,
                "silent" if silent else "refused",
                installedScript(program),
                *args,
            ],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    finally:
        os.unlink(conf.name)
        if hostsPath:
            os.unlink(hostsPath)
    return result
