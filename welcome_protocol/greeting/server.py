# -*- test-case-name: tests.test_server -*-
"""
The welcome protocol: greet each client once, then hang up.

Like the one-shot services in L{twisted.protocols.wire} (QOTD, Daytime), the
protocol does one thing and the factory holds the configuration.  The factory
also keeps the books a long-running public service needs, through the
objects it holds: the limits (L{Admission}), the connections still open at
shutdown (L{Draining}), the welcome every listener sends (L{CurrentWelcome}),
and the counters of the stats line.
"""

from __future__ import annotations

from typing import Protocol as TypingProtocol
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import (
    IAddress,
    IConsumer,
    IReactorTime,
    ITCPTransport,
    ITransport,
)
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from welcome_protocol.admission.admission import Admission, AdmissionSettings
from welcome_protocol.closing.closedeadline import CloseDeadline
from welcome_protocol.closing.draining import Drained, Draining
from welcome_protocol.closing.idletimer import IdleTimer
from welcome_protocol.greeting.currentwelcome import CurrentWelcome
from welcome_protocol.greeting.message import Message
from welcome_protocol.greeting.messageproducer import MessageProducer
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.shared.addresses import describeAddress, printable
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog
from welcome_protocol.shared.stats import ServerStats

# A welcome this short goes to the kernel in one send() even when the client
# never reads (the smallest TCP send buffer, tcp_wmem's minimum, is 4096), so
# it needs neither flow control nor a timer.  Longer ones get both.
DIRECT_WRITE_LIMIT = 4096

#: Seconds a close may take, without C{--idle-timeout}, before the
#: connection is aborted.
CLOSE_GRACE = 10.0


