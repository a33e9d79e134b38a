# -*- test-case-name: tests.test_client_output -*-
"""
C{--nagios}: one line and an exit status, as the monitoring-plugins
developer guidelines define a plugin's output, in C{check_tcp}'s shape
(one line; split here)::

    WELCOME OK - 0.001 second response time on 127.0.0.1 port 12000 [Welcome!]
    |time=0.001234s;;;0.000000;10.000000
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

import attrs

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH, decodeWelcome
from welcome_protocol.client.expectations import bannerText
from welcome_protocol.client.probe import REFUSED, ProbeResult
from welcome_protocol.client.target import Target
from welcome_protocol.client.thresholds import Range

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
STATE_OPTIONS = {"ok": OK, "warn": WARNING, "crit": CRITICAL}
"""
The values of C{--mismatch} and C{--refused}, as C{check_tcp -M}/C{-r}.
"""
SERVICE = "WELCOME"


@attrs.frozen
class NagiosPolicy:
    """
    How results map to states.

    @ivar warning: C{--warning}: the response-time range that warns.
    @ivar critical: C{--critical}: the range that is critical.
    @ivar mismatch: The state for an unexpected welcome.
    @ivar refused: The state for a refused connection.
    @ivar timeout: C{--timeout}, the performance data's maximum.
    """

    warning: Range | None = None
    critical: Range | None = None
    mismatch: int = WARNING
    refused: int = CRITICAL
    timeout: float = 10.0

    @classmethod
    def fromOptions(cls, config: Mapping[str, Any]) -> NagiosPolicy:
        """
        @param config: C{welcome-client}'s parsed options.
        @return: The policy its C{--warning}, C{--critical}, C{--mismatch},
            C{--refused} and C{--timeout} describe.
        """
        return cls(
            config["warning"],
            config["critical"],
            config["mismatch"],
            config["refused"],
            config["timeout"],
        )


def _safe(text: str) -> str:
    """
    One line without the pipe that would start the performance data.
    """
    return " ".join(text.replace("|", "\\x7c").split())


def _where(target: Target) -> str:
    if target.host is not None and target.port is not None:
        udp = "UDP " if target.transport == "udp" else ""
        return f"{target.host} {udp}port {target.port}"
    return target.label


def perfdata(seconds: float, policy: NagiosPolicy) -> str:
    """
    C{time=0.001234s;WARN;CRIT;0.000000;TIMEOUT}: C{check_tcp}'s label,
    unit and five fields, the thresholds in the guidelines' range syntax.
    """
    warning = "" if policy.warning is None else str(policy.warning)
    critical = "" if policy.critical is None else str(policy.critical)
    return f"time={seconds:f}s;{warning};{critical};0.000000;{policy.timeout:f}"


def judge(target: Target, result: ProbeResult, policy: NagiosPolicy) -> tuple[int, str]:
    """
    @return: The plugin's state and its one line (without a newline).
    """
    total = result.totalSeconds
    if result.kind is None or result.kind in (MISMATCH, CERTIFICATE):
        assert total is not None
        state = OK
        if policy.critical is not None and policy.critical.alerts(total):
            state = CRITICAL
        elif policy.warning is not None and policy.warning.alerts(total):
            state = WARNING
        if result.kind is None:
            banner = bannerText(decodeWelcome(result.welcome))
            text = f"{total:.3f} second response time on {_where(target)} [{banner}]"
        elif result.kind == MISMATCH:
            state = policy.mismatch
            text = result.message
        else:
            level = CRITICAL if result.certificateLevel == "critical" else WARNING
            state = max(state, level)
            text = result.message
        line = (
            f"{SERVICE} {STATE_NAMES[state]} - {_safe(text)}|{perfdata(total, policy)}"
        )
        return state, line
    if result.kind == REFUSED:
        state = policy.refused
        text = f"connection refused by {_where(target)}"
        if target.transport == "udp":
            text = f"ICMP port unreachable from {_where(target)}"
    else:
        state = CRITICAL
        text = result.message
    return state, f"{SERVICE} {STATE_NAMES[state]} - {_safe(text)}"


def usageLine(problem: str) -> str:
    """
    The line for a usage error, which is UNKNOWN in this mode.
    """
    return f"{SERVICE} UNKNOWN - {_safe(problem)}"


class NagiosOutput:
    """
    Print the one line for the one attempt, and keep its state.

    @ivar state: The exit status, once the attempt is reported.
    """

    def __init__(self, target: Target, stdout: TextIO, policy: NagiosPolicy) -> None:
        self._target = target
        self._stdout = stdout
        self._policy = policy
        self.state = UNKNOWN

    def attempt(self, number: int, result: ProbeResult) -> None:
        """
        Print the plugin's line.
        """
        self.state, line = judge(self._target, result, self._policy)
        self._stdout.write(line + "\n")
        self._stdout.flush()
