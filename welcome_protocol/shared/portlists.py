# -*- test-case-name: tests.test_portlists -*-
"""
Port lists as people write them: C{22,80,20000-20099}.

The client's C{--ports}, C{--expect-closed} and targets (C{HOST:20000-20099})
and the server's port ranges share this one syntax.
"""

from __future__ import annotations

MAX_PORT = 65535


def isPortList(text: str) -> bool:
    """
    @return: Whether C{text} names more than one port (it has a C{,} or a
        C{-}), so a target holding it is checked port by port.
    """
    return "," in text or "-" in text


def _port(text: str) -> int:
    if not text:
        raise ValueError("not a port list such as 22,80,20000-20099")
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PORT:
        raise ValueError(f"{text!r} is not a port from 1 to {MAX_PORT}")
    return int(text)


def parsePorts(text: str) -> tuple[int, ...]:
    """
    Read a list of ports and ranges, e.g. C{22,80,20000-20099}.

    Ranges include both ends; a port named twice is kept once, where it was
    first named.

    @return: The ports, in the order written.
    @raise ValueError: For an empty item, a port outside 1-65535 or a range
        whose start is above its end, naming the item (the caller names the
        option or the target).
    """
    ports: dict[int, None] = {}
    for item in text.split(","):
        item = item.strip()
        first, dash, last = item.partition("-")
        start = _port(first.strip())
        end = _port(last.strip()) if dash else start
        if start > end:
            raise ValueError(f"the range {item!r} ends before it starts")
        for port in range(start, end + 1):
            ports.setdefault(port)
    return tuple(ports)
