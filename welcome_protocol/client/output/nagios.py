# -*- test-case-name: tests.test_client_output -*-
"""
C{--nagios}: one line and an exit status, as the monitoring-plugins
developer guidelines define a plugin's output, in C{check_tcp}'s shape
(one line; split here)::

    WELCOME OK - 0.001 second response time on 127.0.0.1 port 12000 [Welcome!]
    |time=0.001234s;;;0.000000;10.000000

The state comes from L{welcome_protocol.client.judge}, as in the scan and
C{check_welcome}; this module has the words.  Every line names the server:
a failure's text is the probe's or the check's C{message}.
"""

from __future__ import annotations

from typing import TextIO

from welcome_protocol.client.checks import decodeWelcome
from welcome_protocol.client.expectations import bannerText
from welcome_protocol.client.judge import (
    ANSWERED,
    UNKNOWN,
    NagiosPolicy,
    pluginLine,
    resultState,
    timePerfdata,
)
from welcome_protocol.client.probe import REFUSED, ProbeResult
from welcome_protocol.client.target import Target


def _where(target: Target) -> str:
    if target.host is not None and target.port is not None:
        udp = "UDP " if target.transport == "udp" else ""
        return f"{target.host} {udp}port {target.port}"
    return target.label


def _text(target: Target, result: ProbeResult) -> str:
    """
    The words of the line: the response time and the banner, or what went
    wrong.
    """
    if result.kind is None:
        banner = bannerText(decodeWelcome(result.welcome))
        return (
            f"{result.totalSeconds:.3f} second response time on "
            f"{_where(target)} [{banner}]"
        )
    if result.kind == REFUSED:
        if target.transport == "udp":
            return f"ICMP port unreachable from {_where(target)}"
        return f"connection refused by {_where(target)}"
    return result.message


def judge(target: Target, result: ProbeResult, policy: NagiosPolicy) -> tuple[int, str]:
    """
    @return: The plugin's state and its one line (without a newline).
    """
    total = result.totalSeconds
    state = resultState(result, policy, total)
    perfdata = None
    if result.kind in ANSWERED:
        assert total is not None
        perfdata = timePerfdata(total, policy)
    return state, pluginLine(state, _text(target, result), perfdata)


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
