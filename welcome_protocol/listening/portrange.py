# -*- test-case-name: tests.test_portrange -*-
"""
A port range as one listener: a L{ListeningService} per port, one line.

Each port of C{tcp:20000-20099} is its own listening socket with its own
service, built like any other; this parent starts and stops them together
and logs one start-up line for the range instead of a hundred.
"""

from __future__ import annotations

from collections.abc import Sequence

from twisted.application.service import MultiService
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.logger import Logger

from welcome_protocol.listening.service import ListeningService


def describeRange(services: Sequence[ListeningService]) -> str:
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
    @ivar listeners: One L{ListeningService} per port, in port order.
    """

    _log = Logger()

    def __init__(self, description: str, listeners: Sequence[ListeningService]):
        super().__init__()  # type: ignore[no-untyped-call]
        self.description = description
        self.listeners = list(listeners)
        for listener in self.listeners:
            listener.announce = False
            listener.setServiceParent(self)  # type: ignore[no-untyped-call]

    def privilegedStartService(self) -> None:
        """
        Listen on every port (before twistd drops privileges), then log the
        range's one line; the first port that fails stops the start-up with
        its own one-line reason.
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]
        self._announce()

    def startService(self) -> None:
        """
        Listen, unless L{privilegedStartService} already did.
        """
        listening = all(listener.port is not None for listener in self.listeners)
        super().startService()  # type: ignore[no-untyped-call]
        if not listening:
            self._announce()

    def _announce(self) -> None:
        if all(listener.port is not None for listener in self.listeners):
            self._log.info(
                "Listening on {address} ({description}), {count} ports",
                address=describeRange(self.listeners),
                description=self.description,
                count=len(self.listeners),
            )