class WelcomeProtocol(Protocol):
    """
    Write the factory's welcome as soon as the connection is made, then close
    (or, with C{keepOpen}, wait for the client to close).

    Anything the client sends is discarded.  A short welcome is written in
    one go; a long one through a L{MessageProducer}, so a client that reads
    slowly costs one chunk of memory, not a copy of the message.  With
    C{keepOpen}, or while a long welcome is being written, the connection is
    aborted after C{idleTimeout} seconds without a byte from the client or
    progress in writing.

    A client over a connection limit gets the busy message, if any, and the
    close instead; it is not counted as open.

    The idle timeout is kept by the factory's L{IdleTimer}, one timer for
    all connections (not one C{DelayedCall} each, as with C{TimeoutMixin}).
    The state is declared in C{__slots__}; since C{BaseProtocol} has no
    C{__slots__}, instances still carry a C{__dict__}, so the slots make the
    attribute reads and writes faster and list the state in one place, but
    save little memory.

    @ivar peer: The client's address, as the connection was admitted.
    @ivar greeted: Whether the whole welcome has been handed to the transport.
    @ivar connectedAt: When it was admitted, in the factory clock's seconds,
        if connections are timed (C{GreetingSettings.timeConnections}).
    @ivar closeAfterWelcome: Whether to close once the welcome is written.
    @ivar idleDeadline: When the connection times out if nothing happens.
    @ivar idleTimeout: Seconds it may stay idle.
    @ivar idleBucket: Kept by the L{IdleTimer}; L{None} when not timed.
    @ivar refused: Whether the limits refused it (it got the busy message).
    @ivar timedOut: Whether it was closed for being idle too long.
    @ivar closedAtShutdown: Whether the shutdown timeout dropped it.
    """

    __slots__ = (
        "_closing",
        "_producer",
        "closeAfterWelcome",
        "closedAtShutdown",
        "connected",
        "connectedAt",
        "factory",
        "greeted",
        "idleBucket",
        "idleDeadline",
        "idleTimeout",
        "peer",
        "refused",
        "timedOut",
        "transport",
    )

    factory: WelcomeFactory
    peer: IAddress

    def __init__(self) -> None:
        self.connectedAt = 0.0
        self.transport = None
        self.connected = 0
        self.refused = False
        self.greeted = False
        self.closeAfterWelcome = True
        self.idleDeadline = 0.0
        self.idleTimeout = 0.0
        self.idleBucket: int | None = None
        self._producer: MessageProducer | None = None
        self.timedOut = False
        self._closing = False
        self.closedAtShutdown = False

    def connectionMade(self) -> None:
        """
        Send the welcome, and close once it has been written unless the
        connection is to be kept open.
        """
        factory = self.factory
        transport = self.transport
        assert transport is not None
        # Admitted here rather than in buildProtocol: wrappers such as the
        # PROXY header parser build a protocol they may never connect, and
        # only here is the peer the real client behind a proxy.
        self.peer = peer = transport.getPeer()
        if not factory.admit(self):
            self.refused = True
            # At most 4096 bytes (--busy-message checks): it leaves in one
            # send(), so a refused connection never lingers.
            busy = factory.settings.busyMessage
            if busy:
                transport.write(busy)
            self._closeWithin()
            return
        if factory.settings.timeConnections:
            self.connectedAt = factory.clock.seconds()
        if getattr(transport, "redirected", False):
            # A redirect: or tproxy: listener: the log says the port asked for.
            factory.clientConnected(peer, transport.getHost())
        else:
            factory.clientConnected(peer)
        message = factory.welcomeFor(transport)
        if message is None:
            # Filling in the template failed; it was logged.  Counted as an
            # error when the connection is lost.
            cast(ITCPTransport, transport).abortConnection()
            return
        self.closeAfterWelcome = not factory.settings.keepOpen
        if len(message) <= DIRECT_WRITE_LIMIT:
            transport.write(message)
            factory.stats.bytesSent += len(message)
            self.greeted = True
            if self.closeAfterWelcome:
                # _closeWithin(), inlined: this is every greeting's path.
                self._closing = True
                transport.loseConnection()
                factory.closeDeadline.closing(self)
            else:
                self._watchIdle()
            return
        self._watchIdle()
        # Every Twisted stream transport is also a consumer.
        consumer = cast(IConsumer, transport)
        self._producer = MessageProducer(
            message, consumer, self._wrote, self._welcomeWritten
        )
        consumer.registerProducer(self._producer, False)

    def _closeWithin(self) -> None:
        """
        Close gracefully, but abort if the close has not ended within the
        idle timeout (L{CLOSE_GRACE} without one): the factory's
        L{CloseDeadline}.

        A graceful close can wait for ever: TLS waits for the client's
        C{close_notify}, and any transport waits for a client that does not
        read to take what is buffered.  Whatever the path and the welcome's
        size, the connection is timed from here; on a transport that closes
        at once, its entry goes in the same turn.
        """
        self._closing = True
        transport = self.transport
        assert transport is not None
        transport.loseConnection()
        self.factory.closeDeadline.closing(self)

    def abortClosing(self) -> None:
        """
        The close did not end within its grace: abort.
        """
        # TCP, UNIX and TLS transports can all abort.
        cast(ITCPTransport, self.transport).abortConnection()

    def _watchIdle(self) -> None:
        """
        Time the connection out after the idle timeout, if there is one.
        """
        timeout = self.factory.settings.idleTimeout
        if timeout is not None:
            self.factory.idleTimer.watch(self, timeout)

    def _wrote(self, size: int) -> None:
        self.factory.stats.bytesSent += size
        self.factory.idleTimer.touch(self)

    def _welcomeWritten(self) -> None:
        self._producer = None
        self.greeted = True
        if self.closeAfterWelcome:
            # The timer stays armed: the last chunk may still sit in the
            # transport's buffer, and the close must not wait forever.
            self._closing = True
            assert self.transport is not None
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Discard whatever the client sends; the service only talks.  It does
        show the client is there, so the idle timer starts again.
        """
        self.factory.idleTimer.touch(self)

    def timeoutConnection(self) -> None:
        """
        Close a connection that was silent for C{idleTimeout}.

        A greeted connection is closed gracefully (the client sees an end of
        file, which is what C{--keep-open} users measure).  If a close is
        already under way, or the welcome was never fully written, the
        connection is aborted: a client that does not read would keep a
        graceful close waiting forever.
        """
        transport = self.transport
        assert transport is not None
        self.timedOut = True
        if self.greeted and not self._closing:
            self._closing = True
            transport.loseConnection()
            self.factory.idleTimer.watch(self, self.idleTimeout)
            return
        # TCP, UNIX and TLS transports can all abort.
        cast(ITCPTransport, transport).abortConnection()

    def finishForShutdown(self) -> None:
        """
        The server is stopping: close now if greeted, else once greeted.
        """
        self.closeAfterWelcome = True
        if self.greeted:
            self._closing = True
            assert self.transport is not None
            self.transport.loseConnection()

    def abortForShutdown(self) -> None:
        """
        The shutdown timeout ran out: drop the connection, greeted or not.
        """
        self.closedAtShutdown = True
        # TCP, UNIX and TLS transports can all abort.
        cast(ITCPTransport, self.transport).abortConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Stop the timer and the producer, and let the factory count the ending.
        """
        factory = self.factory
        if self._closing:
            factory.closeDeadline.closed(self)
        if self.refused:
            return
        factory.idleTimer.forget(self)
        if self._producer is not None:
            self._producer.stopProducing()
            self._producer = None
        self.factory.connectionClosed(self, reason)


