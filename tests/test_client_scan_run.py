"""
Tests for L{welcome_protocol.client.scan.run}: a whole scan, as C{main}
runs it, against real welcome servers on loopback.
"""

from __future__ import annotations

import datetime
import io
import json
import socket
from typing import cast

from twisted.internet import reactor as globalReactor
from twisted.internet.address import IPv4Address
from twisted.trial.unittest import TestCase

from welcome_protocol.client.options import EXIT_FAILED, EXIT_OK
from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.client.script import parseArguments, run
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.server import WelcomeFactory


def utcNow() -> datetime.datetime:
    """
    A fixed wall clock.
    """
    return datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


class ScanRunTests(TestCase):
    """
    L{run} with a port list, over real sockets.
    """

    def setUp(self) -> None:
        factory = WelcomeFactory(ServerSettings(logConnections=False))
        self.open = []
        for _ in range(4):
            port = globalReactor.listenTCP(0, factory, interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            address = port.getHost()
            assert isinstance(address, IPv4Address)
            self.open.append(address.port)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.closed = s.getsockname()[1]

    async def scan(self, *argv: str) -> tuple[int, str]:
        """
        Run the client with C{argv}; return its status and stdout.
        """
        stdout = io.StringIO()
        config = parseArguments(argv, io.StringIO())
        assert config is not None and config["scan"] is not None
        status = await run(
            cast(ClientReactor, globalReactor), config, stdout, io.StringIO()
        )
        return status, stdout.getvalue()

    async def test_welcomedAndClosed(self) -> None:
        """
        The open ports are welcomed, the closed one refused and expected
        so: status 0, one JSON line per port and the summary.
        """
        ports = ",".join(map(str, self.open))
        status, out = await self.scan(
            "--json", f"127.0.0.1:{ports}", "--expect-closed", str(self.closed)
        )
        self.assertEqual(status, EXIT_OK)
        objects = [json.loads(line) for line in out.splitlines()]
        states = {o["port"]: o["state"] for o in objects[:-1]}
        self.assertEqual(
            states, {**{p: "welcomed" for p in self.open}, self.closed: "refused"}
        )
        self.assertEqual(objects[-1]["as_expected"], 5)

    async def test_unexpectedFails(self) -> None:
        """
        A closed port that should welcome: status 1, and the table says so.
        """
        status, out = await self.scan(
            "--parallel", "1", "127.0.0.1", "--ports", f"{self.open[0]},{self.closed}"
        )
        self.assertEqual(status, EXIT_FAILED)
        self.assertIn("connection refused  <- expected a welcome", out)
        self.assertIn("2 ports on 1 host in", out)

    async def test_nagios(self) -> None:
        """
        C{--nagios}: the status is the plugin's state.
        """
        status, out = await self.scan(
            "--nagios", f"127.0.0.1:{self.closed},{self.open[0]}"
        )
        self.assertEqual(status, 2)
        self.assertTrue(
            out.startswith("WELCOME CRITICAL - 1 of 2 ports not as expected")
        )
