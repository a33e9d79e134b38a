"""
End-to-end test: the installed C{welcome-client --udp} does not count an
empty reply as a welcome, in any output mode.
"""

from __future__ import annotations

import json
import socket
import threading

from twisted.trial.unittest import TestCase

from tests.support import runClient


def emptyReplier(case: TestCase) -> int:
    """
    A UDP port on 127.0.0.1 that answers every datagram with an empty one.

    @return: The port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                _, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            sock.sendto(b"", peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    case.addCleanup(sock.close)
    case.addCleanup(thread.join, 5)
    case.addCleanup(stop.set)
    port: int = sock.getsockname()[1]
    return port


class EmptyReplyTests(TestCase):
    """
    An empty datagram proves the path, not a welcome.
    """

    def test_everyMode(self) -> None:
        """
        Exit 1 with one line; C{--json} C{"ok": false}; C{--nagios}
        CRITICAL.
        """
        target = f"127.0.0.1:{emptyReplier(self)}"
        plain = runClient(["--udp", "-t", "2", target])
        self.assertEqual(plain.returncode, 1)
        self.assertEqual(
            plain.stderr,
            f"welcome-client: {target}/udp replied with an empty datagram: "
            "no welcome\n",
        )
        lines = runClient(["--udp", "-t", "2", "--json", target])
        attempt = json.loads(lines.stdout.splitlines()[0])
        self.assertEqual(
            (lines.returncode, attempt["ok"], attempt["kind"]),
            (1, False, "closed_without_welcome"),
        )
        nagios = runClient(["--udp", "-t", "2", "--nagios", target])
        self.assertEqual(nagios.returncode, 2, nagios.stdout)
        self.assertEqual(nagios.stdout.count("\n"), 1)
