"""
Tests for C{--metrics-deadline} (L{welcome_protocol.metrics.deadline}): the
metrics port's request deadline, from the option to the site and to the
guard before a TLS handshake or PROXY header.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IProtocolFactory
from twisted.internet.testing import StringTransport
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.metricshelpers import ThreadedMemoryReactor
from tests.support import parseServerOptions
from welcome_protocol.metrics.boundedhttp import BoundedSite
from welcome_protocol.metrics.deadline import MAX_REQUEST_DEADLINE, REQUEST_DEADLINE
from welcome_protocol.tap import makeService


def _metricsSite(*args: str) -> IProtocolFactory:
    """
    @return: The factory C{twistd welcome --metrics tcp:9112 ARGS} listens
        with on its metrics port, started on a memory reactor.
    """
    reactor = ThreadedMemoryReactor()
    options = parseServerOptions(
        "--listen", "tcp:12000", "--metrics", "tcp:9112", *args
    )
    service = makeService(options, cast(Any, reactor))
    service.startService()
    servers = {port: factory for port, factory, _, _ in reactor.tcpServers}
    service.stopService()
    return servers[9112]


class MetricsDeadlineOptionTests(TestCase):
    """
    C{--metrics-deadline} sets how long a metrics connection may last.
    """

    def test_default(self) -> None:
        """
        Without the option, the deadline is L{REQUEST_DEADLINE}, 5 s.
        """
        self.assertEqual(
            parseServerOptions().settings.metricsDeadline, REQUEST_DEADLINE
        )
        site = _metricsSite()
        assert isinstance(site, BoundedSite)
        self.assertEqual(site.requestDeadline, 5.0)

    def test_passedToTheSite(self) -> None:
        """
        The option's seconds are the site's request deadline.
        """
        site = _metricsSite("--metrics-deadline", "0.25")
        assert isinstance(site, BoundedSite)
        self.assertEqual(site.requestDeadline, 0.25)

    def test_boundedBeforeTheHeaderToo(self) -> None:
        """
        On a C{haproxy:} metrics port, the connection is under the same
        deadline before its PROXY header: the guard aborts a silent one then.
        """
        reactor = ThreadedMemoryReactor()
        options = parseServerOptions(
            "--listen",
            "tcp:12000",
            "--metrics",
            "haproxy:tcp:9112",
            "--metrics-deadline",
            "0.25",
        )
        service = makeService(options, cast(Any, reactor))
        service.startService()
        self.addCleanup(service.stopService)
        servers = {port: factory for port, factory, _, _ in reactor.tcpServers}
        peer = IPv4Address("TCP", "192.0.2.9", 40000)
        protocol = servers[9112].buildProtocol(peer)
        assert protocol is not None
        transport = StringTransport(peerAddress=peer)
        protocol.makeConnection(transport)
        reactor.advance(0.2)
        self.assertFalse(transport.disconnecting)
        reactor.advance(0.1)
        self.assertTrue(transport.disconnecting or transport.disconnected)

    def test_outOfRangeRefused(self) -> None:
        """
        0 (a port without a deadline), a negative number, more than
        L{MAX_REQUEST_DEADLINE} and text are usage errors naming the option.
        """
        for bad in ["0", "-1", f"{MAX_REQUEST_DEADLINE + 1:g}", "soon"]:
            with self.assertRaises(usage.UsageError) as raised:
                parseServerOptions("--metrics-deadline", bad)
            self.assertIn("--metrics-deadline", str(raised.exception))
