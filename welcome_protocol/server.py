# -*- test-case-name: tests.test_server -*-
"""
The welcome protocol: greet each client once, then hang up.

Like the one-shot services in C{twisted.protocols.wire} (QOTD, Daytime), the
protocol does one thing and the factory holds the configuration.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress, IReactorTime, ITransport
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.logger import Logger

from welcome_protocol.addresses import describeAddress
from welcome_protocol.message import Message
from welcome_protocol.settings import ServerSettings


class WelcomeProtocol(Protocol):
    """
    Write the factory's welcome as soon as the connection is made, then close.

    Anything the client sends is discarded: the transport stops reading once
    the connection is closing, and nothing is ever buffered here.
    """

    factory: WelcomeFactory

    def connectionMade(self) -> None:
        """
        Send the welcome and close the connection once it has been written.
        """
        assert self.transport is not None
        self.factory.clientConnected(self.transport.getPeer())
        self.transport.write(self.factory.welcomeFor(self.transport))
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Discard whatever the client sends; the service only talks.
        """


class WelcomeFactory(ServerFactory):
    """
    Build L{WelcomeProtocol}s that all send the same, pre-encoded welcome.

    @ivar settings: The validated configuration of the service.
    @ivar welcome: The bytes written to every client, encoded once here,
        unless the message has placeholders.
    @ivar template: The message with placeholders, filled in for each
        client, or L{None}.
    @ivar clock: Tells the time for C{{time}}.
    """

    protocol = WelcomeProtocol  # type: ignore[assignment]
    # The listener logs where it listens; "Starting factory <...>" adds nothing.
    noisy = False
    _log = Logger()

    def __init__(
        self, settings: ServerSettings, clock: IReactorTime | None = None
    ) -> None:
        self.settings = settings
        self.welcome: bytes = settings.message
        self.template: Message | None = settings.template
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        self.clock: IReactorTime = clock

    def welcomeFor(self, transport: ITransport) -> bytes:
        """
        The bytes to write to the client on C{transport}.

        @return: The pre-encoded welcome, or the template filled in with the
            connection's addresses and the time.
        """
        template = self.template
        if template is None:
            return self.welcome
        return template.render(
            transport.getPeer(), transport.getHost(), self.clock.seconds()
        )

    def setMessage(self, message: Message) -> None:
        """
        Send C{message} to every client from now on (after a reload).
        """
        if message.constant is None:
            self.template = message
        else:
            self.welcome, self.template = message.constant, None

    def clientConnected(self, peer: IAddress) -> None:
        """
        Record a new client in the service's log, if connections are logged.

        @param peer: The client's address.
        """
        if self.settings.logConnections:
            self._log.info("Welcomed {peer}", peer=describeAddress(peer))
