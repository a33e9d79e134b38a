# -*- test-case-name: tests.test_admission -*-
"""
Admission: the one object that decides whether a connection may stay.

The listener (through the TLS and PROXY stages before the welcome) and the
factory (when the welcome protocol connects) both ask it, so a connection
is counted once, under the same limits, whichever path it came by:

  - L{ConnectionLimits}: C{--max-connections} in all and C{--max-per-ip}
    per address;
  - the unfinished connections (L{HandshakeGuard}): the cap
    C{--max-handshakes}, the deadline C{--handshake-timeout}, and the place
    each holds under the limits from accept.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime

from welcome_protocol.admission.limits import ConnectionLimits
from welcome_protocol.handshaking.handshakes import HandshakeGuard
from welcome_protocol.settings import ServerSettings
from welcome_protocol.shared.stats import ServerStats


class Admission:
    """
    The limits and the unfinished connections of one service (one process).

    @ivar stats: The counters refusals are counted in.
    @ivar limits: The connections open, in all and per address.
    @ivar unfinished: The connections accepted that have not reached their
        welcome.
    """

    def __init__(
        self, settings: ServerSettings, stats: ServerStats, clock: IReactorTime
    ) -> None:
        """
        @param settings: Where the limits come from.
        @param stats: The counters to update.
        @param clock: Times the deadline and the log lines.
        """
        self.stats = stats
        self.limits = ConnectionLimits(
            settings.maxConnections, settings.maxPerIP, stats, clock
        )
        self.unfinished = HandshakeGuard(
            settings.handshakeTimeout,
            settings.maxHandshakes,
            stats,
            clock,
            self.limits,
        )
