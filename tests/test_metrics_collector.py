"""
Tests for L{welcome_protocol.metrics.collector}: the metrics of a service
built on a L{MemoryReactorClock}, scraped from its metrics site in memory.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IProtocol, IProtocolFactory
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

import twisted
from tests.metricshelpers import (
    SampleKey,
    ThreadedMemoryReactor,
    scrapeInMemory,
    value,
)
from tests.support import parseServerOptions
from welcome_protocol import __version__
from welcome_protocol.greeting.server import WelcomeFactory, WelcomeProtocol
from welcome_protocol.metrics.collector import (
    COUNTERS,
    GAUGES,
    WelcomeCollector,
    gaugeFields,
)
from welcome_protocol.metrics.source import MetricsSource
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.tap import makeService


def _peer(port: int) -> IPv4Address:
    return IPv4Address("TCP", "192.0.2.9", port)


class _Service:
    """
    C{twistd welcome --metrics tcp:9112} started on a L{MemoryReactorClock}.
    """

    def __init__(self, case: TestCase, *args: str) -> None:
        self.reactor = ThreadedMemoryReactor()
        options = parseServerOptions(
            "--listen", "tcp:12000", "--metrics", "tcp:9112", *args
        )
        self.service = makeService(options, cast(Any, self.reactor))
        self.service.startService()
        case.addCleanup(self.service.stopService)
        servers = {port: factory for port, factory, _, _ in self.reactor.tcpServers}
        welcome = servers[12000]
        assert isinstance(welcome, WelcomeFactory)
        self.welcome = welcome
        self.site: IProtocolFactory = servers[9112]

    def connect(self, port: int) -> tuple[WelcomeProtocol, StringTransport]:
        """
        Connect a client to the welcome factory.
        """
        protocol = self.welcome.buildProtocol(_peer(port))
        assert isinstance(protocol, WelcomeProtocol)
        transport = StringTransport(peerAddress=_peer(port))
        protocol.makeConnection(transport)
        return protocol, transport

    def connectProxy(
        self, listener: int, port: int
    ) -> tuple[IProtocol, StringTransport]:
        """
        Connect a client to the PROXY-header listener on port C{listener}.
        """
        servers = {p: factory for p, factory, _, _ in self.reactor.tcpServers}
        protocol = servers[listener].buildProtocol(_peer(port))
        assert protocol is not None
        transport = StringTransport(peerAddress=_peer(port))
        protocol.makeConnection(transport)
        return protocol, transport

    def scrape(self) -> dict[SampleKey, float]:
        """
        @return: What C{GET /metrics} says now.
        """
        return scrapeInMemory(self.site)


class CollectorTests(TestCase):
    """
    The metrics follow the service's counters.
    """

    def test_everyLabelStartsAtZero(self) -> None:
        """
        Before any connection, every counter exists with every label value,
        at 0, so rates can be taken from the first scrape.
        """
        found = _Service(self).scrape()
        for outcome in ["served", "timed_out", "shutdown", "error"]:
            self.assertEqual(
                value(found, "welcome_connections_closed_total", outcome=outcome), 0
            )
        for reason in ["max_connections", "max_per_ip", "max_handshakes", "proxy_from"]:
            self.assertEqual(
                value(found, "welcome_connections_refused_total", reason=reason), 0
            )
        for result in ["ok", "failed"]:
            self.assertEqual(
                value(found, "welcome_message_reloads_total", result=result), 0
            )
        for name in [
            "welcome_connections_accepted_total",
            "welcome_connections_open",
            "welcome_connections_unfinished",
            "welcome_invalid_proxy_headers_total",
            "welcome_sent_bytes_total",
            "welcome_workers",
            "welcome_worker_restarts_total",
            "welcome_connection_duration_seconds_count",
        ]:
            self.assertEqual(value(found, name), 0, name)
        self.assertEqual(
            value(found, "welcome_accept_pauses_total", listener="tcp:12000"), 0
        )
        for phase in ["proxy_header", "tls_handshake"]:
            self.assertEqual(
                value(found, "welcome_handshake_timeouts_total", phase=phase), 0
            )

    def test_constants(self) -> None:
        """
        The connection limit and the versions are exported.
        """
        found = _Service(self, "--max-connections", "77").scrape()
        self.assertEqual(value(found, "welcome_max_connections"), 77)
        self.assertEqual(
            value(
                found,
                "welcome_build_info",
                version=__version__,
                twisted_version=twisted.__version__,
            ),
            1,
        )

    def test_connectionsCounted(self) -> None:
        """
        Served, refused, failed and open connections are counted under
        their labels, and each accepted one once.
        """
        service = _Service(self, "--max-connections", "2", "--keep-open")
        served, _ = service.connect(1)
        failed, _ = service.connect(2)
        service.connect(3)  # refused: two are open
        found = service.scrape()
        self.assertEqual(value(found, "welcome_connections_open"), 2)
        self.assertEqual(
            value(found, "welcome_connections_refused_total", reason="max_connections"),
            1,
        )
        served.connectionLost(Failure(ConnectionDone()))
        failed.connectionLost(Failure(ConnectionLost()))
        found = service.scrape()
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="served"), 1
        )
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="error"), 1
        )
        self.assertEqual(value(found, "welcome_connections_open"), 0)
        self.assertEqual(value(found, "welcome_connections_accepted_total"), 3)
        self.assertEqual(value(found, "welcome_sent_bytes_total"), 2 * len(b"Welcome!"))

    def test_timeoutCounted(self) -> None:
        """
        A connection closed by the idle timeout counts as C{timed_out}, and
        its duration lands in the bucket past the timeout.
        """
        service = _Service(self, "--keep-open", "--idle-timeout", "7")
        protocol, transport = service.connect(1)
        service.reactor.advance(7)
        self.assertTrue(transport.disconnecting)
        protocol.connectionLost(Failure(ConnectionDone()))
        found = service.scrape()
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="timed_out"), 1
        )
        bucket = "welcome_connection_duration_seconds_bucket"
        self.assertEqual(value(found, bucket, le="5.0"), 0)
        self.assertEqual(value(found, bucket, le="10.0"), 1)
        self.assertEqual(value(found, "welcome_connection_duration_seconds_sum"), 7)

    def test_handshakeDeadlineCounted(self) -> None:
        """
        A PROXY connection that has not sent its header is open and
        unfinished; once C{--handshake-timeout} passes it counts as a PROXY
        header timeout, and as accepted once, not open.
        """
        service = _Service(
            self, "--listen", "haproxy:tcp:12001", "--handshake-timeout", "4"
        )
        proxy, transport = service.connectProxy(12001, 1)
        proxy.dataReceived(b"PROXY TCP4 192.0.2.1 ")
        found = service.scrape()
        self.assertEqual(value(found, "welcome_connections_open"), 1)
        self.assertEqual(value(found, "welcome_connections_unfinished"), 1)
        service.reactor.advance(4)
        self.assertTrue(transport.disconnecting)
        proxy.connectionLost(Failure(ConnectionLost()))
        found = service.scrape()
        self.assertEqual(value(found, "welcome_connections_unfinished"), 0)
        self.assertEqual(value(found, "welcome_connections_open"), 0)
        self.assertEqual(
            value(found, "welcome_handshake_timeouts_total", phase="proxy_header"), 1
        )
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="error"), 0
        )
        self.assertEqual(value(found, "welcome_connections_accepted_total"), 1)

    def test_invalidHeaderCounted(self) -> None:
        """
        A PROXY header naming an impossible address is counted, and the
        connection is accepted once.
        """
        service = _Service(self, "--listen", "haproxy:tcp:12001")
        proxy, transport = service.connectProxy(12001, 1)
        proxy.dataReceived(b"PROXY TCP4 1.2.3.4\x1b[31m 5.6.7.8 1 2\r\n")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)
        proxy.connectionLost(Failure(ConnectionDone()))
        found = service.scrape()
        self.assertEqual(value(found, "welcome_invalid_proxy_headers_total"), 1)
        self.assertEqual(value(found, "welcome_connections_accepted_total"), 1)
        self.assertEqual(value(found, "welcome_sent_bytes_total"), 0)

    def test_bucketsPastLongIdleTimeout(self) -> None:
        """
        With an idle timeout past the largest default bucket, one more
        bucket at twice the timeout holds the connections it ends.
        """
        found = _Service(self, "--idle-timeout", "7200").scrape()
        self.assertIn(
            ("welcome_connection_duration_seconds_bucket", (("le", "14400.0"),)),
            found,
        )

    def test_oneInfiniteBucketAtEveryIdleTimeout(self) -> None:
        """
        At the smallest and largest idle timeouts accepted, and with none,
        the duration histogram has one C{+Inf} bucket, after finite bounds
        that ascend: valid exposition.
        """
        for timeout in ["0", "0.001", "604800"]:
            found = _Service(self, "--idle-timeout", timeout).scrape()
            bounds = [
                dict(labels)["le"]
                for name, labels in found
                if name == "welcome_connection_duration_seconds_bucket"
            ]
            self.assertEqual(bounds.count("+Inf"), 1, (timeout, bounds))
            finite = [float(bound) for bound in bounds if bound != "+Inf"]
            self.assertEqual(finite, sorted(set(finite)), timeout)


class TableTests(TestCase):
    """
    The declarations of L{COUNTERS} and L{GAUGES} are consistent.
    """

    def test_fieldsExist(self) -> None:
        """
        Every declared field is a field of L{ServerStats}.
        """
        stats = ServerStats(0.0)
        for metric in COUNTERS + GAUGES:
            for field in metric.fields.values():
                self.assertIsInstance(getattr(stats, field), int, metric.name)

    def test_counterNames(self) -> None:
        """
        Counters end in C{_total}; gauges do not.
        """
        for metric in COUNTERS:
            self.assertTrue(metric.name.endswith("_total"), metric.name)
        for metric in GAUGES:
            self.assertFalse(metric.name.endswith("_total"), metric.name)
        self.assertEqual(gaugeFields(), {f for m in GAUGES for f in m.fields.values()})

    def test_workersSource(self) -> None:
        """
        The worker gauges and the per-listener pauses come from the source.
        """
        source = MetricsSource(
            ServerStats(0.0),
            lambda: 5,
            20,
            workers=lambda: 2,
            workerRestarts=lambda: 3,
            acceptPauses=[("tcp:1", lambda: 4), ("tcp:2", lambda: 0)],
        )
        found = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in WelcomeCollector(source).collect()
            for sample in family.samples
        }
        self.assertEqual(value(found, "welcome_workers"), 2)
        self.assertEqual(value(found, "welcome_worker_restarts_total"), 3)
        self.assertEqual(value(found, "welcome_connections_open"), 5)
        self.assertEqual(value(found, "welcome_connections_accepted_total"), 5)
        self.assertEqual(
            value(found, "welcome_accept_pauses_total", listener="tcp:1"), 4
        )
        self.assertEqual(
            value(found, "welcome_accept_pauses_total", listener="tcp:2"), 0
        )