class GreetingSettings(AdmissionSettings, TypingProtocol):
    """
    What the welcome factory needs to know of the configuration, besides
    the limits.

    The service's C{ServerSettings} has these (it is defined above this
    stage, so the greeting names only what it reads).
    """

    @property
    def message(self) -> bytes:
        """
        The welcome exactly as it goes on the wire.
        """

    @property
    def template(self) -> Message | None:
        """
        The message when it has placeholders, else L{None}.
        """

    @property
    def keepOpen(self) -> bool:
        """
        Whether a connection stays open after the welcome.
        """

    @property
    def idleTimeout(self) -> float | None:
        """
        Seconds a connection may stay silent; L{None} for ever.
        """

    @property
    def busyMessage(self) -> bytes:
        """
        Written to a refused connection before it is closed; may be empty.
        """

    @property
    def logConnections(self) -> bool:
        """
        Whether each client is recorded in the log.
        """

    @property
    def timeConnections(self) -> bool:
        """
        Whether each connection is timed for the duration histogram.
        """


class WelcomeFactory(ServerFactory):
    """
    Build L{WelcomeProtocol}s, admit them, and count how they end.

    The jobs around a connection are each another object's, which the
    factory holds and its protocols use: the welcome itself
    (L{CurrentWelcome}, shared with the UDP listeners), admission
    (L{Admission}, shared with the listeners' stages before the welcome),
    the access log (L{AccessLog}), the timers after the welcome
    (L{IdleTimer}, L{CloseDeadline}) and draining at shutdown (L{Draining}).

    @ivar settings: The validated configuration of the service.
    @ivar source: The welcome to send now; given to the UDP listeners too,
        so that a reload reaches them.
    @ivar clock: Tells the time for C{{time}}, and times idle connections
        and the rate-limited logs.
    @ivar admission: The limits and the unfinished connections.
    @ivar stats: The counters of the stats line (the admission's).
    @ivar limits: Admits or refuses new connections (the admission's).
    @ivar handshakes: Bounds the connections of C{ssl:}, C{tls:} and
        C{haproxy:} listeners until they reach this factory's protocol; its
        C{unfinished} is how many are waiting now (the admission's).
    @ivar idleTimer: Times out the connections that are idle too long.
    @ivar closeDeadline: Aborts the closes that take too long.
    @ivar draining: The connections now open, for the shutdown.
    @ivar accessLog: Where connections are recorded when they are logged;
        without one, each connection is logged as it happens (slower).
    """

    # Twisted types Factory.protocol by the factory's type parameter, which
    # stays unset here: a ServerFactory[WelcomeProtocol] would no longer be
    # taken where Twisted's APIs expect a plain ServerFactory (invariance).
    protocol = WelcomeProtocol  # type: ignore[assignment]
    # The listener logs where it listens; "Starting factory <...>" adds nothing.
    noisy = False
    _log = Logger()

    def __init__(
        self,
        settings: GreetingSettings,
        clock: IReactorTime | None = None,
        stats: ServerStats | None = None,
        accessLog: AccessLog | None = None,
        admission: Admission | None = None,
    ) -> None:
        """
        @param settings: The validated configuration.
        @param clock: The reactor's clock; the global reactor by default.
        @param stats: The counters to update; new ones by default.
        @param accessLog: Where to record connections, in batches; without
            one, each is logged as it happens.
        @param admission: The limits and the unfinished connections, shared
            with the listeners; new ones (counting in C{stats}) by default.
        """
        if clock is None:
            # The global reactor only when none is given, as Twisted's own
            # factories do: importing it at module level would install it.
            from twisted.internet import reactor

            clock = cast(IReactorTime, reactor)
        self.settings = settings
        self.source = CurrentWelcome(settings.message, settings.template)
        self.clock: IReactorTime = clock
        if admission is None:
            admission = Admission(
                settings,
                ServerStats(clock.seconds()) if stats is None else stats,
                clock,
            )
        self.admission = admission
        self.stats = admission.stats
        self.limits = admission.limits
        self.handshakes = admission.unfinished
        self.accessLog = accessLog
        self.idleTimer = IdleTimer(clock)
        timeout = settings.idleTimeout
        self.closeDeadline = CloseDeadline(
            clock, CLOSE_GRACE if timeout is None else timeout
        )
        self.draining = Draining()
        # Bound once: admitting and releasing are on every greeting's path.
        self._addOpen = self.draining.open.add
        self._discardOpen = self.draining.discard
        self._renderLog = RateLimitedLog(
            self._log,
            clock,
            "Closed {count} more connections unwelcomed in the last "
            "{interval:g} s: the message could not be filled in for them",
        )

    def admit(self, protocol: WelcomeProtocol) -> bool:
        """
        Count a new connection in, if the limits allow it.

        @param protocol: The connection's protocol, its C{peer} set.
        @return: Whether it is admitted; if so, L{connectionClosed} must
            follow when it closes.
        """
        if self.limits.admit(protocol.peer) is not None:
            return False
        self._addOpen(protocol)
        return True

    def welcomeFor(self, transport: ITransport) -> bytes | None:
        """
        The bytes to write to the client on C{transport}.

        A template is checked with the most unlikely addresses when it is
        loaded, but what a connection brings is the network's to choose: a
        failure here is contained to the connection, and logged a few times
        however often it happens.

        @return: The pre-encoded welcome, or the template filled in with the
            connection's addresses and the time; L{None} if that failed.
        """
        source = self.source
        if source.template is None:
            return source.welcome
        try:
            return source.render(
                transport.getPeer(), transport.getHost(), self.clock.seconds()
            )
        except Exception as e:
            self._renderLog.emit(
                "Closed the connection from {peer} unwelcomed: the message "
                "could not be filled in for it ({why})",
                peer=describeAddress(transport.getPeer()),
                why=printable(f"{type(e).__name__}: {e}"),
            )
            return None

    def setMessage(self, message: Message) -> None:
        """
        Send C{message} to every client, TCP and UDP, from now on (after a
        reload).
        """
        self.source.setMessage(message)

    def clientConnected(self, peer: IAddress, askedFor: IAddress | None = None) -> None:
        """
        Record a new client in the service's log, if connections are logged.

        @param peer: The client's address.
        @param askedFor: On a listener that one kernel rule sends many ports
            to, the address the client asked for; L{None} on others, whose
            address is the listener's.
        """
        if self.settings.logConnections:
            if askedFor is not None:
                shown = f"{describeAddress(peer)} to {describeAddress(askedFor)}"
                if self.accessLog is not None:
                    self.accessLog.recordAt(self.clock.seconds(), shown)
                else:
                    self._log.info("Welcomed {peer}", peer=shown)
            elif self.accessLog is not None:
                self.accessLog.record(peer)
            else:
                self._log.info("Welcomed {peer}", peer=describeAddress(peer))

    def connectionClosed(self, protocol: WelcomeProtocol, reason: Failure) -> None:
        """
        Count how an admitted connection ended and release its place.

        @param protocol: Its protocol.
        @param reason: Why it ended.
        """
        stats = self.stats
        if protocol.timedOut:
            stats.timedOut += 1
        elif protocol.closedAtShutdown:
            stats.closedAtShutdown += 1
        elif protocol.greeted and isinstance(reason.value, ConnectionDone):
            stats.served += 1
        else:
            stats.errors += 1
        if self.settings.timeConnections:
            stats.durations.observe(self.clock.seconds() - protocol.connectedAt)
        self.limits.release(protocol.peer)
        self._discardOpen(protocol)

    @property
    def openProtocols(self) -> set[Drained]:
        """
        The connections now open (the draining's).
        """
        return self.draining.open

    def whenAllClosed(self) -> Deferred[None]:
        """
        @return: A L{Deferred} that fires once no connection is open (the
            draining's, here for the stats line and the shutdown, which hold
            the factory).
        """
        return self.draining.whenAllClosed()

    def finishGreetings(self) -> int:
        """
        Close every greeted connection now and the others once greeted
        (the draining's).

        @return: How many connections are still being greeted.
        """
        return self.draining.finishGreetings()

    def abortAll(self) -> int:
        """
        Drop every connection still open (the draining's).

        @return: How many there were.
        """
        return self.draining.abortAll()

    def stopFactory(self) -> None:
        """
        Log refusals not yet reported, and drop the connections still
        unfinished; every listener has stopped.
        """
        self.handshakes.stop()
        self.closeDeadline.stop()
        self.limits.flushLog()
        self._renderLog.flush()
