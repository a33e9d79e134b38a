# -*- test-case-name: tests.test_udp_listener -*-
"""
A service that listens on one UDP port, and explains in one line why not.

The datagram counterpart of L{welcome_protocol.listening.service.ListeningService}:
it listens before twistd drops privileges, fails the start with the same
one-line explanation, and logs where it listens.  It lives here, beside the
stream listener's service, so that C{udp} (the datagram stages) never
imports C{listening}: L{welcome_protocol.listening.builder} builds it.
"""

from __future__ import annotations

from twisted.application.service import Service
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort, IReactorFDSet, IReactorUDP
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from welcome_protocol.listening.service import ListenFailed, explainListenFailure
from welcome_protocol.shared.addresses import describeAddress
from welcome_protocol.udp.description import UDPDescription
from welcome_protocol.udp.port import DatagramPort
from welcome_protocol.udp.transparent import TransparentDatagramPort


class DatagramListeningService(Service):
    """
    Listen on a UDP port with a datagram protocol.

    @ivar port: The listening port once listening, else L{None}.
    @ivar announce: Whether to log the start-up line (a port of a range
        leaves it to L{welcome_protocol.listening.portrange}).
    """

    _log = Logger()

    def __init__(
        self,
        description: str,
        parsed: UDPDescription,
        reactor: IReactorUDP,
        protocol: DatagramProtocol,
        maxPacketSize: int,
    ) -> None:
        """
        @param description: The listener as the user wrote it, for messages.
        @param parsed: Its port and interface.
        @param reactor: Listens.
        @param protocol: Answers the datagrams.
        @param maxPacketSize: Bytes read of each datagram.
        """
        self.description = description
        self._parsed = parsed
        self._reactor = reactor
        self._protocol = protocol
        self._maxPacketSize = maxPacketSize
        self.port: IListeningPort | None = None
        self.announce = True
        self._failure: ListenFailed | None = None

    def privilegedStartService(self) -> None:
        """
        Listen now, so that a low port is bound before privileges drop.

        @raise ListenFailed: Explaining in one line why it cannot.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        self._listen()

    def startService(self) -> None:
        """
        Listen, unless L{privilegedStartService} already did.
        """
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        if self.port is None:
            self._listen()

    def _listen(self) -> None:
        parsed = self._parsed
        interface = parsed.interface
        try:
            port = self._listenUDP(parsed.port, interface)
        except (CannotListenError, OSError) as e:
            self._failure = ListenFailed(explainListenFailure(self.description, e))
            raise self._failure from None
        self.port = port
        if not self.announce:
            return
        self._log.info(
            "Listening on {address}/udp ({description})",
            address=describeAddress(port.getHost()),
            description=self.description,
        )

    def _listenUDP(self, number: int, interface: str) -> IListeningPort:
        reactor = self._reactor
        if not isinstance(reactor, PosixReactorBase):
            # A test's reactor, say: it listens as it likes.
            return reactor.listenUDP(
                number, self._protocol, interface, self._maxPacketSize
            )
        # A real reactor: our own port, which logs its start and close only
        # when it is a listener of its own, not one port of a range.
        kind = TransparentDatagramPort if self._parsed.tproxy else DatagramPort
        port = kind(
            IReactorFDSet(reactor),
            reactor,
            number,
            self._protocol,
            interface,
            self._maxPacketSize,
            announce=self.announce,
        )
        port.startListening()
        return port

    def whenListening(self) -> Deferred[str]:
        """
        @return: A L{Deferred} that fires with the address listened on once
            listening, or fails with L{ListenFailed}.  Listening on UDP is
            synchronous: call this once the service has started.
        """
        if self._failure is not None:
            return fail(self._failure)
        if self.port is None:
            return fail(ListenFailed(f"{self.description}: not started"))
        return succeed(describeAddress(self.port.getHost()))

    def stopService(self) -> Deferred[None] | None:
        """
        Stop listening.
        """
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        if self.port is None:
            return None
        port, self.port = self.port, None
        stopped = port.stopListening()
        return stopped if isinstance(stopped, Deferred) else None
