# -*- test-case-name: tests.test_client_scan_states -*-
"""
What a port's check found, in the words of a port table, and whether that
is what was expected of the port.

C{timeout} is a connection that did not complete in time: a firewall
dropping the packets (nmap's I{filtered}).  C{silent} is a port that
accepted the connection but sent nothing in time.  The probe's other
failures keep their own kind (C{dns}, C{unreachable}, C{tls},
C{certificate}).
"""

from __future__ import annotations

from welcome_protocol.client.checks import MISMATCH
from welcome_protocol.client.probe import (
    CLOSED_WITHOUT_WELCOME,
    REFUSED,
    TIMEOUT,
    ProbeResult,
)

WELCOMED = "welcomed"
OPEN = "open"
REFUSED_STATE = "refused"
TIMEOUT_STATE = "timeout"
MISMATCH_STATE = "mismatch"
CLOSED = "closed"
SILENT = "silent"
STATES = (WELCOMED, REFUSED_STATE, TIMEOUT_STATE, MISMATCH_STATE, CLOSED, SILENT)
"""
The states every summary counts, in the order they are listed.
"""

CLOSED_STATES = frozenset({REFUSED_STATE, TIMEOUT_STATE})
"""
What C{--expect-closed} accepts: refused, or not answered at all.
"""


def stateOf(result: ProbeResult) -> str:
    """
    @return: The port's state, one of L{STATES} or the probe's failure kind.
    """
    if result.kind is None:
        # Only --connect-only ends a probe that succeeded without a byte.
        return WELCOMED if result.welcome else OPEN
    if result.kind == TIMEOUT:
        return TIMEOUT_STATE if result.connectSeconds is None else SILENT
    if result.kind == CLOSED_WITHOUT_WELCOME:
        return CLOSED
    if result.kind == MISMATCH:
        return MISMATCH_STATE
    if result.kind == REFUSED:
        return REFUSED_STATE
    return result.kind


def asExpected(state: str, expectClosed: bool) -> bool:
    """
    @param expectClosed: The port was named by C{--expect-closed}.
    @return: Whether C{state} is what the port should show: a welcome that
        passes every check, or, for a port expected closed, a refusal or a
        timeout.
    """
    if expectClosed:
        return state in CLOSED_STATES
    return state in (WELCOMED, OPEN)
