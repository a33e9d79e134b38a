# -*- test-case-name: tests.test_client_options -*-
"""
C{welcome-client --udp}: its options, and what they cannot be combined with.

Kept apart from L{welcome_protocol.client.options}, which lists these rows
and calls L{checkUDP} once the common options are read.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from twisted.python import usage

from welcome_protocol.client.scan.udpscan import DEFAULT_RATE, MAX_RATE
from welcome_protocol.client.udpprobe import DEFAULT_PAD, DEFAULT_RETRIES, MAX_PAD
from welcome_protocol.shared.commandline import parseCount

#: C{usage.Options.optFlags} rows.
FLAGS: list[list[Any]] = [
    [
        "udp",
        "u",
        "Probe a UDP port: send a padded datagram (again, --retries times) "
        "and wait for the welcome. No reply means the port is open or "
        "filtered; an ICMP port unreachable is reported as refused.",
    ],
]

#: C{usage.Options.optParameters} rows.
PARAMETERS: list[list[Any]] = [
    [
        "retries",
        None,
        str(DEFAULT_RETRIES),
        "With --udp: datagrams sent again after the first without a reply, "
        "0 to 100; --timeout is shared evenly between the tries.",
    ],
    [
        "rate",
        None,
        str(DEFAULT_RATE),
        f"With --udp and several ports: new probes a second at most, over the "
        f"whole run, 1 to {MAX_RATE}.",
    ],
    [
        "pad",
        None,
        str(DEFAULT_PAD),
        f"With --udp: the probe's size in bytes, 1 to {MAX_PAD}; the server "
        "answers only datagrams larger than its welcome.",
    ],
]

_NOT_WITH_UDP = ("tls", "connect", "sni", "ca-file", "certificate-days")


def checkUDP(options: MutableMapping[str, Any]) -> None:
    """
    Check the UDP options, and that nothing needing TCP comes with C{--udp}.

    C{--retries} and C{--pad} are checked on their own, as every numeric
    option is, and have no effect without C{--udp}.

    @param options: The client's options, partly parsed; C{retries} and
        C{pad} are made integers.
    @raise usage.UsageError: Naming the problem.
    """
    if options["udp"]:
        for name in _NOT_WITH_UDP:
            if options[name]:
                raise usage.UsageError(f"--{name} cannot be combined with --udp")
    options["retries"] = parseCount("retries", str(options["retries"]), 0, 100)
    options["pad"] = parseCount("pad", str(options["pad"]), 1, MAX_PAD)
    options["rate"] = parseCount("rate", str(options["rate"]), 1, MAX_RATE)
