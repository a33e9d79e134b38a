# -*- test-case-name: tests.test_client_udpprobe -*-
"""
One UDP probe: send a padded datagram, wait, send again, and tell a reply,
a refusal and silence apart.

UDP has no handshake, so a probe is a datagram and a wait:

  - a reply is the welcome, and proves the path works both ways;
  - an ICMP port unreachable means the host is there and nothing listens
    on the port.  The socket is connected (C{connect()} on a UDP socket
    names its one peer), so the kernel reports the ICMP error as
    C{ECONNREFUSED} on the next call, and Twisted as C{connectionRefused};
  - silence is all that is left, and it cannot say more than "open or
    filtered": the datagram, or its reply, may have been dropped by a
    firewall, or lost, or the port is open and the service ignores us.

Datagrams get lost, so the probe is sent again: C{retries} more times, the
timeout shared evenly between the tries.  The probe is padded (to 1,200
bytes by default, the size QUIC pads its first datagram to) because the
server answers only datagrams larger than its welcome.

Each probe is timed from the last datagram sent to the reply.  A reply to
an earlier try that arrives after a later one was sent is timed from the
later one: the time is never more than the true round trip.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import time
from collections.abc import Callable
from typing import Any, cast

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IHostResolution,
    IListeningPort,
    IReactorPluggableNameResolver,
    IReactorTime,
    IResolutionReceiver,
    ISystemHandle,
)
from twisted.internet.protocol import DatagramProtocol
from zope.interface import implementer

from welcome_protocol.client.probe import (
    CLOSED_WITHOUT_WELCOME,
    DNS,
    REFUSED,
    TIMEOUT,
    UNREACHABLE,
    ProbeResult,
)
from welcome_protocol.client.reactors import UDPProbeReactor
from welcome_protocol.client.resolving import DOES_NOT_RESOLVE, ThreadedResolver
from welcome_protocol.client.target import FAMILIES, addressFamily

DEFAULT_PAD = 1200
DEFAULT_RETRIES = 2
MAX_PAD = 65507
"""
The largest UDP payload over IPv4 (65,535 less the IPv4 and UDP headers).
"""

PROBE_TEXT = b"welcome-client UDP probe; padded so that the reply is smaller\n"
"""
What the probe starts with, so that a capture shows what it is; the rest is
zero bytes.
"""

Now = Callable[[], float]


def probeDatagram(size: int) -> bytes:
    """
    @param size: The probe's size in bytes.
    @return: L{PROBE_TEXT} padded with zero bytes to C{size} (or cut to it).
    """
    return PROBE_TEXT[:size] + b"\0" * max(0, size - len(PROBE_TEXT))


@implementer(IResolutionReceiver)
class _FirstAddress:
    """
    Keep the first IPv4 or IPv6 address a resolution yields.
    """

    def __init__(self) -> None:
        self.address: str | None = None
        self.done: Deferred[str | None] = Deferred()

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """
        Nothing to do until addresses arrive.
        """

    def addressResolved(self, address: IAddress) -> None:
        """
        Keep the first address.
        """
        if self.address is None and isinstance(address, (IPv4Address, IPv6Address)):
            self.address = address.host

    def resolutionComplete(self) -> None:
        """
        Deliver the address, or L{None} if there was none.
        """
        self.done.callback(self.address)


def resolveForUDP(
    reactor: IReactorPluggableNameResolver, host: str, port: int, family: int | None
) -> Deferred[str | None]:
    """
    The address to send to: C{host} itself if it is one, else the first
    address of the family that its name resolves to, without blocking.

    @param reactor: Provides C{nameResolver}.
    @param family: 4 or 6 for that family only, or L{None} for either.
    @return: Fires with the address, or L{None} if there is none.
    """
    if addressFamily(host) is not None:
        found: Deferred[str | None] = Deferred()
        found.callback(host)
        return found
    receiver = _FirstAddress()
    types = None if family is None else [FAMILIES[family]]
    reactor.nameResolver.resolveHostName(
        receiver, host.encode("idna").decode("ascii"), port, types, "UDP"
    )
    return receiver.done


class UDPProbeProtocol(DatagramProtocol):
    """
    Send the probe to one address and port, again until a reply, a refusal,
    or the last try's wait is over.

    @ivar outcome: Fires once with the L{ProbeResult}.
    @ivar tries: Datagrams sent so far.
    """

    noisy = False

    def __init__(
        self,
        address: str,
        port: int,
        target: str,
        clock: IReactorTime,
        timeout: float,
        retries: int,
        pad: int,
        maxBytes: int,
        now: Now,
        budget: float | None = None,
    ) -> None:
        """
        @param timeout: The probe's timeout, as the messages name it.
        @param budget: Seconds left for the tries (the timeout less the time
            resolving took); the timeout by default.
        """
        self._address = address
        self._port = port
        self._target = target
        self._clock = clock
        self._timeout = timeout
        self._tries = retries + 1
        self._wait = (timeout if budget is None else budget) / self._tries
        self._datagram = probeDatagram(pad)
        self._maxBytes = maxBytes
        self._now = now
        self._sentAt = 0.0
        self._timer: IDelayedCall | None = None
        self._udpPort: object = None
        self._sendTo: tuple[Any, ...] | None = None
        self.tries = 0
        self.outcome: Deferred[ProbeResult] = Deferred()

    def startProtocol(self) -> None:
        """
        Connect the socket to the server, so ICMP errors reach us, and send
        the first try.
        """
        assert self.transport is not None
        # Twisted clears self.transport before stopProtocol; keep the port.
        self._udpPort = self.transport
        if "%" in self._address and ISystemHandle.providedBy(self.transport):
            # A zoned IPv6 literal (fe80::1%eth0): Twisted's connect() drops
            # the zone (EINVAL), so the socket is connected to the address
            # with its scope, and each datagram is sent to it by name.
            handle = cast(socket.socket, self.transport.getHandle())
            try:
                found = socket.getaddrinfo(
                    self._address,
                    self._port,
                    socket.AF_INET6,
                    socket.SOCK_DGRAM,
                    0,
                    socket.AI_NUMERICHOST,
                )
                handle.connect(found[0][4])
            except OSError as e:
                why = (e.strerror or str(e)).lower()
                self._finish(
                    ProbeResult(UNREACHABLE, f"cannot probe {self._target}: {why}", why)
                )
                return
            self._sendTo = found[0][4]
        else:
            self.transport.connect(self._address, self._port)
        self._send()

    def _send(self) -> None:
        self._timer = None
        if self.outcome.called:
            return
        if self.tries == self._tries:
            why = (
                f"no reply within {self._timeout:g} s ({self.tries} tries): "
                f"the port is open or filtered{self._padHint()}"
            )
            self._finish(
                ProbeResult(
                    TIMEOUT,
                    f"no reply from {self._target} within {self._timeout:g} s "
                    f"({self.tries} tries): the port is open or filtered"
                    f"{self._padHint()}",
                    why,
                    tries=self.tries,
                )
            )
            return
        self.tries += 1
        self._sentAt = self._now()
        assert self.transport is not None
        try:
            self.transport.write(self._datagram, self._sendTo)
        except OSError as e:
            why = (e.strerror or str(e)).lower()
            self._finish(
                ProbeResult(
                    UNREACHABLE,
                    f"cannot send to {self._target}: {why}",
                    why,
                    tries=self.tries,
                )
            )
            return
        if not self.outcome.called:
            self._timer = self._clock.callLater(self._wait, self._send)

    def _padHint(self) -> str:
        """
        A welcome server drops, without a word, a datagram no larger than
        its welcome (its size rule against amplification): silence to a
        probe smaller than the default may be that rule, which the client
        cannot tell apart from a filter, so it says what to try.
        """
        size = len(self._datagram)
        if size >= DEFAULT_PAD:
            return ""
        return (
            f", or a welcome server dropped the {size}-byte probe as no "
            f"larger than its welcome: pad the probe (--pad {DEFAULT_PAD})"
        )

    def datagramReceived(self, datagram: bytes, addr: object) -> None:
        """
        The reply: the welcome, timed from the last try sent.
        """
        if self.outcome.called:
            return
        if not datagram:
            # The path works both ways, but nothing was said: no welcome.
            why = "replied with an empty datagram: no welcome"
            self._finish(
                ProbeResult(
                    CLOSED_WITHOUT_WELCOME,
                    f"{self._target} {why}",
                    why,
                    address=self._address,
                    tries=self.tries,
                )
            )
            return
        self._finish(
            ProbeResult(
                None,
                address=self._address,
                welcomeSeconds=self._now() - self._sentAt,
                welcome=datagram[: self._maxBytes],
                tries=self.tries,
                truncated=len(datagram) > self._maxBytes,
            )
        )

    def connectionRefused(self) -> None:
        """
        An ICMP port unreachable came back: nothing listens on the port.
        """
        if self.outcome.called:
            return
        why = "refused: ICMP port unreachable, nothing listens on that UDP port"
        self._finish(
            ProbeResult(
                REFUSED,
                f"{self._target} {why}",
                why,
                address=self._address,
                tries=self.tries,
            )
        )

    def stopProtocol(self) -> None:
        """
        The port closed before an outcome: say why, from the socket's
        pending error.

        With the epoll reactor, an ICMP error on a connected UDP socket
        shows as C{EPOLLERR} without C{EPOLLIN}, which Twisted takes for a
        lost connection: it closes the port without calling
        L{connectionRefused}.  The socket still holds the error
        (C{SO_ERROR}) when the protocol is stopped, just before the port
        closes it, so it is read here.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.outcome.called:
            return
        code = 0
        transport = self._udpPort
        if ISystemHandle.providedBy(transport):
            handle = cast(socket.socket, transport.getHandle())
            with contextlib.suppress(OSError):
                code = handle.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code == errno.ECONNREFUSED:
            self.connectionRefused()
            return
        why = os.strerror(code).lower() if code else "the socket closed"
        self.outcome.callback(
            ProbeResult(
                UNREACHABLE,
                f"cannot probe {self._target}: {why}",
                why,
                address=self._address,
                tries=self.tries,
            )
        )

    def cancel(self) -> None:
        """
        Stop sending; the outcome will not fire.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _finish(self, result: ProbeResult) -> None:
        self.cancel()
        self.outcome.callback(result)


class _UDPProbe:
    """
    One probe's steps: resolve, listen, let the protocol send and wait;
    whichever ends first (an outcome, the deadline, a cancel) ends it.
    """

    def __init__(
        self,
        reactor: UDPProbeReactor,
        target: str,
        timeout: float,
        now: Now,
    ) -> None:
        self._reactor = reactor
        self._target = target
        self._timeout = timeout
        self._now = now
        self._started = now()
        self._protocol: UDPProbeProtocol | None = None
        self._listening: IListeningPort | None = None
        self.result: Deferred[ProbeResult] = Deferred(lambda _: self._stop())
        # Bounds resolving, which the protocol's own tries do not cover.
        self._deadline = reactor.callLater(timeout, self._resolvingTimedOut)

    def resolved(
        self,
        address: str | None,
        port: int,
        retries: int,
        pad: int,
        maxBytes: int,
        host: str | None = None,
    ) -> None:
        """
        Start sending to C{address}, or report that the name has none (and
        why, as the resolver noted it for C{host}).
        """
        if self.result.called:
            return
        if self._deadline.active():
            self._deadline.cancel()
        if address is None:
            why = DOES_NOT_RESOLVE
            resolver = self._reactor.nameResolver
            if isinstance(resolver, ThreadedResolver) and host is not None:
                why = resolver.problem(host.encode("idna").decode("ascii")) or why
            self._deliver(
                ProbeResult(DNS, f"cannot probe {self._target}: {why}", why, tries=0)
            )
            return
        left = max(0.001, self._timeout - (self._now() - self._started))
        protocol = self._protocol = UDPProbeProtocol(
            address,
            port,
            self._target,
            self._reactor,
            self._timeout,
            retries,
            pad,
            maxBytes,
            self._now,
            left,
        )
        interface = "::" if ":" in address else ""
        try:
            self._listening = self._reactor.listenUDP(
                0, protocol, interface, min(maxBytes, 65535)
            )
        except (CannotListenError, OSError) as e:
            why = str(e).lower()
            self._deliver(
                ProbeResult(
                    UNREACHABLE, f"cannot probe {self._target}: {why}", why, tries=0
                )
            )
            return
        protocol.outcome.addCallback(self._deliver)

    def _resolvingTimedOut(self) -> None:
        why = f"timed out after {self._timeout:g} s resolving the host name"
        self._deliver(
            ProbeResult(TIMEOUT, f"cannot probe {self._target}: {why}", why, tries=0)
        )

    def _deliver(self, outcome: ProbeResult) -> None:
        self._stop()
        if not self.result.called:
            self.result.callback(outcome)

    def _stop(self) -> None:
        if self._deadline.active():
            self._deadline.cancel()
        if self._protocol is not None:
            self._protocol.cancel()
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.stopListening()


def udpProbe(
    reactor: UDPProbeReactor,
    host: str,
    port: int,
    target: str,
    timeout: float,
    retries: int = DEFAULT_RETRIES,
    pad: int = DEFAULT_PAD,
    maxBytes: int = 65536,
    family: int | None = None,
    now: Now = time.monotonic,
) -> Deferred[ProbeResult]:
    """
    Probe C{host}'s UDP C{port}.

    @param reactor: Resolves, listens and keeps time.
    @param target: How to name the server in messages.
    @param timeout: Seconds for the whole probe, resolving included.
    @param retries: Tries after the first.
    @param pad: The probe's size in bytes.
    @param maxBytes: Most bytes of the reply kept.
    @param family: 4 or 6 to use only that address family.
    @param now: The monotonic clock the reply is timed with.
    @return: A L{Deferred} that always fires with a L{ProbeResult};
        cancelling it stops the probe.
    """
    probe = _UDPProbe(reactor, target, timeout, now)
    resolveForUDP(reactor, host, port, family).addCallback(
        probe.resolved, port, retries, pad, maxBytes, host
    )
    return probe.result
