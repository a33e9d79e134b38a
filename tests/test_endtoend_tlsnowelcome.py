"""
End-to-end tests: the installed C{welcome-client} judges a TLS server's
certificate as soon as the handshake ends, whether or not a welcome
follows (against C{openssl s_server}, which does not greet), and
C{--connect-only} reports a port that accepts as open.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.clientpeers import openSSLServer, threadedServer
from tests.support import freePort, runClient


class CertificateWithoutWelcomeTests(TestCase):
    """
    C{openssl s_server} with a certificate valid for two more days, and no
    welcome queued.
    """

    def setUp(self) -> None:
        directory = Path(self.mktemp()).absolute()
        directory.mkdir()
        self.cert, key = makeCertificate(directory, days=2)
        self.server = openSSLServer(self, self.cert, key)
        self.target = f"localhost:{self.server.port}"

    def tls(self, *args: str) -> tuple[int, str, str, float]:
        """
        Run the client with C{--tls}, trusting the certificate.

        @return: Its status, stdout, stderr and seconds taken.
        """
        started = time.monotonic()
        result = runClient(["--tls", "--ca-file", str(self.cert), *args])
        elapsed = time.monotonic() - started
        return result.returncode, result.stdout, result.stderr, elapsed

    def test_expiryJudgedAtHandshake(self) -> None:
        """
        C{-D 3}: the certificate expires in 2.0 days, said at once (long
        before the 10 s timeout), in the default mode and C{--json}.
        """
        status, _, err, elapsed = self.tls("-D", "3", "-t", "10", self.target)
        self.assertEqual(status, 1, err)
        self.assertIn("certificate expires in 2.0 days", err)
        self.assertEqual(err.count("\n"), 1)
        self.assertLess(elapsed, 5)
        status, out, _, _ = self.tls("-D", "3", "--json", self.target)
        attempt = json.loads(out.splitlines()[0])
        self.assertEqual((status, attempt["kind"]), (1, "certificate"))

    def test_nagiosWarning(self) -> None:
        """
        C{--nagios -D 3,1}: WARNING for the certificate, without a welcome.
        """
        status, out, _, _ = self.tls("--nagios", "-D", "3,1", self.target)
        self.assertEqual(status, 1, out)
        self.assertIn("certificate expires in 2.0 days", out)

    def test_connectOnlyTLS(self) -> None:
        """
        C{--connect-only --tls}: open once the handshake (and its
        verification) is done.
        """
        status, out, err, _ = self.tls("--connect-only", self.target)
        self.assertEqual(
            (status, out), (0, "open: the port accepts connections\n"), err
        )


class ConnectOnlyTests(TestCase):
    """
    C{--connect-only} against plain TCP.
    """

    def test_silentPortIsOpen(self) -> None:
        """
        A port that accepts and says nothing is open: exit 0 at once, in
        every mode; a scan's state is C{open}.
        """
        target = f"127.0.0.1:{threadedServer(self, 'silent').port}"
        plain = runClient(["--connect-only", "-t", "5", target])
        self.assertEqual(
            (plain.returncode, plain.stdout),
            (0, "open: the port accepts connections\n"),
        )
        lines = runClient(["--connect-only", "--json", target])
        attempt = json.loads(lines.stdout.splitlines()[0])
        self.assertEqual(
            (lines.returncode, attempt["ok"], attempt["bytes"]), (0, True, 0)
        )
        nagios = runClient(["--connect-only", "--nagios", target])
        self.assertEqual(nagios.returncode, 0, nagios.stdout)
        count = runClient(["--connect-only", "-n", "1", target])
        self.assertIn(f"Open {target}: connect ", count.stdout)
        closed = freePort()
        scan = runClient(["--connect-only", "--json", f"{target},{closed}"])
        states = [json.loads(line).get("state") for line in scan.stdout.splitlines()]
        self.assertEqual(states[:2], ["open", "refused"])

    def test_notTheDefault(self) -> None:
        """
        Without it, a silent port is still no welcome.
        """
        target = f"127.0.0.1:{threadedServer(self, 'silent').port}"
        result = runClient(["-t", "0.5", target])
        self.assertEqual(result.returncode, 1)

    def test_refusedWithExpect(self) -> None:
        """
        C{--connect-only} with C{-e} is a usage error.
        """
        result = runClient(["--connect-only", "-e", "W", "h:1"])
        self.assertEqual(result.returncode, 2)
        self.assertIn("--connect-only waits for no welcome", result.stderr)
