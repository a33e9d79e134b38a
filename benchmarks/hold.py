"""Hold mode: how much memory each connection kept open costs a server.

Why: a greeting service run with ``--keep-open`` (or one that many slow
clients hold on to) spends memory per open connection, not CPU per greeting;
this opens N connections, checks each got the greeting, and reads the
server's RSS before and after.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.servers import GREETING, LOOPBACK, ServerError


@dataclass
class HoldResult:
    """What holding N connections cost one server."""

    name: str
    description: str
    held: int
    rss_idle_kib: int
    rss_held_kib: int
    seconds_to_open: float

    @property
    def bytes_per_connection(self) -> float:
        """RSS growth per held connection, in bytes."""
        return (self.rss_held_kib - self.rss_idle_kib) * 1024 / max(self.held, 1)


def make_room(count: int) -> None:
    """Raise this process's open-file limit for ``count`` client sockets.

    :raises ServerError: if the hard limit is too low.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = count + 256
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        raise ServerError(
            f"holding {count:,} connections needs {need:,} open files; the hard "
            f"limit is {hard:,} (ulimit -Hn)"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def open_held(
    port: int, count: int, timeout: float, check_alive: Callable[[], None]
) -> list[socket.socket]:
    """Open ``count`` connections, one after the other, each greeted.

    Each connection is made and its greeting read before the next: the
    server has accepted it by then, so the backlog never overflows.

    :raises ServerError: if a connection fails or gets another greeting.
    """
    held: list[socket.socket] = []
    try:
        for i in range(count):
            if i % 1000 == 0:
                check_alive()
            s = socket.create_connection((LOOPBACK, port), timeout=timeout)
            held.append(s)
            got = b""
            while len(got) < len(GREETING):
                chunk = s.recv(len(GREETING) - len(got))
                if not chunk:
                    break
                got += chunk
            if got != GREETING:
                raise ServerError(
                    f"held connection {i + 1}: expected {GREETING!r}, got {got!r}"
                )
    except OSError as e:
        close_all(held)
        raise ServerError(f"held connection {len(held) + 1}: {e}") from None
    except BaseException:
        close_all(held)
        raise
    return held


def close_all(sockets: list[socket.socket]) -> None:
    """Close every socket (with RST, so no TIME_WAIT is left behind)."""
    linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
    for s in sockets:
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.close()
    sockets.clear()


def measure_hold(
    name: str,
    description: str,
    port: int,
    count: int,
    rss_kib: Callable[[], int],
    check_alive: Callable[[], None],
    timeout: float = 5.0,
) -> HoldResult:
    """Hold ``count`` connections to a running server and read its RSS."""
    time.sleep(0.2)
    idle = rss_kib()
    started = time.monotonic()
    held = open_held(port, count, timeout, check_alive)
    try:
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # let the server finish its work for the last ones
        check_alive()
        full = rss_kib()
    finally:
        close_all(held)
    return HoldResult(name, description, count, idle, full, elapsed)
