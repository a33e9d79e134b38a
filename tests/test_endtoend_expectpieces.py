"""
End-to-end tests: with C{-e}, the installed C{check_welcome} and
C{welcome-client} read a banner that arrives in pieces until it matches,
as C{check_tcp} does, in every output mode.
"""

from __future__ import annotations

import json
import subprocess
import tempfile

from twisted.trial.unittest import TestCase

from tests.clientpeers import runCheckTCP, threadedServer
from tests.support import _environment, installedScript, runClient


def runCheckWelcome(*args: str) -> subprocess.CompletedProcess[str]:
    """
    Run the installed C{check_welcome} with C{args}.
    """
    return subprocess.run(
        [installedScript("check_welcome"), *args],
        cwd=tempfile.gettempdir(),
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )


class BannerInPiecesTests(TestCase):
    """
    The server sends C{W}, then C{W} half a second later; C{-e WW} matches.
    """

    def setUp(self) -> None:
        self.port = str(threadedServer(self, "pieces").port)

    def test_checkWelcomeAsCheckTCP(self) -> None:
        """
        C{check_welcome} says OK, as C{check_tcp} does with the same
        arguments.
        """
        args = ["-H", "127.0.0.1", "-p", self.port, "-e", "WW", "-t", "3"]
        ours = runCheckWelcome(*args)
        theirs = runCheckTCP(*args)
        self.assertEqual(theirs.returncode, 0, theirs.stdout)
        self.assertEqual(ours.returncode, 0, ours.stdout)
        self.assertTrue(ours.stdout.startswith("WELCOME OK"), ours.stdout)

    def test_clientModes(self) -> None:
        """
        C{welcome-client -e WW}: the welcome C{WW} in the default mode,
        C{--json} and C{--nagios}.
        """
        target = f"127.0.0.1:{self.port}"
        plain = runClient(["-e", "WW", "-t", "3", target])
        self.assertEqual((plain.returncode, plain.stdout), (0, "WW\n"))
        lines = runClient(["--json", "-e", "WW", "-t", "3", target])
        attempt = json.loads(lines.stdout.splitlines()[0])
        self.assertEqual((lines.returncode, attempt["welcome"]), (0, "WW"))
        nagios = runClient(["--nagios", "-e", "WW", "-t", "3", target])
        self.assertEqual(nagios.returncode, 0, nagios.stdout)

    def test_noMatchWaitsForTheTimeout(self) -> None:
        """
        A banner that never matches is judged at the timeout, with all
        that arrived.
        """
        result = runCheckWelcome(
            "-H", "127.0.0.1", "-p", self.port, "-e", "WWW", "-t", "1"
        )
        self.assertEqual(result.returncode, 1, result.stdout)
        self.assertIn("WW", result.stdout)
