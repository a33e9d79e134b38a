# -*- test-case-name: tests.test_client_judge -*-
"""
The one Nagios judge: the state a result calls for, and the plugin's line.

C{--nagios} (one check), a scan's C{--nagios} and C{check_welcome} all ask
this module for the state, the line's shape, its performance data and its
escaping; they differ only in their words (L{output.nagios}, L{scan.nagios},
L{checktcp.output}).

The order of precedence is C{check_tcp}'s (monitoring-plugins'
C{plugins/check_tcp.c}):

  1. the response time: C{--critical} is checked before C{--warning};
  2. an unexpected welcome takes the C{--mismatch} state, unless the time
     is already critical (a critical response time beats a mismatch; a
     warning one does not: C{-M ok} turns it OK);
  3. a certificate expiring soon raises the state to its level (warning or
     critical), never lowers it (C{check_tcp} checks it before reading);
  4. a refused connection takes the C{--refused} state;
  5. any other failure (timeout, nothing sent, DNS, TLS, unreachable) is
     CRITICAL.

The line is the monitoring-plugins developer guidelines' one line: the
service, the state, a text without a pipe, then C{|} and the performance
data, C{'label'=value[UOM];warn;crit;min;max}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH
from welcome_protocol.client.probe import REFUSED, ProbeResult
from welcome_protocol.client.thresholds import Range

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
STATE_OPTIONS = {"ok": OK, "warn": WARNING, "crit": CRITICAL}
"""
The values of C{--mismatch} and C{--refused}, as C{check_tcp -M}/C{-r}.
"""
SERVICE = "WELCOME"
ANSWERED = (None, MISMATCH, CERTIFICATE)
"""
The kinds of a result that has a welcome, and so a response time.
"""


@attrs.frozen(kw_only=True)
class NagiosPolicy:
    """
    How results map to states; every field is named when it is made.

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
            warning=config["warning"],
            critical=config["critical"],
            mismatch=config["mismatch"],
            refused=config["refused"],
            timeout=config["timeout"],
        )


def timeState(seconds: float | None, policy: NagiosPolicy) -> int:
    """
    Judge a response time: C{--critical} first, then C{--warning}.

    @param seconds: The response time, or L{None} if there is none.
    @return: L{CRITICAL}, L{WARNING} or L{OK}.
    """
    if seconds is None:
        return OK
    if policy.critical is not None and policy.critical.alerts(seconds):
        return CRITICAL
    if policy.warning is not None and policy.warning.alerts(seconds):
        return WARNING
    return OK


def resultState(
    result: ProbeResult, policy: NagiosPolicy, seconds: float | None
) -> int:
    """
    The state one checked result calls for, in C{check_tcp}'s order of
    precedence (see the module's description).

    @param result: The probe's result, the checks applied.
    @param seconds: The response time to judge (L{None}: none is judged
        here, as a scan judges its welcomes' times together).
    """
    if result.kind in ANSWERED:
        state = timeState(seconds, policy)
        if result.kind == MISMATCH:
            return state if state == CRITICAL else policy.mismatch
        if result.kind == CERTIFICATE:
            level = CRITICAL if result.certificateLevel == "critical" else WARNING
            return max(state, level)
        return state
    if result.kind == REFUSED:
        return policy.refused
    return CRITICAL


def oneLine(text: str) -> str:
    """
    @return: C{text} as one line, without the pipe that would start the
        performance data (written C{\\x7c}, as C{check_tcp} cannot).
    """
    return " ".join(text.replace("|", "\\x7c").split())


def pluginLine(state: int, text: str, perfdata: str | None = None) -> str:
    """
    @return: C{WELCOME STATE - text}, then C{|perfdata} if there is any.
    """
    line = f"{SERVICE} {STATE_NAMES[state]} - {oneLine(text)}"
    return line if perfdata is None else f"{line}|{perfdata}"


def timePerfdata(seconds: float, policy: NagiosPolicy, thresholds: bool = True) -> str:
    """
    C{time=0.001234s;WARN;CRIT;0.000000;TIMEOUT}: C{check_tcp}'s label,
    unit and five fields, the thresholds in the guidelines' range syntax.

    @param thresholds: Whether to give C{--warning} and C{--critical}
        (C{check_welcome} leaves them out for a mismatch, where C{check_tcp}
        writes zeroes: its performance data does not apply to a server
        that did not answer as expected).
    """
    warning = critical = ""
    if thresholds:
        warning = "" if policy.warning is None else str(policy.warning)
        critical = "" if policy.critical is None else str(policy.critical)
    return f"time={seconds:f}s;{warning};{critical};0.000000;{policy.timeout:f}"


def usageLine(problem: str) -> str:
    """
    The line for a usage error, which is UNKNOWN in every mode.
    """
    return pluginLine(UNKNOWN, problem)
