"""
End-to-end test of the installed C{welcome-client} scanning at the
C{--parallel} ceiling it suggests itself: no check may fail for want of a
descriptor, because a timed-out check's socket is closed before the next
check starts.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import tempfile

from twisted.trial.unittest import TestCase

from tests.support import _environment, installedScript
from welcome_protocol.shared.defaults import SPARE_DESCRIPTORS

LIMIT = 256


def silentPorts(case: TestCase, count: int) -> list[int]:
    """
    Ports on 127.0.0.1 that accept connections (the kernel completes them
    into the accept queue) but never send anything: each connection times
    out as C{silent}.
    """
    ports = []
    for _ in range(count):
        s = socket.socket()
        case.addCleanup(s.close)
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        ports.append(s.getsockname()[1])
    return ports


class CeilingTests(TestCase):
    """
    C{--parallel} at the suggested ceiling of a low C{ulimit -n}.
    """

    def test_silentPortsAtTheCeiling(self) -> None:
        """
        Three hundred silent ports at C{--parallel} 224 under C{ulimit -n
        256} are all reported silent: none unreachable ("Too many open
        files").
        """
        ports = silentPorts(self, 300)

        def lowLimit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

        parallel = LIMIT - SPARE_DESCRIPTORS
        result = subprocess.run(
            [
                installedScript("welcome-client"),
                "--parallel",
                str(parallel),
                "-t",
                "0.5",
                "--ports",
                ",".join(map(str, ports)),
                "127.0.0.1",
            ],
            cwd=tempfile.gettempdir(),
            env=_environment(),
            capture_output=True,
            text=True,
            preexec_fn=lowLimit,
            timeout=60,
        )
        summary = result.stdout.strip().splitlines()[-1]
        self.assertEqual(result.stdout.count("open files"), 0, summary)
        self.assertEqual(result.stdout.count(" silent "), 300, summary)
