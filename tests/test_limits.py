"""
Tests for L{welcome_protocol.admission.limits}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from welcome_protocol.admission.limits import (
    MAX_CONNECTIONS,
    MAX_PER_IP,
    ConnectionLimits,
    peerHost,
)
from welcome_protocol.shared.stats import ServerStats


def _addr(host: str, port: int = 1) -> IPv4Address:
    return IPv4Address("TCP", host, port)


class ConnectionLimitsTests(TestCase):
    """
    L{ConnectionLimits} admits up to its limits and logs refusals sparingly.
    """

    def test_totalLimit(self) -> None:
        """
        N connections are admitted, the N+1st refused; releasing one admits
        the next.
        """
        stats = ServerStats(0)
        limits = ConnectionLimits(3, None, stats, Clock())
        for port in range(3):
            self.assertIsNone(limits.admit(_addr("192.0.2.1", port)))
        self.assertEqual(limits.admit(_addr("192.0.2.1", 9)), MAX_CONNECTIONS)
        self.assertEqual(stats.refusedMaxConnections, 1)
        limits.release(_addr("192.0.2.1", 0))
        self.assertIsNone(limits.admit(_addr("192.0.2.1", 10)))
        self.assertEqual(limits.open, 3)

    def test_perIPLimit(self) -> None:
        """
        The per-address limit counts each address apart and forgets an
        address with nothing open.
        """
        stats = ServerStats(0)
        limits = ConnectionLimits(100, 1, stats, Clock())
        self.assertIsNone(limits.admit(_addr("192.0.2.1")))
        self.assertEqual(limits.admit(_addr("192.0.2.1", 2)), MAX_PER_IP)
        self.assertIsNone(limits.admit(_addr("192.0.2.2")))
        limits.release(_addr("192.0.2.1"))
        self.assertEqual(limits.perHost, {"192.0.2.2": 1})
        self.assertEqual((stats.refusedMaxPerIP, limits.open), (1, 1))

    def test_refusalsLoggedAtMostOncePerInterval(self) -> None:
        """
        A flood of refusals logs one line naming the limit and the client,
        then one line with the count.
        """
        clock = Clock()
        limits = ConnectionLimits(1, None, ServerStats(0), clock, logInterval=10)
        limits.admit(_addr("192.0.2.1"))
        with capturedLogs() as events:
            for port in range(500):
                limits.admit(_addr("192.0.2.9", port))
            clock.advance(10)
        self.assertEqual(
            [formatEvent(e) for e in events],
            [
                "Refused a connection from 192.0.2.9:0: 1 open (--max-connections)",
                "Refused 499 more connections in the last 10 s: 1 open "
                "(--max-connections)",
            ],
        )

    def test_peerHost(self) -> None:
        """
        L{peerHost} gives the IP of IPv4 and IPv6 peers, None for others.
        """
        self.assertEqual(peerHost(_addr("192.0.2.1")), "192.0.2.1")
        self.assertEqual(peerHost(IPv6Address("TCP", "::1", 1)), "::1")
        self.assertIsNone(peerHost(UNIXAddress(b"/sock")))
        self.assertIsNone(peerHost(None))

    def test_peerHostOneKeyPerHost(self) -> None:
        """
        However a host's address is written, it has one key: an IPv4 address
        mapped into IPv6 is the IPv4 address (as a dual-stack listener or a
        version 2 PROXY header gives it, in any spelling), and an IPv6
        address is in its short form.
        """
        for host, key in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("0:0:0:0:0:ffff:7f00:1", "127.0.0.1"),
            ("::FFFF:192.0.2.7", "192.0.2.7"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("2001:db8::1", "2001:db8::1"),
            # IPv4-compatible (deprecated) and NAT64 addresses are not mapped.
            ("::127.0.0.1", "::7f00:1"),
            ("64:ff9b::c000:207", "64:ff9b::c000:207"),
        ]:
            self.assertEqual(peerHost(IPv6Address("TCP", host, 1)), key, host)

    def test_mappedAddressSharesTheIPv4Quota(self) -> None:
        """
        C{--max-per-ip} counts a host once whether it came as IPv4 or as
        IPv4 mapped into IPv6, and releasing either frees the same place.
        """
        stats = ServerStats(0)
        limits = ConnectionLimits(100, 2, stats, Clock())
        v4 = _addr("127.0.0.1")
        mapped = IPv6Address("TCP", "::ffff:127.0.0.1", 2)
        self.assertIsNone(limits.admit(v4))
        self.assertIsNone(limits.admit(mapped))
        self.assertEqual(
            limits.admit(IPv6Address("TCP", "::ffff:7f00:1", 3)), MAX_PER_IP
        )
        self.assertEqual(limits.admit(_addr("127.0.0.1", 4)), MAX_PER_IP)
        self.assertEqual(limits.perHost, {"127.0.0.1": 2})
        limits.release(mapped)
        self.assertEqual(limits.perHost, {"127.0.0.1": 1})
        limits.release(v4)
        self.assertEqual((limits.perHost, limits.open), ({}, 0))
