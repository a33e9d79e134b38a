# -*- test-case-name: tests.test_server -*-
"""
The welcome protocol: greet each client once, then hang up.

Like the one-shot services in C{twisted.protocols.wire} (QOTD, Daytime), the
protocol does one thing and the factory holds the configuration.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger

from welcome_protocol.accesslog import AccessLog
from welcome_protocol.addresses import describeAddress
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
        self.transport.write(self.factory.welcome)
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        Discard whatever the client sends; the service only talks.
        """


class WelcomeFactory(Factory):
    """
    Build L{WelcomeProtocol}s that all send the same, pre-encoded welcome.

    @ivar settings: The validated configuration of the service.
    @ivar welcome: The bytes written to every client, encoded once here.
    @ivar accessLog: Where connections are recorded when they are logged;
        without one, each connection is logged as it happens (slower).
    """

    protocol = WelcomeProtocol  # type: ignore[assignment]
    # The listener logs where it listens; "Starting factory <...>" adds nothing.
    noisy = False
    _log = Logger()

    def __init__(
        self, settings: ServerSettings, accessLog: AccessLog | None = None
    ) -> None:
        self.settings = settings
        self.welcome: bytes = settings.message
        self.accessLog = accessLog

    def clientConnected(self, peer: IAddress) -> None:
        """
        Record a new client in the service's log, if connections are logged.

        @param peer: The client's address.
        """
        if self.settings.logConnections:
            if self.accessLog is not None:
                self.accessLog.record(peer)
            else:
                self._log.info("Welcomed {peer}", peer=describeAddress(peer))
