"""
Tests for L{welcome_protocol.client.checking}: one probe with its checks,
the entry point every mode (and a probe exporter) uses.
"""

from __future__ import annotations

import datetime

from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.client.checking import CheckSpec, checkOnce
from welcome_protocol.client.checks import MISMATCH
from welcome_protocol.client.expectations import Expectations
from welcome_protocol.client.options import Options
from welcome_protocol.client.probe import ProbeResult

SERVER = IPv4Address("TCP", "127.0.0.1", 12000)
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


@implementer(IStreamClientEndpoint)
class GreetingEndpoint:
    """
    Connect in memory; the server sends C{welcome} and hangs up at once.
    """

    def __init__(self, welcome: bytes | None) -> None:
        self.welcome = welcome
        self.transport = StringTransport(peerAddress=SERVER)

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect; send the welcome and close, or (for L{None}) stay silent.
        """
        proto = factory.buildProtocol(SERVER)
        assert proto is not None
        proto.makeConnection(self.transport)
        if self.welcome is not None:
            proto.dataReceived(self.welcome)
            proto.connectionLost(Failure(ConnectionDone()))
        return succeed(proto)


class CheckOnceTests(TestCase):
    """
    L{checkOnce} probes one endpoint and applies the spec's checks.
    """

    def check(
        self, welcome: bytes | None, spec: CheckSpec, clock: Clock | None = None
    ) -> Deferred[ProbeResult]:
        """
        Check a L{GreetingEndpoint} sending C{welcome}.
        """
        clock = clock or Clock()
        return checkOnce(
            clock,
            GreetingEndpoint(welcome),
            spec,
            now=clock.seconds,
            wallClock=lambda: NOW,
        )

    def test_welcomePasses(self) -> None:
        """
        A welcome that meets the expectations is a result with no kind.
        """
        spec = CheckSpec(label="h:1", expectations=Expectations(texts=("Wel",)))
        result = self.successResultOf(self.check(b"Welcome!\n", spec))
        self.assertEqual((result.ok, result.welcome), (True, b"Welcome!\n"))

    def test_mismatchIsAKind(self) -> None:
        """
        A welcome that misses an expectation is a C{mismatch} naming the
        label.
        """
        spec = CheckSpec(label="h:1", expectations=Expectations(texts=("Hi",)))
        result = self.successResultOf(self.check(b"Welcome!\n", spec))
        self.assertEqual(result.kind, MISMATCH)
        self.assertIn("h:1", result.message)

    def test_timeoutAndCancel(self) -> None:
        """
        The spec's timeout bounds the probe; cancelling errbacks with
        L{CancelledError}.
        """
        clock = Clock()
        spec = CheckSpec(label="h:1", timeout=0.5)
        d = self.check(None, spec, clock)
        clock.advance(0.5)
        self.assertEqual(self.successResultOf(d).kind, "timeout")
        d = self.check(None, spec, clock)
        d.cancel()
        self.failureResultOf(d, CancelledError)

    def test_fromOptions(self) -> None:
        """
        C{welcome-client}'s options make the spec.
        """
        config = Options()
        config.parseOptions(["-e", "Wel", "-t", "3", "--max-bytes", "9", "h:1"])
        spec = CheckSpec.fromOptions(config, "h:1")
        self.assertEqual(
            (spec.label, spec.timeout, spec.maxBytes, spec.expectations.texts),
            ("h:1", 3, 9, ("Wel",)),
        )
