# -*- test-case-name: tests.test_udp_protocol -*-
"""
The rate-limited logs of the datagrams refused, one of each kind for a
whole service.

A log per port would write a line per port for the same incident: one empty
datagram to each port of a 10,000-port range was 10,000 lines.  The builder
makes one L{DatagramLogs} for the service and gives it to every C{udp:}
listener's protocol, so each kind of refusal has one line per incident and
one summary per interval, whichever port the datagrams came to.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger, LogLevel

from welcome_protocol.shared.ratelimitedlog import RateLimitedLog

# The protocol's namespace, as when each protocol had its own logs: a
# module-level logger, since one on the class would take this class's.
_log = Logger(namespace="welcome_protocol.udp.protocol.WelcomeDatagramProtocol")


class DatagramLogs:
    """
    One rate-limited log per kind of refused datagram.

    @ivar limited: Datagrams over the reply rate limits.
    @ivar dropped: Datagrams dropped (reflection ports, failed sends).
    @ivar tooSmall: Datagrams not larger than the welcome.
    @ivar render: Datagrams whose reply could not be rendered (a template
        that fails for their source).
    """

    def __init__(self, clock: IReactorTime) -> None:
        """
        @param clock: Times the intervals of the summaries.
        """
        self.limited = RateLimitedLog(
            _log,
            clock,
            "UDP: {count} more datagrams not answered in the last {interval:g} s: "
            "over the reply rate limits",
        )
        self.dropped = RateLimitedLog(
            _log,
            clock,
            "UDP: {count} more datagrams dropped in the last {interval:g} s",
        )
        self.tooSmall = RateLimitedLog(
            _log,
            clock,
            "UDP: {count} more datagrams too small to answer in the last "
            "{interval:g} s",
            level=LogLevel.info,
        )
        self.render = RateLimitedLog(
            _log,
            clock,
            "UDP: {count} more datagrams not answered in the last {interval:g} s: "
            "the message could not be filled in for them",
        )

    def flush(self) -> None:
        """
        Log what the summaries hold (the service is stopping).
        """
        for log in (self.limited, self.dropped, self.tooSmall, self.render):
            log.flush()
