# -*- test-case-name: tests.test_commandline -*-
"""
Option values both commands share, read and checked the same way.

Kept apart from the server and client modules so that each command imports
only what it runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network

from twisted.copyright import version as twistedVersion
from twisted.python import usage

from welcome_protocol import __version__


def versionText() -> str:
    """
    @return: The versions users report bugs with, e.g. for C{--version}.
    """
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


SHORTEST_SECONDS = 0.001
"""
The shortest duration any option takes (0 aside, where it means "never"):
timers are not more precise than a millisecond.
"""

LONGEST_COUNT = 2**20
"""
The most connections any count option allows (C{--max-connections} and the
like): Linux's default ceiling on a process's open files (C{fs.nr_open}).
"""

_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def _decimal(text: str) -> float | None:
    """
    @return: C{text} as a number if it is one in plain ASCII decimal notation
        (C{2}, C{0.5}, C{1e3}), else L{None}: no sign, no C{_}, no C{nan}
        or C{inf}.
    """
    stripped = text.strip()
    if _DECIMAL.fullmatch(stripped) is None:
        return None
    return float(stripped)


def _g(number: float) -> str:
    """
    @return: C{number} as the messages write a bound: C{0.001}, C{86400}.
    """
    return f"{number:.15g}"


def parsePositive(
    name: str, text: object, kind: type[float] | type[int], maximum: float
) -> float:
    """
    Read a number above 0, as C{--timeout}-like options take them: a whole
    number from 1 for C{int}, from L{SHORTEST_SECONDS} for C{float}.

    @param name: The option, for the message.
    @param text: What the user wrote.
    @param kind: C{float} or C{int}.
    @param maximum: The largest value allowed.
    @raise usage.UsageError: Naming the option, the range and the bad value.
    """
    if kind is int:
        return parseCount(name.removeprefix("--"), str(text), 1, int(maximum))
    value = _decimal(str(text))
    if value is None or not SHORTEST_SECONDS <= value <= maximum:
        raise usage.UsageError(
            f"{name} must be a number from {_g(SHORTEST_SECONDS)} to "
            f"{_g(maximum)}, not {text!r}"
        )
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


def parseSeconds(option: str, text: str, maximum: float) -> float:
    """
    Read a duration in seconds, such as C{--idle-timeout 2.5}; 0 allowed,
    meaning "never" or "at once" as the option says.

    @param option: The option's name, for the message.
    @param text: What the user wrote.
    @param maximum: The longest duration allowed.
    @return: The seconds: 0, or from L{SHORTEST_SECONDS} to C{maximum}.
    @raise usage.UsageError: Naming the option, the range and the bad value.
    """
    value = _decimal(text)
    if value is None or not (value == 0 or SHORTEST_SECONDS <= value <= maximum):
        raise usage.UsageError(
            f"--{option} must be 0 or a number of seconds from "
            f"{_g(SHORTEST_SECONDS)} to {_g(maximum)}, not {text!r}"
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
