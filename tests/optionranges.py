"""
The range of every numeric option of both commands, and values on either side
of it, for the tests that parse them in-process and those that run the
installed commands.
"""

from __future__ import annotations

from attrs import frozen

from welcome_protocol.client.options import MAX_BYTES, MAX_COUNT, MAX_SECONDS
from welcome_protocol.client.scan.scanner import MAX_PARALLEL
from welcome_protocol.client.udpprobe import MAX_PAD
from welcome_protocol.configuration.settings import (
    MAX_HANDSHAKE_TIMEOUT,
    MAX_IDLE_TIMEOUT,
    MAX_SHUTDOWN_TIMEOUT,
)
from welcome_protocol.metrics.deadline import MAX_REQUEST_DEADLINE
from welcome_protocol.shared.commandline import LONGEST_COUNT
from welcome_protocol.udp.options import MAX_RATE
from welcome_protocol.workers.pool import MAX_WORKERS

NOT_DECIMAL = ["nan", "inf", "1_0", "+1", "0x10", "ten"]
"""
Numbers Python's C{float()} or C{int()} may read, and words: never a value.
"""


@frozen
class OptionRange:
    """
    One numeric option and what it accepts.

    @ivar option: Its name, without C{--}.
    @ivar kind: C{"seconds"} (0, or a duration from 0.001), C{"positive"}
        (a duration from 0.001), C{"count"} (a whole number) or
        C{"ports"} (a whole number, or a range of them, which the error
        names).
    @ivar low: The smallest value, or the smallest duration above 0.
    @ivar high: The largest value.
    """

    option: str
    kind: str
    low: float
    high: float

    def accepted(self) -> list[str]:
        """
        @return: Values within the range: its bounds, and 0 where it is one.
        """
        values = [_number(self.low), _number(self.high)]
        return ["0", *values] if self.kind == "seconds" else values

    def refused(self) -> list[str]:
        """
        @return: Values just outside the range, absurd ones, and text that
            is no plain decimal number.
        """
        if self.kind in ("count", "ports"):
            return [
                _number(self.low - 1),
                _number(self.high + 1),
                "1e3",
                "2.0",
                *NOT_DECIMAL,
            ]
        below = ["-1", "0.0009"] + (["0"] if self.kind == "positive" else [])
        return [*below, f"{_number(self.high)}.5", "1e308", "-inf", *NOT_DECIMAL]

    def error(self, value: str) -> str:
        """
        @return: The one-line usage error for C{value}.
        """
        high = _number(self.high)
        if self.kind == "ports":
            return (
                f"--{self.option} must be a port from {_number(self.low)} to "
                f"{high} or a range of them such as 20000-20099, not {value!r}"
            )
        if self.kind == "count":
            wanted = f"an integer from {_number(self.low)} to {high}"
        elif self.kind == "seconds":
            wanted = f"0 or a number of seconds from 0.001 to {high}"
        else:
            wanted = f"a number from 0.001 to {high}"
        return f"--{self.option} must be {wanted}, not {value!r}"


def _number(value: float) -> str:
    return f"{value:.15g}"


SERVER = [
    OptionRange("port", "ports", 0, 65535),
    OptionRange("idle-timeout", "seconds", 0.001, MAX_IDLE_TIMEOUT),
    OptionRange("shutdown-timeout", "seconds", 0.001, MAX_SHUTDOWN_TIMEOUT),
    OptionRange("handshake-timeout", "seconds", 0.001, MAX_HANDSHAKE_TIMEOUT),
    OptionRange("backlog", "count", 1, 65535),
    OptionRange("max-connections", "count", 1, LONGEST_COUNT),
    OptionRange("max-per-ip", "count", 1, LONGEST_COUNT),
    OptionRange("max-handshakes", "count", 1, LONGEST_COUNT),
    OptionRange("workers", "count", 0, MAX_WORKERS),
    OptionRange("metrics-deadline", "positive", 0.001, MAX_REQUEST_DEADLINE),
    OptionRange("udp-rate", "positive", 0.001, MAX_RATE),
    OptionRange("udp-burst", "count", 1, LONGEST_COUNT),
    OptionRange("udp-global-rate", "positive", 0.001, MAX_RATE),
    OptionRange("udp-global-burst", "count", 1, LONGEST_COUNT),
    OptionRange("udp-ipv4-prefix", "count", 0, 32),
    OptionRange("udp-ipv6-prefix", "count", 0, 128),
]
"""
Every numeric option of C{twistd welcome}.
"""

CLIENT = [
    OptionRange("port", "count", 1, 65535),
    OptionRange("timeout", "positive", 0.001, MAX_SECONDS),
    OptionRange("interval", "positive", 0.001, MAX_SECONDS),
    OptionRange("max-bytes", "count", 1, MAX_BYTES),
    OptionRange("count", "count", 0, MAX_COUNT),
    OptionRange("retries", "count", 0, 100),
    OptionRange("pad", "count", 1, MAX_PAD),
    OptionRange("parallel", "count", 1, MAX_PARALLEL),
]
"""
Every numeric option of C{welcome-client}.
"""
