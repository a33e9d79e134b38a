"""
Tests for L{welcome_protocol.admission.admission}.
"""

from __future__ import annotations

from attrs import frozen
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IAddress
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.admission.admission import Admission
from welcome_protocol.admission.unfinished import TLS_HANDSHAKE
from welcome_protocol.shared.stats import ServerStats


@frozen
class _Settings:
    """
    Only what admission reads: any object with these will do, not only the
    service's C{ServerSettings}.
    """

    maxConnections: int = 2
    maxPerIP: int | None = None
    handshakeTimeout: float | None = 10.0
    maxHandshakes: int = 100


class _Connection:
    """
    An unfinished connection that records being aborted.
    """

    phase = TLS_HANDSHAKE

    def __init__(self, port: int) -> None:
        self.rawPeer: IAddress = IPv4Address("TCP", "192.0.2.7", port)
        self.aborted = False

    def abortUnfinished(self) -> None:
        """
        Note the abort.
        """
        self.aborted = True


class AdmissionTests(TestCase):
    """
    L{Admission} builds the limits and the guard from a settings object of
    its own stage's shape, and wires them through their constructors.
    """

    def test_fromOwnSettings(self) -> None:
        """
        The limits and the guard take their bounds from the settings object.
        """
        admission = Admission(
            _Settings(maxConnections=7, maxPerIP=3, maxHandshakes=5),
            ServerStats(0),
            Clock(),
        )
        limits, guard = admission.limits, admission.unfinished
        self.assertEqual((limits.maxConnections, limits.maxPerIP), (7, 3))
        self.assertEqual((guard.timeout, guard.maxUnfinished), (10.0, 5))

    def test_fullLimitsMakeRoomThroughGuard(self) -> None:
        """
        With every place taken by unfinished connections, the limits ask
        the guard (through the C{makeRoom} they were built with) to close
        the oldest, and admit the new connection.
        """
        stats = ServerStats(0)
        admission = Admission(_Settings(), stats, Clock())
        first, second = _Connection(1), _Connection(2)
        self.assertTrue(admission.unfinished.start(first, None))
        self.assertTrue(admission.unfinished.start(second, None))
        self.assertIsNone(admission.limits.admit(IPv4Address("TCP", "198.51.100.1", 3)))
        self.assertEqual((first.aborted, second.aborted), (True, False))
        self.assertEqual(
            (admission.unfinished.unfinished, stats.refusedMaxConnections), (1, 1)
        )

    def test_fullLimitsWithoutUnfinishedRefuse(self) -> None:
        """
        With every place taken by connections past their welcome, the guard
        has nothing to close and the limits refuse.
        """
        admission = Admission(_Settings(), ServerStats(0), Clock())
        for port in (1, 2):
            admission.limits.admit(IPv4Address("TCP", "198.51.100.1", port))
        self.assertEqual(
            admission.limits.admit(IPv4Address("TCP", "198.51.100.1", 3)),
            "max-connections",
        )
