# -*- test-case-name: tests.test_exporter_portlist -*-
"""
C{ports=22,80,8000-8100&expect_closed=23}: many ports of one host in one
scrape.

The ports are probed in parallel, each under the cap on probes in flight
that all scrapes share (L{ProbeSlots}), a port list taking at most half of
it.  Each port gets its series:
C{probe_port_success{port}} (whether the port was as expected),
C{probe_port_duration_seconds{port}} and C{probe_port_state_info{port,
state}}; C{probe_success} is 1 only if every port was as expected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from twisted.internet.defer import Deferred, DeferredSemaphore

from welcome_protocol.shared.portlists import parsePorts

_T = TypeVar("_T")

MAX_PORTS = 1024
"""
Ports in one scrape, at most (C{--max-ports}).
"""


class PortListError(ValueError):
    """
    The port list is bad or too long; C{str()} says why in one line.
    """


def parsePortList(
    ports: str, expectClosed: str, limit: int
) -> tuple[tuple[int, ...], frozenset[int]]:
    """
    Read C{ports=} and C{expect_closed=}.

    A port named only in C{expect_closed} is probed too.

    @param limit: The most ports allowed.
    @return: Every port to probe, in order, and those expected closed.
    @raise PortListError: For a bad list or more than C{limit} ports.
    """
    try:
        open_ = parsePorts(ports) if ports else ()
        closed = parsePorts(expectClosed) if expectClosed else ()
    except ValueError as e:
        raise PortListError(f"bad port list: {e}") from None
    every = tuple(dict.fromkeys(open_ + closed))
    if len(every) > limit:
        raise PortListError(f"{len(every)} ports asked for; at most {limit} per scrape")
    return every, frozenset(closed)


class ProbeSlots:
    """
    The cap on probes in flight, shared by every scrape: a probe waits for
    a slot (within its scrape's deadline) and gives it back when done.

    @ivar limit: Probes at once, at most.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore = DeferredSemaphore(limit)

    @property
    def share(self) -> int:
        """
        Slots one port list may hold at once: half of them, so that a long
        list of silent ports leaves room for the other scrapes.
        """
        return max(1, self.limit // 2)

    @property
    def inFlight(self) -> int:
        """
        Probes holding a slot now.
        """
        return self.limit - self._semaphore.tokens

    @property
    def waiting(self) -> int:
        """
        Probes waiting for a slot.
        """
        return len(self._semaphore.waiting)

    def run(self, probe: Callable[[], Deferred[_T]]) -> Deferred[_T]:
        """
        Run C{probe} once a slot is free, and give the slot back when its
        Deferred fires, however it ends.

        @return: Fires with C{probe}'s result; cancelling it stops the wait
            for a slot, or cancels the probe.
        """
        return self._semaphore.run(probe)


def portsText(ports: Sequence[int]) -> str:
    """
    @return: C{ports} for a log line, ranges folded (C{20-25,80}).
    """
    parts: list[str] = []
    start = previous = None
    for port in [*sorted(ports), None]:
        if port is not None and previous is not None and port == previous + 1:
            previous = port
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = port
    return ",".join(parts)
