# -*- test-case-name: tests.test_proxyheader -*-
"""
Counting and logging the connections a PROXY listener closes for their
header or their source, in a few lines however many there are.

Kept apart from the deadline and the cap
(L{HandshakeGuard<welcome_protocol.handshaking.handshakes.HandshakeGuard>}):
those bound every unfinished connection, TLS ones too; this is about PROXY
headers only.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.logger import Logger

from welcome_protocol.shared.addresses import describeAddress
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
from welcome_protocol.shared.stats import ServerStats


class ProxyHeaderLog:
    """
    Count and log connections closed for an invalid PROXY header or for
    coming from outside C{--proxy-from}.
    """

    _log = Logger()

    def __init__(
        self, stats: ServerStats, clock: IReactorTime, logInterval: float = 10.0
    ) -> None:
        """
        @param stats: The counters to update.
        @param clock: Times the log's intervals.
        @param logInterval: Seconds between two lines of each kind, at most.
        """
        self._stats = stats
        self._proxyFromLog = RateLimitedLog(
            self._log,
            clock,
            "Closed {count} more connections in the last {interval:g} s from "
            "addresses outside --proxy-from",
            logInterval,
        )
        self._invalidLog = RateLimitedLog(
            self._log,
            clock,
            "Closed {count} more connections in the last {interval:g} s with "
            "an invalid PROXY header",
            logInterval,
        )

    def refuseSource(self, peer: IAddress) -> None:
        """
        Count and log a connection closed for coming from outside every
        C{--proxy-from} network.
        """
        self._stats.refusedProxyFrom += 1
        self._proxyFromLog.emit(
            "Closed a connection from {peer}: not in any --proxy-from network, "
            "so not trusted to send a PROXY header",
            peer=describeAddress(peer),
        )

    def invalidHeader(self, peer: IAddress, why: str) -> None:
        """
        Count and log a connection closed for its PROXY header.

        @param why: What was wrong, with nothing from the header in it raw.
        """
        self._stats.invalidProxyHeaders += 1
        self._invalidLog.emit(
            "Closed a connection from {peer}: invalid PROXY header ({why})",
            peer=describeAddress(peer),
            why=why,
        )

    def flush(self) -> None:
        """
        Sum up the lines not yet logged; the listener is stopping.
        """
        self._proxyFromLog.flush()
        self._invalidLog.flush()
