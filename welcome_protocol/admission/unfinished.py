# -*- test-case-name: tests.test_handshakes -*-
"""
A deadline and a cap for connections that have not reached their welcome.

On C{ssl:}, C{tls:} and C{haproxy:} listeners, something must happen before
the welcome can be sent: the TLS handshake, or the whole PROXY header.
Neither Twisted's TLS layer nor its PROXY parser has a timer, so a client
that sends nothing holds a descriptor for ever.  L{HandshakeGuard} bounds
that phase as nginx and HAProxy do:

  - In time: every unfinished connection is aborted C{timeout} seconds after
    it was accepted.  The deadline is absolute; bytes arriving do not move
    it, so a client dripping a byte a second is closed all the same.
  - In count: at most C{maxUnfinished} connections may be unfinished at once.
    Beyond that, the oldest unfinished one is closed to make room.  Refusing
    the newest instead would let a few silent clients lock every legitimate
    one out until their deadline; closing the oldest costs an attacker its
    own connections first, and a legitimate client, whose handshake takes
    milliseconds, is long past the cap by the time it would be the oldest.
  - In place: from accept, an unfinished connection holds a place under
    C{--max-connections} (and, when its address is known, C{--max-per-ip}),
    since it holds a descriptor; it hands the place back when the welcome
    protocol takes over, which then takes its own.

Every connection gets the same timeout, counted from when it was accepted,
so deadlines expire in the order connections arrived.  The guard keeps the
unfinished connections in a dict (insertion-ordered) and one timer, for the
oldest, instead of a C{DelayedCall} per connection as
C{twisted.protocols.policies.TimeoutMixin} would: starting, finishing and
evicting are all O(1), and a flood of silent clients costs one timer.

This is admission's business (how many connections may hold a descriptor,
and for how long), so it lives here, below the stages that use it: the TLS
wrapper in L{welcome_protocol.handshaking.handshakes} and the PROXY header
wrapper in L{welcome_protocol.handshaking.proxyheader} put their connections
under it.
"""

from __future__ import annotations

from typing import Protocol as TypingProtocol

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.logger import Logger

from welcome_protocol.admission.limits import ConnectionLimits
from welcome_protocol.shared.addresses import describeAddress
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
from welcome_protocol.shared.stats import ServerStats

PROXY_HEADER = "PROXY header"
"""
The phase of a connection whose PROXY header has not all arrived.
"""

TLS_HANDSHAKE = "TLS handshake"
"""
The phase of a connection whose TLS handshake has not completed.
"""


class Unfinished(TypingProtocol):
    """
    A connection the guard looks after until it reaches its welcome.

    @ivar phase: What it is waiting for: L{PROXY_HEADER} or L{TLS_HANDSHAKE}.
    @ivar rawPeer: The address it was accepted from (the proxy's, behind a
        proxy), for the log.
    """

    phase: str
    rawPeer: IAddress

    def abortUnfinished(self) -> None:
        """
        Drop the connection now; the guard has already forgotten it.
        """


