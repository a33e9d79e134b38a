# -*- test-case-name: tests.test_portrange -*-
"""
A port range as one listener: a service per port, one line.

Each port of C{tcp:20000-20099} (or C{udp:20000-20099}) is its own
listening socket with its own service, built like any other; this parent
starts and stops them together and logs one start-up line and one shutdown
line for the range instead of a hundred.  What the ports of a range share
(the warnings of running out of descriptors, the UDP read budget and logs)
is given to each of them by L{welcome_protocol.listening.builder}.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from twisted.application.service import IService, MultiService
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger

from welcome_protocol.listening.service import firstFailure


class PortListener(Protocol):
    """
    What a range needs of the service of each of its ports (an
    L{IService} as well): both
    L{welcome_protocol.listening.service.ListeningService} and
    L{welcome_protocol.listening.datagram.DatagramListeningService} have it.

    @ivar description: The port's own description.
    @ivar port: The listening port once listening, else L{None}.
    @ivar announce: Whether the port's service logs its own start-up line.
    """

    description: str
    port: IListeningPort | None
    announce: bool

    def whenListening(self) -> Deferred[str]:
        """
        @return: Fires with the address once listening.
        """


def describeRange(services: Sequence[PortListener]) -> str:
    """
    @return: The addresses listened on, as C{127.0.0.1:20000-20099}, or the
        first and last addresses if they are not one host's consecutive
        ports.
    """
    addresses: list[IPv4Address | IPv6Address] = []
    for service in services:
        host = service.port.getHost() if service.port is not None else None
        if not isinstance(host, (IPv4Address, IPv6Address)):
            return f"{len(services)} ports"
        addresses.append(host)
    if not addresses:
        return "no ports"
    first, last = addresses[0], addresses[-1]
    name = f"[{first.host}]" if ":" in first.host else first.host
    ports = [a.port for a in addresses]
    consecutive = ports == list(range(first.port, first.port + len(ports)))
    if consecutive and all(a.host == first.host for a in addresses):
        return f"{name}:{first.port}-{last.port}"
    return f"{name}:{','.join(map(str, ports))}"


class PortRangeService(MultiService):
    """
    Listen on every port of a range, and say so in one line.

    @ivar description: The range as the user wrote it.
    @ivar listeners: One service per port, in port order.
    """

    _log = Logger()

    def __init__(self, description: str, listeners: Sequence[PortListener]):
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
        self.description = description
        self.listeners = list(listeners)
        for listener in self.listeners:
            listener.announce = False
            IService(listener).setServiceParent(self)

    def privilegedStartService(self) -> None:
        """
        Listen on every port (before twistd drops privileges), then log the
        range's one line; the first port that fails stops the start-up with
        its own one-line reason.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
        self._announce()

    def startService(self) -> None:
        """
        Listen, unless L{privilegedStartService} already did.
        """
        listening = all(listener.port is not None for listener in self.listeners)
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
        if not listening:
            self._announce()

    def whenListening(self) -> Deferred[str]:
        """
        @return: A L{Deferred} that fires with the range's addresses once
            every port listens, or fails with the first port's failure.
        """
        return gatherResults(
            [listener.whenListening() for listener in self.listeners],
            consumeErrors=True,
        ).addCallbacks(lambda _: describeRange(self.listeners), firstFailure)

    def stopService(self) -> Deferred[object]:
        """
        Stop every port, then log the range's one shutdown line.
        """
        address = describeRange(self.listeners)
        stopping: Deferred[object] = super().stopService()  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated

        def said(result: object) -> object:
            self._log.info(
                "Stopped listening on {address} ({description}), {count} ports",
                address=address,
                description=self.description,
                count=len(self.listeners),
            )
            return result

        return stopping.addBoth(said)

    def _announce(self) -> None:
        if all(listener.port is not None for listener in self.listeners):
            self._log.info(
                "Listening on {address} ({description}), {count} ports",
                address=describeRange(self.listeners),
                description=self.description,
                count=len(self.listeners),
            )
