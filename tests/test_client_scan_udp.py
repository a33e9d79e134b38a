"""
Tests for L{welcome_protocol.client.scan.udpscan} and C{welcome-client
--udp} over many ports: the pacing of probes, the options, and a scan of a
real C{udp:} range on loopback by the installed client.
"""

from __future__ import annotations

import json
import os

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.support import ServerProcess, freePortRange, runClient
from welcome_protocol.client.options import Options
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.scan.udpscan import Pacer


def _started(clock: Clock, log: list[float]) -> Deferred[ProbeResult]:
    log.append(clock.seconds())
    return succeed(ProbeResult(None, "ok"))


class PacerTests(TestCase):
    """
    L{Pacer} spaces the starts of probes by the rate.
    """

    def test_spaced(self) -> None:
        """
        At 10 a second, three probes start at 0, 0.1 and 0.2 s, and each
        result reaches its caller.
        """
        clock = Clock()
        pacer = Pacer(clock, 10, clock.seconds)
        log: list[float] = []
        results: list[ProbeResult] = []
        for _ in range(3):
            pacer.paced(lambda: _started(clock, log)).addCallback(results.append)
        self.assertEqual(log, [0.0])
        clock.advance(0.1)
        clock.advance(0.1)
        self.assertEqual(log, [0.0, 0.1, 0.2])
        self.assertEqual(len(results), 3)

    def test_cancelWaiting(self) -> None:
        """
        Cancelling a probe still waiting for its turn means it never starts.
        """
        clock = Clock()
        pacer = Pacer(clock, 1, clock.seconds)
        log: list[float] = []
        pacer.paced(lambda: _started(clock, log))
        waiting = pacer.paced(lambda: _started(clock, log))
        waiting.cancel()
        self.failureResultOf(waiting, CancelledError)
        clock.advance(5)
        self.assertEqual(log, [0.0])


class OptionsTests(TestCase):
    """
    A UDP scan's options, and what is refused in one line.
    """

    def test_udpScan(self) -> None:
        """
        C{--udp --ports 1-1024} is a scan of 1,024 UDP checks, at the
        default rate.
        """
        options = Options()
        options.parseOptions(["--udp", "--ports", "1-1024", "192.0.2.1"])
        plan = options["scan"]
        self.assertEqual(len(plan), 1024)
        self.assertEqual({c.transport for c in plan.checks()}, {"udp"})
        self.assertEqual(options["rate"], 1000)

    def test_rateOutOfRange(self) -> None:
        """
        C{--rate} takes 1 to 100000.
        """
        for value in ("0", "100001", "x"):
            options = Options()
            with self.assertRaises(Exception) as caught:
                options.parseOptions(
                    ["--udp", "--rate", value, "--ports", "1-2", "192.0.2.1"]
                )
            self.assertEqual(
                str(caught.exception),
                f"--rate must be an integer from 1 to 100000, not {value!r}",
            )

    def test_networkRefused(self) -> None:
        """
        A CIDR target is refused, in one line, as a network, not reported
        as a name that does not resolve.
        """
        options = Options()
        with self.assertRaises(Exception) as caught:
            options.parseOptions(["--udp", "--ports", "1-2", "192.0.2.0/30"])
        self.assertEqual(
            str(caught.exception),
            "'192.0.2.0/30': '192.0.2.0/30' is not a valid host name: it is a "
            "network (CIDR), not a host: name each host to check",
        )


class UDPScanTests(TestCase):
    """
    The installed client scans the installed server's UDP ports.
    """

    def test_scanStates(self) -> None:
        """
        Each port of a C{udp:} listener is welcomed with its own number, a
        port with nothing on it is refused, and the JSON names the
        transport and the tries; a targets file works in UDP mode too.
        """
        first = freePortRange(4)
        server = ServerProcess(
            [
                "--listen",
                f"udp:{first}-{first + 2}:interface=127.0.0.1",
                "--message",
                "{server_port}",
            ]
        )
        self.addCleanup(server.kill)
        server.waitListening()
        ports = f"{first}-{first + 3}"
        result = runClient(["--udp", "--json", "-t", "2", f"127.0.0.1:{ports}"])
        objects = [json.loads(line) for line in result.stdout.splitlines()]
        states = {o["port"]: (o["state"], o["welcome"]) for o in objects[:-1]}
        self.assertEqual(
            states,
            {
                first: ("welcomed", str(first)),
                first + 1: ("welcomed", str(first + 1)),
                first + 2: ("welcomed", str(first + 2)),
                first + 3: ("refused", None),
            },
        )
        self.assertEqual({o["transport"] for o in objects[:-1]}, {"udp"})
        self.assertEqual(result.returncode, 1)
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write(f"127.0.0.1:{first}-{first + 2}\n")
        table = runClient(["--udp", "--targets-file", path, "-t", "2"])
        self.assertEqual(table.returncode, 0, table.stdout + table.stderr)
        self.assertIn("3 ports on 1 host", table.stdout)
