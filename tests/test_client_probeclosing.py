"""
Tests for L{welcome_protocol.client.probe}: a probe that aborts its
connection delivers its result once the socket is closed, so that a scan at
its C{--parallel} ceiling never holds one descriptor more than it counts.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
    ITCPTransport,
)
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import alsoProvides, implementer

from welcome_protocol.client.probe import TIMEOUT, ProbeResult, probe

SERVER = IPv4Address("TCP", "127.0.0.1", 12000)


class AbortLaterTransport(StringTransport):
    """
    A TCP-like transport whose C{abortConnection}, like Twisted's, closes
    the socket later (when L{close} is called), not at once.  Each instance
    provides L{ITCPTransport}, as the probe asks before aborting.
    """

    def __init__(self, peerAddress: IPv4Address) -> None:
        super().__init__(peerAddress=peerAddress)
        alsoProvides(self, ITCPTransport)

    aborting = False

    def abortConnection(self) -> None:
        """
        Note the abort; the connection is lost when L{close} is called.
        """
        self.aborting = True

    def close(self, protocol: Protocol) -> None:
        """
        The reactor's next turn: the socket closes, the protocol hears it.
        """
        protocol.connectionLost(Failure(ConnectionAborted()))


@implementer(IStreamClientEndpoint)
class TCPLikeEndpoint:
    """
    Connect at once to an L{AbortLaterTransport}.
    """

    def __init__(self) -> None:
        self.transport = AbortLaterTransport(peerAddress=SERVER)
        self.protocol: Protocol | None = None

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect in memory.
        """
        proto = factory.buildProtocol(SERVER)
        assert isinstance(proto, Protocol)
        self.protocol = proto
        proto.makeConnection(self.transport)
        return succeed(proto)


class AbortedProbeTests(TestCase):
    """
    A timed-out probe's result waits for its socket to close.
    """

    def test_timeoutWaitsForClose(self) -> None:
        """
        The deadline aborts a silent connection; the result fires only
        once the connection is lost.
        """
        clock = Clock()
        endpoint = TCPLikeEndpoint()
        d = probe(endpoint, clock, "127.0.0.1:12000", timeout=2, now=clock.seconds)
        clock.advance(2)
        self.assertTrue(endpoint.transport.aborting)
        self.assertNoResult(d)
        assert endpoint.protocol is not None
        endpoint.transport.close(endpoint.protocol)
        result: ProbeResult = self.successResultOf(d)
        self.assertEqual(result.kind, TIMEOUT)
        self.assertEqual(result.reason, "no welcome within 2 s")
