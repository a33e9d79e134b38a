# -*- test-case-name: tests.test_udp_options -*-
"""
The C{twistd welcome} options of UDP listeners, parsed into
L{DatagramSettings}.

Kept here, beside what they configure, and added to the command's options
as one list, so the command line module only lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from welcome_protocol.shared.commandline import LONGEST_COUNT, parseCount, parsePositive
from welcome_protocol.udp.ratelimit import RateLimit
from welcome_protocol.udp.settings import (
    DEFAULT_BURST,
    DEFAULT_GLOBAL_BURST,
    DEFAULT_GLOBAL_RATE,
    DEFAULT_IPV4_PREFIX,
    DEFAULT_IPV6_PREFIX,
    DEFAULT_RATE,
    DatagramSettings,
)

MAX_RATE = 1e6
"""
The highest C{--udp-rate} and C{--udp-global-rate}: replies a second, far
beyond what one process answers (tens of thousands).
"""

#: C{usage.Options.optParameters} rows.
PARAMETERS: list[list[Any]] = [
    [
        "udp-rate",
        None,
        f"{DEFAULT_RATE:g}",
        "On udp: listeners, replies a second to one source prefix (see "
        "--udp-ipv4-prefix), sustained: 0.001 to 1000000.",
    ],
    [
        "udp-burst",
        None,
        str(DEFAULT_BURST),
        "On udp: listeners, replies to one source prefix in a burst, 1 to "
        f"{LONGEST_COUNT}.",
    ],
    [
        "udp-global-rate",
        None,
        f"{DEFAULT_GLOBAL_RATE:g}",
        "On udp: listeners, replies a second to all sources together: 0.001 "
        "to 1000000.",
    ],
    [
        "udp-global-burst",
        None,
        str(DEFAULT_GLOBAL_BURST),
        "On udp: listeners, replies to all sources together in a burst, 1 "
        f"to {LONGEST_COUNT}.",
    ],
    [
        "udp-ipv4-prefix",
        None,
        str(DEFAULT_IPV4_PREFIX),
        "IPv4 sources whose first this many bits (0 to 32) agree share a UDP "
        "rate limit.",
    ],
    [
        "udp-ipv6-prefix",
        None,
        str(DEFAULT_IPV6_PREFIX),
        "IPv6 sources whose first this many bits (0 to 128) agree share a UDP "
        "rate limit.",
    ],
]


def datagramSettings(options: Mapping[str, Any]) -> DatagramSettings:
    """
    Read the UDP options.

    @param options: The parsed options, by name.
    @raise twisted.python.usage.UsageError: Naming a bad value.
    """
    return DatagramSettings(
        perPrefix=RateLimit(
            parsePositive("--udp-rate", options["udp-rate"], float, MAX_RATE),
            parseCount("udp-burst", str(options["udp-burst"]), 1, LONGEST_COUNT),
        ),
        overall=RateLimit(
            parsePositive(
                "--udp-global-rate", options["udp-global-rate"], float, MAX_RATE
            ),
            parseCount(
                "udp-global-burst", str(options["udp-global-burst"]), 1, LONGEST_COUNT
            ),
        ),
        ipv4Prefix=parseCount(
            "udp-ipv4-prefix", str(options["udp-ipv4-prefix"]), 0, 32
        ),
        ipv6Prefix=parseCount(
            "udp-ipv6-prefix", str(options["udp-ipv6-prefix"]), 0, 128
        ),
    )
