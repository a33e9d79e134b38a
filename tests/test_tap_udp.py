"""
Tests for the UDP parts of L{welcome_protocol.tap}: C{--listen udp:} and the
C{--udp-*} options on the command line, and the services they make.
"""

from __future__ import annotations

from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.support import parseServerOptions
from tests.test_udp_listener import UDPMemoryReactor
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.tap import makeService
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol
from welcome_protocol.udp.ratelimit import RateLimit


class UDPOptionsTests(TestCase):
    """
    C{twistd welcome} takes C{udp:} listeners and their limits.
    """

    def test_noUDPUnlessAsked(self) -> None:
        """
        By default, nothing listens on UDP.
        """
        reactor = UDPMemoryReactor()
        service = makeService(parseServerOptions(), cast(Any, reactor))
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual(reactor.udpServers, [])

    def test_udpBesideTCP(self) -> None:
        """
        C{udp:} listeners are repeatable and sit beside TCP ones; the TCP
        listener is not given the UDP descriptions; the UDP listeners share
        the factory's counters and one rate limiter.
        """
        options = parseServerOptions(
            "--listen",
            "tcp:12000",
            "--listen",
            "udp:12000",
            "--listen",
            "udp:12001:interface=\\:\\:1",
        )
        reactor = UDPMemoryReactor()
        service = makeService(options, cast(Any, reactor))
        service.startService()
        self.addCleanup(service.stopService)
        self.assertEqual([port for port, *_ in reactor.tcpServers], [12000])
        self.assertEqual(
            [(port, interface) for port, _, interface, _ in reactor.udpServers],
            [(12000, ""), (12001, "::1")],
        )
        protocol = reactor.udpServers[0][1]
        assert isinstance(protocol, WelcomeDatagramProtocol)
        factory = reactor.tcpServers[0][1]
        assert isinstance(factory, WelcomeFactory)
        self.assertIs(protocol.stats, factory.stats)
        other = reactor.udpServers[1][1]
        assert isinstance(other, WelcomeDatagramProtocol)
        self.assertIs(protocol._limiter, other._limiter)

    def test_limitsReachSettings(self) -> None:
        """
        The C{--udp-*} options are in the settings.
        """
        settings = parseServerOptions(
            "--listen", "udp:1", "--udp-rate", "5", "--udp-burst", "10"
        ).settings.datagrams
        self.assertEqual(settings.perPrefix, RateLimit(5.0, 10))

    def test_badUDPDescription(self) -> None:
        """
        A bad C{udp:} description is a usage error naming it and the reason.
        """
        with self.assertRaises(usage.UsageError) as caught:
            parseServerOptions("--listen", "udp:12000:interface=example.com")
        self.assertEqual(
            str(caught.exception),
            "--listen 'udp:12000:interface=example.com': interface must be an "
            "IP address, not 'example.com'",
        )

    def test_workersRefused(self) -> None:
        """
        C{--workers} with a C{udp:} listener is a one-line usage error: each
        worker would have rate limits of its own.
        """
        with self.assertRaises(usage.UsageError) as caught:
            parseServerOptions(
                "--workers", "2", "--listen", "tcp:1", "--listen", "udp:1"
            )
        self.assertEqual(
            str(caught.exception),
            "--workers cannot serve a udp: listener: its rate limits must see "
            "every datagram in one process",
        )

    @settings(deadline=None)
    @given(
        st.integers(0, 65535),
        st.sampled_from(["", "127.0.0.1", "::1", "::", "0.0.0.0"]),
    )
    def test_anyValidUDPDescription(self, port: int, interface: str) -> None:
        """
        Any port with any IP address as interface is accepted as written.
        """
        description = f"udp:{port}" + (f":interface={interface}" if interface else "")
        self.assertEqual(
            parseServerOptions("--listen", description).settings.listen,
            (description,),
        )

    @settings(deadline=None)
    @given(st.text(min_size=0, max_size=20))
    def test_anyTextAfterUDPNamed(self, rest: str) -> None:
        """
        Whatever follows C{udp:}, it is accepted or refused with a usage
        error naming the description; nothing else escapes.
        """
        description = f"udp:{rest}"
        try:
            parseServerOptions("--listen", description)
        except usage.UsageError as e:
            self.assertTrue(str(e).startswith(f"--listen {description!r}: "), str(e))
