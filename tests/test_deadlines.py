"""
Integration tests of the deadline before the welcome: the installed
C{twistd welcome} on loopback, with C{ssl:} and C{haproxy:} listeners, held
by silent and half-speaking clients while real clients are served.

Bounded in count and time (a short deadline keeps the whole run to seconds);
the heavier version runs in C{benchmarks/soak.py}.
"""

from __future__ import annotations

import re
import resource
import socket
import threading
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.hostileclients import (
    WELCOME,
    Tally,
    closeAll,
    descriptorCount,
    greetBehindProxy,
    greetOverTLS,
    holdOpen,
    waitClosedByServer,
)
from tests.support import ServerProcess, temporaryPath
from tests.test_hostile import _stats

DEADLINE = 2.0


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


class DeadlineTests(TestCase):
    """
    Silent clients on TLS and PROXY listeners are closed at the deadline,
    and never keep real clients from their welcome.
    """

    def setUp(self) -> None:
        """
        Let this process hold thousands of client sockets.
        """
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def startServer(self, *args: str) -> tuple[ServerProcess, int, int]:
        """
        Start the installed server with a TLS and a PROXY listener on
        loopback and a short deadline.

        @return: The server, its TLS port and its PROXY port.
        """
        certPath, keyPath = makeCertificate(Path(temporaryPath(self)))
        server = ServerProcess(
            [
                "--listen",
                f"ssl:0:interface=127.0.0.1:privateKey={keyPath}:certKey={certPath}",
                "--listen",
                "haproxy:tcp:0:interface=127.0.0.1",
                "--handshake-timeout",
                f"{DEADLINE:g}",
                *args,
            ],
            logFile="twistd.log",
        )
        self.addCleanup(server.kill)
        tlsAddress, proxyAddress = server.waitListening(2)
        server.waitRunning()
        return server, _port(tlsAddress), _port(proxyAddress)

    def stats(self, server: ServerProcess) -> dict[str, int]:
        """
        Stop the server and parse its final stats line.
        """
        server.stop()
        return _stats([line for line in server.output if "Stats: " in line][-1])

    def test_silentClientsClosedRealOnesGreeted(self) -> None:
        """
        1000 silent TLS clients, 1000 silent PROXY clients and 500 that send
        half a header are all closed within the deadline plus 2 s; meanwhile
        500 TLS and 500 PROXY clients are all greeted, each logged once.  The
        server's descriptors return to their count before, and its log has
        no traceback.  (The cap is raised above the silent clients, so that
        the deadline, not the cap, closes them.)
        """
        server, tlsPort, proxyPort = self.startServer("--max-handshakes", "3000")
        baseline = descriptorCount(server.pid)
        silent = holdOpen(tlsPort, 1000) + holdOpen(proxyPort, 1000)
        halfHeader = holdOpen(proxyPort, 500)
        held = silent + halfHeader
        self.addCleanup(closeAll, held)
        for s in halfHeader:
            s.sendall(b"PROXY TCP4 192.0.2.9 ")
        openedAt = time.monotonic()
        tlsAddresses: list[str] = []
        tallies: dict[str, Tally] = {}

        def greetReal() -> None:
            tallies["tls"] = greetOverTLS(tlsPort, 500, WELCOME, addresses=tlsAddresses)
            tallies["proxy"] = greetBehindProxy(proxyPort, 500, WELCOME)

        real = threading.Thread(target=greetReal)
        real.start()
        closed = waitClosedByServer(held, DEADLINE + 2)
        closedWithin = time.monotonic() - openedAt
        real.join(60)
        self.assertEqual(closed, len(held), f"{closed} closed in {closedWithin:.1f} s")
        self.assertEqual(tallies["tls"].outcomes, {"greeted": 500})
        self.assertEqual(tallies["proxy"].outcomes, {"greeted": 500})
        closeAll(held)
        deadline = time.monotonic() + 10
        while descriptorCount(server.pid) > baseline and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(descriptorCount(server.pid), baseline)
        stats = self.stats(server)
        log = "\n".join(server.output)
        self.assertNotIn("Traceback", log)
        welcomed = re.findall(r"Welcomed (\S+)", log)
        expected = tlsAddresses + [f"192.0.2.1:{10000 + i}" for i in range(500)]
        self.assertEqual(sorted(welcomed), sorted(expected))
        self.assertEqual(stats["served"], 1000)
        self.assertEqual(
            (stats["TLS handshake"], stats["PROXY header"], stats["errors"]),
            (1000, 1500, 0),
        )
        self.assertEqual(stats["unfinished"], 0)
        # One line, then a summary per interval, for each kind: not per client.
        deadlineLines = [
            line for line in server.output if "--handshake-timeout" in line
        ]
        self.assertLessEqual(len(deadlineLines), 6, deadlineLines)
        warnings = [
            line for line in server.output if "accepted from any address" in line
        ]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertNotIn("Starting factory", log)

    def test_capFullRealClientsGreeted(self) -> None:
        """
        With 200 silent TLS clients and C{--max-handshakes 50}, the oldest
        silent ones are closed to make room, before the deadline, and real
        clients are all greeted.
        """
        server, tlsPort, _ = self.startServer("--max-handshakes", "50")
        silent = holdOpen(tlsPort, 200)
        self.addCleanup(closeAll, silent)
        tally = greetOverTLS(tlsPort, 50, WELCOME)
        self.assertEqual(tally.outcomes, {"greeted": 50})
        self.assertEqual(waitClosedByServer(silent, DEADLINE + 2), 200)
        stats = self.stats(server)
        self.assertGreaterEqual(stats["max-handshakes"], 150)
        self.assertEqual(stats["max-handshakes"] + stats["TLS handshake"], 200)
        self.assertEqual(stats["served"], 50)
        caps = [line for line in server.output if "(--max-handshakes)" in line]
        self.assertLessEqual(len(caps), 3, caps)

    def test_proxyFromClosesOthersUnread(self) -> None:
        """
        With C{--proxy-from 127.0.0.1/32}, a proxy at 127.0.0.2 is closed
        at once, before its header is read, and counted as refused; one at
        127.0.0.1 gets its client greeted.  No start-up warning.
        """
        server, _, proxyPort = self.startServer("--proxy-from", "127.0.0.1/32")
        outsider = socket.socket()
        self.addCleanup(outsider.close)
        outsider.settimeout(10)
        outsider.bind(("127.0.0.2", 0))
        outsider.connect(("127.0.0.1", proxyPort))
        self.assertEqual(outsider.recv(100), b"")
        tally = greetBehindProxy(proxyPort, 5, WELCOME)
        self.assertEqual(tally.outcomes, {"greeted": 5})
        stats = self.stats(server)
        self.assertEqual((stats["proxy-from"], stats["served"]), (1, 5))
        log = "\n".join(server.output)
        self.assertIn("not in any --proxy-from network", log)
        self.assertNotIn("accepted from any address", log)

    def test_invalidHeaderClosedAndCounted(self) -> None:
        """
        A header whose address carries a terminal escape is closed
        unwelcomed and counted; the escape never reaches the log raw.
        """
        server, _, proxyPort = self.startServer()
        with socket.create_connection(("127.0.0.1", proxyPort), timeout=10) as s:
            s.sendall(b"PROXY TCP4 1.2.3.4\x1b[31m 5.6.7.8 1 2\r\n")
            self.assertEqual(s.recv(100), b"")
        stats = self.stats(server)
        self.assertEqual((stats["invalid PROXY headers"], stats["served"]), (1, 0))
        log = "\n".join(server.output)
        self.assertIn("invalid PROXY header (an address is not an IPv4 address)", log)
        self.assertNotIn("\x1b", log)
        self.assertNotIn("Welcomed", log)
