"""
End-to-end test: the installed C{welcome-client} says when C{--max-bytes}
cut a welcome, in every output mode that prints one.
"""

from __future__ import annotations

import json

from twisted.trial.unittest import TestCase

from tests.clientpeers import threadedServer
from tests.support import runClient


class MaxBytesTests(TestCase):
    """
    C{Welcome!} read with C{--max-bytes 3}.
    """

    def test_cutIsSaid(self) -> None:
        """
        The default mode prints the three bytes and one line on stderr;
        C{--json} says C{"truncated": true}; a C{--count} line says it.
        """
        target = f"127.0.0.1:{threadedServer(self, 'welcome').port}"
        plain = runClient(["--max-bytes", "3", target])
        self.assertEqual(
            (plain.returncode, plain.stdout, plain.stderr),
            (
                0,
                "Wel\n",
                "welcome-client: the welcome was cut at 3 bytes (--max-bytes)\n",
            ),
        )
        lines = runClient(["--max-bytes", "3", "--json", target])
        attempt = json.loads(lines.stdout.splitlines()[0])
        self.assertEqual((attempt["welcome"], attempt["truncated"]), ("Wel", True))
        count = runClient(["--max-bytes", "3", "-n", "1", target])
        self.assertIn("the welcome was cut at 3 bytes", count.stdout)
        whole = runClient(["--json", target])
        self.assertFalse(json.loads(whole.stdout.splitlines()[0])["truncated"])
