# -*- test-case-name: tests.test_backlog -*-
"""
The listen backlog: how many connections the kernel queues before we accept.

Twisted's C{listenTCP} default of 50 drops SYNs in a burst of a few hundred
clients, and each dropped SYN costs its client the kernel's 1 s retransmit.
The kernel silently caps any backlog at C{net.core.somaxconn}, so asking for
more than that gains nothing; the default here is the larger of the two
that the kernel will honour.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from welcome_protocol.shared.descriptions import endpointType, withoutProxy

MAX_DEFAULT_BACKLOG = 4096
SOMAXCONN_PATH = Path("/proc/sys/net/core/somaxconn")


def kernelBacklogCap(path: Path = SOMAXCONN_PATH) -> int:
    """
    Read the kernel's cap on listen backlogs.

    @param path: Where Linux publishes C{net.core.somaxconn}.
    @return: The cap, or C{socket.SOMAXCONN} where it cannot be read (not
        Linux, or a sandbox without C{/proc}).
    """
    try:
        value = int(path.read_text().strip())
    except (OSError, ValueError):
        return socket.SOMAXCONN
    return value if value > 0 else socket.SOMAXCONN


def defaultBacklog(path: Path = SOMAXCONN_PATH) -> int:
    """
    @param path: Where Linux publishes C{net.core.somaxconn}.
    @return: A backlog that holds a burst: C{min(4096, somaxconn)}.
    """
    return min(MAX_DEFAULT_BACKLOG, kernelBacklogCap(path))


# Endpoint types whose Twisted parsers take a backlog= parameter.
_TAKES_BACKLOG = frozenset({"tcp", "tcp6", "ssl", "unix", "redirect", "tproxy"})


def withBacklog(description: str, backlog: int) -> str:
    """
    Add C{backlog=BACKLOG} to an endpoint description that listens itself
    and does not set one.

    @param description: A server endpoint description, e.g. C{tcp:12000}
        or C{haproxy:unix:/run/welcome.sock}.
    @param backlog: The backlog to add.
    @return: The description, with the backlog when it applies.  Others
        (C{systemd:} sockets, listened on by systemd with its C{Backlog=})
        are returned as they are.
    """
    inner = withoutProxy(description)
    kind = endpointType(inner)
    if kind not in _TAKES_BACKLOG or re.search(r"(^|:)backlog=", inner):
        return description
    return f"{description}:backlog={backlog}"
