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

import socket
from pathlib import Path

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
