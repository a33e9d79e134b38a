# -*- test-case-name: tests.test_limits -*-
"""
How many connections may be open at once, in all and from one address.

L{twisted.protocols.policies} has L{LimitTotalConnectionsFactory
<twisted.protocols.policies.LimitTotalConnectionsFactory>} and
L{LimitConnectionsByPeer <twisted.protocols.policies.LimitConnectionsByPeer>},
but both wrap every protocol in a L{ProtocolWrapper
<twisted.protocols.policies.ProtocolWrapper>} (an extra object and call per
event on every connection, for a service whose whole job is one write),
neither logs refusals, and C{LimitConnectionsByPeer} indexes addresses as
tuples (C{addr[0]}), which L{twisted.internet.address.IPv4Address} objects no
longer are.  Two counters in the factory do the job.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.logger import Logger

from welcome_protocol.shared.addresses import clientIP, describeAddress
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
from welcome_protocol.shared.stats import ServerStats

MAX_CONNECTIONS = "max-connections"
MAX_PER_IP = "max-per-ip"


def peerHost(address: IAddress | None) -> str | None:
    """
    The key that C{--max-per-ip} counts a connection under.

    @param address: A connection's peer.
    @return: Its IP address in standard form, an IPv4 address mapped into
        IPv6 written as the IPv4 address (so a host counts once whether it
        reaches a C{tcp:} or a dual-stack C{tcp6:} listener, or is named by
        a PROXY header of either version), or L{None} for addresses without
        one (UNIX).
    """
    host = getattr(address, "host", None)
    if not isinstance(host, str):
        return None
    if ":" not in host:
        # IPv4, as accepted or as a PROXY header gave it (checked there).
        return host
    ip = clientIP(host)
    return host if ip is None else str(ip)


def _describe(address: IAddress | None) -> str:
    return "an unknown address" if address is None else describeAddress(address)


class ConnectionLimits:
    """
    Admit or refuse each new connection, count what is open, and tell the
    operator about refusals in a few lines however many there are.

    @ivar open: Connections admitted and not yet released.
    @ivar perHost: Open connections per IP address, kept only when there is
        a per-address limit.
    """

    _log = Logger()

    def __init__(
        self,
        maxConnections: int,
        maxPerIP: int | None,
        stats: ServerStats,
        clock: IReactorTime,
        logInterval: float = 10.0,
        makeRoom: Callable[[], bool] | None = None,
    ) -> None:
        """
        @param maxConnections: Connections open at once, at most.
        @param maxPerIP: Connections open at once from one IP address, at
            most; L{None} for no limit.
        @param stats: Counts the refusals.
        @param clock: Times the rate-limited log.
        @param logInterval: Seconds between two lines about refusals.
        @param makeRoom: Called when every place is taken, before refusing;
            it returns whether it released one (by closing a connection that
            has not reached its welcome).  L{None} to refuse at once.
        """
        self._makeRoom = makeRoom
        self.maxConnections = maxConnections
        self.maxPerIP = maxPerIP
        self.stats = stats
        self.open = 0
        self.perHost: dict[str, int] = {}
        self._totalLog = RateLimitedLog(
            self._log,
            clock,
            f"Refused {{count}} more connections in the last {{interval:g}} s: "
            f"{maxConnections} open (--max-connections)",
            logInterval,
        )
        self._perIPLog = RateLimitedLog(
            self._log,
            clock,
            f"Refused {{count}} more connections in the last {{interval:g}} s "
            f"from addresses with {maxPerIP} open (--max-per-ip)",
            logInterval,
        )

    def admit(self, address: IAddress | None) -> str | None:
        """
        Decide about a new connection and count it if admitted.

        @param address: The client's address.
        @return: L{None} if admitted (call L{release} when it closes), else
            the name of the limit that refused it.
        """
        if self.open >= self.maxConnections and not (
            self._makeRoom is not None and self._makeRoom()
        ):
            self.stats.refusedMaxConnections += 1
            self._totalLog.emit(
                "Refused a connection from {peer}: {open} open (--max-connections)",
                peer=_describe(address),
                open=self.open,
            )
            return MAX_CONNECTIONS
        if self.maxPerIP is not None:
            host = peerHost(address)
            if host is not None:
                count = self.perHost.get(host, 0)
                if count >= self.maxPerIP:
                    self.stats.refusedMaxPerIP += 1
                    self._perIPLog.emit(
                        "Refused a connection from {peer}: {count} open from "
                        "{host} (--max-per-ip)",
                        peer=_describe(address),
                        count=count,
                        host=host,
                    )
                    return MAX_PER_IP
                self.perHost[host] = count + 1
        self.open += 1
        return None

    def release(self, address: IAddress | None) -> None:
        """
        Forget an admitted connection that has closed.

        @param address: The address it was admitted with.
        """
        self.open -= 1
        if self.maxPerIP is not None:
            host = peerHost(address)
            if host is not None:
                count = self.perHost[host] - 1
                if count:
                    self.perHost[host] = count
                else:
                    del self.perHost[host]

    def flushLog(self) -> None:
        """
        Log refusals not yet summed up, and stop the log's timers.
        """
        self._totalLog.flush()
        self._perIPLog.flush()
