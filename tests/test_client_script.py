"""
Tests for L{welcome_protocol.client.script}: each mode end to end in memory,
with a fake clock for time and for the monotonic timer.
"""

from __future__ import annotations

import datetime
import io
import json

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IProtocol, IProtocolFactory
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.test_client_probe import StringEndpoint
from welcome_protocol.client.probe import WelcomeClientProtocol
from welcome_protocol.client.script import ClientRun, parseArguments

CONNECT = 1 / 512
WELCOME = 1 / 256
"""
The fake server's delays: powers of two, so the fake clock adds them exactly.
"""
LINE = "Welcome from 127.0.0.1:12000"
STAMP = "2030-01-01T00:00:00.000Z"
"""
The time on each C{--count} line, by the tests' wall clock.
"""
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


class ClientRunTests(TestCase):
    """
    L{ClientRun} over in-memory connections.
    """

    def start(
        self, *argv: str, refuse: bool = False
    ) -> tuple[ClientRun, Deferred[int], io.StringIO, io.StringIO]:
        """
        Start a run with C{argv} against a server that greets each
        connection in L{CONNECT} seconds, then sends C{Welcome!} L{WELCOME}
        seconds later (or refuses).
        """
        config = parseArguments([*argv, "127.0.0.1:12000"], io.StringIO())
        assert config is not None
        self.clock = Clock()
        clock = self.clock
        self.out, self.err = io.StringIO(), io.StringIO()

        class GreetingEndpoint(StringEndpoint):
            def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
                if refuse:
                    self.error = ConnectionRefusedError()
                    return super().connect(factory)
                self.transport = type(self.transport)(
                    peerAddress=IPv4Address("TCP", "127.0.0.1", 12000)
                )
                clock.advance(CONNECT)
                d = super().connect(factory)
                proto = self.protocol
                assert isinstance(proto, WelcomeClientProtocol)
                clock.callLater(WELCOME, proto.dataReceived, b"Welcome!")
                return d

        run = ClientRun.overEndpoint(
            clock,
            config,
            self.out,
            self.err,
            GreetingEndpoint(),
            now=clock.seconds,
            wallClock=lambda: NOW,
        )
        return run, run.start(), self.out, self.err

    def elapse(self, seconds: float) -> None:
        """
        Let C{seconds} pass on the fake clock, 1/1024 s at a time.
        """
        self.clock.pump([1 / 1024] * round(seconds * 1024))

    def test_countLinesAndSummary(self) -> None:
        """
        C{--count 2}: a line per attempt with the connect and welcome times
        measured apart, then the summary; status 0.
        """
        _, done, out, _ = self.start("--count", "2", "--interval", "1")
        self.elapse(3)
        self.assertEqual(self.successResultOf(done), 0)
        self.assertEqual(
            out.getvalue().splitlines(),
            [
                f"[{STAMP}] {LINE}: 8 bytes, connect 1.95 ms, welcome 3.91 ms",
                f"[{STAMP}] {LINE}: 8 bytes, connect 1.95 ms, welcome 3.91 ms",
                "",
                "--- 127.0.0.1:12000 welcome statistics ---",
                "2 attempts, 2 welcomed, 0.0% failed",
                "time to welcome min/avg/max/mdev = 5.859/5.859/5.859/0.000 ms",
            ],
        )

    def test_interruptPrintsSummary(self) -> None:
        """
        Interrupting C{--count 0} prints the summary of the attempts made;
        status 1 when one failed.
        """
        run, done, out, _ = self.start("--count", "0", refuse=True)
        self.elapse(2.5)
        run.interrupt()
        self.assertEqual(self.successResultOf(done), 1)
        lines = out.getvalue().splitlines()
        self.assertEqual(lines[-1], "3 attempts, 0 welcomed, 100.0% failed")
        self.assertEqual(
            lines[0],
            f"[{STAMP}] No welcome from 127.0.0.1:12000: connection refused",
        )

    def test_jsonOneAttempt(self) -> None:
        """
        C{--json} alone: one attempt object, then the summary.
        """
        _, done, out, _ = self.start("--json")
        self.elapse(1)
        self.assertEqual(self.successResultOf(done), 0)
        attempt, summary = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertEqual(
            (attempt["connect_seconds"], attempt["welcome_seconds"]),
            (round(CONNECT, 6), round(WELCOME, 6)),
        )
        self.assertEqual(summary["welcomed"], 1)

    def test_nagiosStates(self) -> None:
        """
        C{--nagios}: the status is the plugin's state.  (A welcome that
        does not match is read until the timeout, as C{check_tcp -e} reads.)
        """
        _, done, out, _ = self.start("--nagios", "-e", "Nope", "-M", "crit", "-t", "2")
        self.elapse(2)
        self.assertEqual(self.successResultOf(done), 2)
        self.assertTrue(
            out.getvalue().startswith("WELCOME CRITICAL - unexpected welcome")
        )
        _, done, out, _ = self.start("--nagios", "-r", "warn", refuse=True)
        self.assertEqual(self.successResultOf(done), 1)

    def test_defaultModeUnchanged(self) -> None:
        """
        Without a mode, the welcome is printed alone; status 0.
        """
        run, done, out, err = self.start()
        self.elapse(1)
        self.assertEqual(self.successResultOf(done), 0)
        self.assertEqual((out.getvalue(), err.getvalue()), ("Welcome!\n", ""))
        self.assertFalse(run.repeating)
