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

The two are built here and wired together through their constructors: when
every place is taken, the limits ask the guard to close its oldest
unfinished connection before they refuse a new one.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import IReactorTime

from welcome_protocol.admission.limits import ConnectionLimits
from welcome_protocol.admission.unfinished import HandshakeGuard
from welcome_protocol.shared.stats import ServerStats


class AdmissionSettings(Protocol):
    """
    What admission needs to know of the configuration.

    The service's C{ServerSettings} has these (it is defined above this
    stage, so admission names only what it reads); a test can pass any
    object that has them.
    """

    @property
    def maxConnections(self) -> int:
        """
        Connections open at once; more are refused.
        """

    @property
    def maxPerIP(self) -> int | None:
        """
        Connections open at once from one IP address; L{None} for no limit.
        """

    @property
    def handshakeTimeout(self) -> float | None:
        """
        Seconds from accept to the welcome; L{None} for no deadline.
        """

    @property
    def maxHandshakes(self) -> int:
        """
        Connections unfinished at once, at most.
        """


class Admission:
    """
    The limits and the unfinished connections of one service (one process).

    @ivar stats: The counters refusals are counted in.
    @ivar limits: The connections open, in all and per address.
    @ivar unfinished: The connections accepted that have not reached their
        welcome.
    """

    def __init__(
        self, settings: AdmissionSettings, stats: ServerStats, clock: IReactorTime
    ) -> None:
        """
        @param settings: Where the limits come from.
        @param stats: The counters to update.
        @param clock: Times the deadline and the log lines.
        """
        self.stats = stats
        self.limits = ConnectionLimits(
            settings.maxConnections,
            settings.maxPerIP,
            stats,
            clock,
            makeRoom=self._makeRoom,
        )
        self.unfinished = HandshakeGuard(
            settings.handshakeTimeout,
            settings.maxHandshakes,
            stats,
            clock,
            self.limits,
        )

    def _makeRoom(self) -> bool:
        """
        Every place is taken: let the guard close its oldest unfinished
        connection, if it has one.

        @return: Whether a place was given back.
        """
        return self.unfinished.makeRoom()
