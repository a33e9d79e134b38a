# -*- test-case-name: tests.test_stats -*-
"""
What the service has done since it started, in one log line on demand.

Like endlessh, the server reports its counters when sent C{SIGUSR1} and once
more when it stops.  twistd itself rotates its log file on C{SIGUSR1}, so the
handler here calls the one it replaced: one signal does both.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorFromThreads, IReactorTime
from twisted.logger import Logger

from welcome_protocol.shared.stats import ServerStats


def formatDuration(seconds: float) -> str:
    """
    @param seconds: A duration.
    @return: It as C{1d02h03m04s}, leaving out leading zero units.
    """
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h{minutes:02d}m{secs:02d}s"
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def formatStats(
    stats: ServerStats,
    openNow: int,
    now: float,
    unfinishedNow: int = 0,
    datagrams: bool = False,
) -> str:
    """
    @param stats: The counters.
    @param openNow: Connections open at this moment, unfinished ones
        included.
    @param now: The current time, in the same clock as C{stats.started}.
    @param unfinishedNow: Connections open at this moment that have not yet
        reached their welcome (PROXY header or TLS handshake pending).
    @return: The one-line report.
    """
    refused = (
        stats.refusedMaxConnections
        + stats.refusedMaxPerIP
        + stats.refusedMaxHandshakes
        + stats.refusedProxyFrom
    )
    handshakeTimeouts = stats.handshakeTimeoutsProxy + stats.handshakeTimeoutsTLS
    return (
        f"Stats: served {stats.served}, open {openNow}, "
        f"unfinished {unfinishedNow}, refused {refused} "
        f"(max-connections {stats.refusedMaxConnections}, "
        f"max-per-ip {stats.refusedMaxPerIP}, "
        f"max-handshakes {stats.refusedMaxHandshakes}, "
        f"proxy-from {stats.refusedProxyFrom}), timed out {stats.timedOut}, "
        f"handshake timeouts {handshakeTimeouts} "
        f"(PROXY header {stats.handshakeTimeoutsProxy}, "
        f"TLS handshake {stats.handshakeTimeoutsTLS}), "
        f"invalid PROXY headers {stats.invalidProxyHeaders}, "
        f"closed at shutdown {stats.closedAtShutdown}, errors {stats.errors}, "
        f"accept pauses {stats.acceptPauses}, bytes sent {stats.bytesSent}, "
        f"{formatDatagrams(stats) if datagrams else ''}"
        f"up {formatDuration(now - stats.started)}"
    )


def formatDatagrams(stats: ServerStats) -> str:
    """
    @return: The stats line's UDP part, e.g. C{datagrams 9 (answered 5, too
        small 1, rate limited 2, dropped 1), datagram bytes in 9000, out
        40, }.
    """
    received = (
        stats.datagramsAnswered
        + stats.datagramsTooSmall
        + stats.datagramsRateLimited
        + stats.datagramsDropped
    )
    return (
        f"datagrams {received} (answered {stats.datagramsAnswered}, "
        f"too small {stats.datagramsTooSmall}, "
        f"rate limited {stats.datagramsRateLimited}, "
        f"dropped {stats.datagramsDropped}), "
        f"datagram bytes in {stats.datagramBytesIn}, "
        f"out {stats.datagramBytesOut}, "
    )


_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class StatsReporter(Service):
    """
    Log the stats line on C{SIGUSR1} and once all connections have closed at
    shutdown.

    @ivar signalNumber: The signal that asks for a report.
    """

    _log = Logger()
    signalNumber = signal.SIGUSR1

    def __init__(
        self,
        stats: ServerStats,
        openConnections: Callable[[], int],
        whenAllClosed: Callable[[], Deferred[None]],
        reactor: IReactorFromThreads,
        clock: IReactorTime,
        getsignal: Callable[[int], _Handler] = signal.getsignal,
        setsignal: Callable[[int, _Handler], _Handler] = signal.signal,
        unfinishedConnections: Callable[[], int] = lambda: 0,
        datagrams: bool = False,
    ) -> None:
        """
        @param stats: The counters to report.
        @param openConnections: Returns how many connections are open now.
        @param whenAllClosed: Returns a L{Deferred} that fires once no
            connection is open; the final report waits for it.
        @param reactor: To leave the signal handler for the reactor.
        @param clock: Tells the time, for the uptime.
        @param getsignal: L{signal.getsignal}, replaceable in tests.
        @param setsignal: L{signal.signal}, replaceable in tests.
        @param unfinishedConnections: Returns how many open connections
            have not reached their welcome yet.
        @param datagrams: Whether the line reports the UDP counters.
        """
        self.stats = stats
        self._openConnections = openConnections
        self._whenAllClosed = whenAllClosed
        self._reactor = reactor
        self._clock = clock
        self._getsignal = getsignal
        self._setsignal = setsignal
        self._unfinishedConnections = unfinishedConnections
        self._datagrams = datagrams
        self._previous: _Handler = None
        self._installed = False

    def report(self) -> str:
        """
        Log the stats line now.

        @return: The line.
        """
        line = formatStats(
            self.stats,
            self._openConnections(),
            self._clock.seconds(),
            self._unfinishedConnections(),
            self._datagrams,
        )
        self._log.info("{line}", line=line)
        return line

    def startService(self) -> None:
        """
        Install the C{SIGUSR1} handler, keeping the one it replaces.
        """
        # Twisted's Service is unannotated.
        super().startService()  # type: ignore[no-untyped-call]
        self._previous = self._getsignal(self.signalNumber)
        self._setsignal(self.signalNumber, self._onSignal)
        self._installed = True

    def stopService(self) -> Deferred[None]:
        """
        Give back the previous handler, then log the final report once every
        connection has closed (the graceful shutdown bounds how long).
        """
        # Twisted's Service is unannotated.
        super().stopService()  # type: ignore[no-untyped-call]
        if self._installed:
            self._setsignal(self.signalNumber, self._previous)
            self._installed = False
        finished: Deferred[None] = Deferred()
        self._whenAllClosed().addBoth(lambda _: self.report()).addBoth(
            lambda _: finished.callback(None)
        )
        return finished

    def _onSignal(self, signum: int, frame: FrameType | None) -> None:
        """
        Run the handler we replaced, such as twistd's log rotation, then
        report from the reactor (never log inside a signal handler).  Both
        are queued in that order, so the line lands in the fresh log file.
        """
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        self._reactor.callFromThread(self.report)
