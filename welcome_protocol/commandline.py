# -*- test-case-name: tests.test_commandline -*-
"""
Option values both commands share, read and checked the same way.

Kept apart from the server and client modules so that each command imports
only what it runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network

from twisted.python import usage

from welcome_protocol import __version__


def versionText() -> str:
    """
    @return: The versions users report bugs with, e.g. for C{--version}.
    """
    from twisted import __version__ as twistedVersion

    return f"welcome-protocol {__version__} (Twisted {twistedVersion})"


def parsePort(text: str, minimum: int = 0) -> int:
    """
    Read a TCP port number the way the C{--port} options accept it.

    @param text: What the user wrote.
    @param minimum: The lowest port allowed: 0 for a server (the kernel
        picks a free port), 1 for a client.
    @return: The port.
    @raise usage.UsageError: For anything else, naming the bad value.
    """
    digits = text.strip()
    port = int(digits) if digits.isascii() and digits.isdigit() else -1
    if not minimum <= port <= 65535:
        raise usage.UsageError(
            f"--port must be an integer from {minimum} to 65535, not {text!r}"
        )
    return port


def parsePositive(name: str, text: object, kind: type[float] | type[int]) -> float:
    """
    Read a number above 0 (finite), as C{--timeout}-like options take them.

    @param name: The option, for the message.
    @param text: What the user wrote.
    @param kind: C{float} or C{int}.
    @raise usage.UsageError: Naming the option and the bad value.
    """
    try:
        value = kind(str(text))
    except ValueError:
        value = 0
    if not value > 0 or value != value or value == float("inf"):
        noun = "a whole number" if kind is int else "a number"
        raise usage.UsageError(f"{name} must be {noun} above 0, not {text!r}")
    return value


def parseCount(option: str, text: str, minimum: int, maximum: int) -> int:
    """
    Read a whole number of things, such as C{--max-connections}.

    @param option: The option's name, for the message.
    @param text: What the user wrote.
    @param minimum: The smallest value allowed.
    @param maximum: The largest value allowed.
    @return: The number.
    @raise usage.UsageError: Naming the option and the bad value.
    """
    digits = text.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() else -1
    if not minimum <= value <= maximum:
        raise usage.UsageError(
            f"--{option} must be an integer from {minimum} to {maximum}, not {text!r}"
        )
    return value


def parseSeconds(option: str, text: str) -> float:
    """
    Read a duration in seconds, such as C{--idle-timeout 2.5}; 0 allowed.

    @param option: The option's name, for the message.
    @param text: What the user wrote.
    @return: The seconds, a finite number of at least 0.
    @raise usage.UsageError: Naming the option and the bad value.
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise usage.UsageError(
            f"--{option} must be a number of seconds, 0 or more, not {text!r}"
        )
    return value


def parseNetworks(
    texts: Sequence[str], option: str = "proxy-from"
) -> tuple[IPv4Network | IPv6Network, ...] | None:
    """
    Read networks in CIDR notation, such as C{--proxy-from 10.0.0.0/8}.

    @param texts: What the user wrote, one network each; an address alone
        is a network of one.
    @param option: The option's name, for the message.
    @return: The networks, or L{None} if there were none.
    @raise usage.UsageError: Naming the option and the bad value.
    """
    networks = []
    for text in texts:
        try:
            networks.append(ip_network(text.strip()))
        except ValueError as e:
            why = "has host bits set" if "host bits" in str(e) else "is not"
            if why == "is not":
                raise usage.UsageError(
                    f"--{option} must be a network such as 10.0.0.0/8, not {text!r}"
                ) from None
            loose = ip_network(text.strip(), strict=False)
            raise usage.UsageError(
                f"--{option} {text!r} {why}: write {loose} instead"
            ) from None
    return tuple(networks) or None