class HandshakeGuard:
    """
    Bound the connections that have not reached their welcome, in time and in
    number, and count and log the ones it closes.

    @ivar timeout: Seconds from accept to the welcome, or L{None} for no
        deadline.
    @ivar maxUnfinished: Connections unfinished at once, at most.
    @ivar stats: The counters it updates.
    @ivar clock: Tells the time and runs the one timer.
    """

    _log = Logger()

    def __init__(
        self,
        timeout: float | None,
        maxUnfinished: int,
        stats: ServerStats,
        clock: IReactorTime,
        limits: ConnectionLimits | None = None,
        logInterval: float = 10.0,
        deadlineOption: str = "--handshake-timeout",
        capOption: str = "--max-handshakes",
    ) -> None:
        """
        @param timeout: Seconds from accept to the welcome; L{None} or 0 for
            no deadline.
        @param maxUnfinished: Connections unfinished at once, at most.
        @param stats: The counters to update.
        @param clock: Tells the time and runs the timer.
        @param limits: Where an unfinished connection holds its place from
            accept; L{None} to hold none.
        @param logInterval: Seconds between two lines of each kind, at most.
        @param deadlineOption: What sets the deadline, for the log lines.
        @param capOption: What sets the cap, for the log lines.
        """
        self.timeout = timeout or None
        self.maxUnfinished = maxUnfinished
        self._deadlineOption = deadlineOption
        self._capOption = capOption
        self.stats = stats
        self.clock = clock
        self._limits = limits
        # Connection -> (when accepted, the address its place is held for).
        self._unfinished: dict[Unfinished, tuple[float, IAddress | None]] = {}
        self._timer: IDelayedCall | None = None
        deadline = f"{self.timeout:g} s" if self.timeout else "no"
        self._timeoutLogs = {
            phase: RateLimitedLog(
                self._log,
                clock,
                f"Closed {{count}} more connections in the last {{interval:g}} s "
                f"whose {phase} was not complete {deadline} after accept "
                f"({deadlineOption})",
                logInterval,
            )
            for phase in (PROXY_HEADER, TLS_HANDSHAKE)
        }
        self._capLog = RateLimitedLog(
            self._log,
            clock,
            f"Closed {{count}} more unfinished connections in the last "
            f"{{interval:g}} s to make room: {maxUnfinished} unfinished "
            f"({capOption})",
            logInterval,
        )
        self._fullLog = RateLimitedLog(
            self._log,
            clock,
            "Closed {count} more unfinished connections in the last "
            "{interval:g} s to make room for new ones (--max-connections)",
            logInterval,
        )

    @property
    def unfinished(self) -> int:
        """
        How many connections are unfinished now.
        """
        return len(self._unfinished)

    def start(self, connection: Unfinished, placeFor: IAddress | None) -> bool:
        """
        Look after a connection just accepted.

        @param connection: The connection.
        @param placeFor: The address to hold its place under the connection
            limits for: the client's, or L{None} when only the total counts
            (behind a proxy, before the header names the client).
        @return: Whether it may go on; if not, the limits refused it (and
            counted and logged that) and the caller closes it.
        """
        if self._limits is not None and self._limits.admit(placeFor) is not None:
            return False
        unfinished = self._unfinished
        if len(unfinished) >= self.maxUnfinished:
            self.stats.refusedMaxHandshakes += 1
            self._evictOldest(
                self._capLog, f"{self.maxUnfinished} unfinished", self._capOption
            )
        unfinished[connection] = (self.clock.seconds(), placeFor)
        if self.timeout is not None and self._timer is None:
            self._timer = self.clock.callLater(self.timeout, self._expire)
        return True

    def makeRoom(self) -> bool:
        """
        Every place under C{--max-connections} is taken: close the oldest
        unfinished connection, if any, so that a new one can be admitted
        (counted as refused by C{--max-connections}).

        L{ConnectionLimits} calls this through the C{makeRoom} it was built
        with (L{Admission<welcome_protocol.admission.admission.Admission>}
        wires the two), before it refuses a connection.

        @return: Whether a place was given back.
        """
        if not self._unfinished or self._limits is None:
            return False
        self.stats.refusedMaxConnections += 1
        self._evictOldest(
            self._fullLog, f"{self._limits.open} open", "--max-connections"
        )
        return True

    def _evictOldest(self, log: RateLimitedLog, state: str, option: str) -> None:
        """
        Close the oldest unfinished connection to make room, logging it.

        @param log: The log for this kind of eviction.
        @param state: What is full, for the log line.
        @param option: The option that sets the limit.
        """
        oldest = next(iter(self._unfinished))
        acceptedAt, _ = self._forget(oldest)
        log.emit(
            "Closed the oldest unfinished connection, from {peer} ({phase} "
            "pending for {age:.1f} s), to make room: {state} ({option})",
            peer=describeAddress(oldest.rawPeer),
            phase=oldest.phase,
            age=self.clock.seconds() - acceptedAt,
            state=state,
            option=option,
        )
        oldest.abortUnfinished()

    def finish(self, connection: Unfinished) -> bool:
        """
        Forget a connection that reached its welcome, or was closed and
        counted by its wrapper, and give back its place.

        @return: Whether it was still unfinished.
        """
        if connection not in self._unfinished:
            return False
        self._forget(connection)
        return True

    def lost(self, connection: Unfinished) -> None:
        """
        A connection ended before it was finished: the client went away, or
        its TLS handshake failed.  It counts as an error, like any connection
        ended from the other side before its welcome.
        """
        if self.finish(connection):
            self.stats.errors += 1

    def stop(self) -> int:
        """
        Abort every unfinished connection and stop the timer; the listeners
        have stopped.  They count as closed at shutdown.

        @return: How many there were.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        remaining = list(self._unfinished)
        for connection in remaining:
            self._forget(connection)
            self.stats.closedAtShutdown += 1
            connection.abortUnfinished()
        for log in [*self._timeoutLogs.values(), self._capLog, self._fullLog]:
            log.flush()
        return len(remaining)

    def _forget(self, connection: Unfinished) -> tuple[float, IAddress | None]:
        """
        Drop a connection from the book and give back its place.  The timer
        stays set for the oldest, even if that was this one (it then finds
        nothing to do), unless none is left at all.
        """
        entry = self._unfinished.pop(connection)
        if self._limits is not None:
            self._limits.release(entry[1])
        if not self._unfinished and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return entry

    def _expire(self) -> None:
        """
        Abort the connections whose deadline has come, oldest first, and set
        the timer for the next one.  A timer set for a connection that has
        since finished just finds nothing to do.
        """
        self._timer = None
        timeout = self.timeout
        assert timeout is not None
        now = self.clock.seconds()
        expired = []
        for connection, (acceptedAt, _) in self._unfinished.items():
            if acceptedAt + timeout > now:
                break
            expired.append(connection)
        for connection in expired:
            self._forget(connection)
            if connection.phase == TLS_HANDSHAKE:
                self.stats.handshakeTimeoutsTLS += 1
            else:
                self.stats.handshakeTimeoutsProxy += 1
            self._timeoutLogs[connection.phase].emit(
                "Closed a connection from {peer}: its {phase} was not complete "
                "{timeout:g} s after accept ({option})",
                peer=describeAddress(connection.rawPeer),
                phase=connection.phase,
                timeout=timeout,
                option=self._deadlineOption,
            )
            connection.abortUnfinished()
        if self._unfinished:
            acceptedAt, _ = next(iter(self._unfinished.values()))
            self._timer = self.clock.callLater(
                max(0.0, acceptedAt + timeout - now), self._expire
            )
