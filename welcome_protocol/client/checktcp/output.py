# -*- test-case-name: tests.test_client_checktcp_output -*-
"""
The plugin's line in C{check_tcp}'s words, with C{WELCOME} for the service.

::

    WELCOME OK - 0.001 second response time on 127.0.0.1 port 12000 [Welcome!]|time=...
    WELCOME WARNING - Unexpected response from host/socket: Service Unavailable|time=...
    WELCOME CRITICAL - connect to address 127.0.0.1 and port 12001: Connection refused
    WELCOME CRITICAL - Socket timeout after 10 seconds
    WELCOME CRITICAL - No data received from host

The state comes from L{welcome_protocol.client.judge}, in C{check_tcp}'s
order of precedence: C{-c} is checked before C{-w}; a mismatch takes the
C{-M} state unless the time is already critical; a refusal takes the C{-r}
state.  This module has C{check_tcp}'s words: a failure's text is the
probe's or the check's C{reason}, with the server named as C{check_tcp}
names it.  Unlike C{check_tcp}, every line starts with the service and the
state (the plugin guidelines' form), also for refusals and timeouts.
"""

from __future__ import annotations

import attrs

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH, decodeWelcome
from welcome_protocol.client.expectations import bannerText
from welcome_protocol.client.judge import (
    ANSWERED,
    NagiosPolicy,
    pluginLine,
    resultState,
    timePerfdata,
)
from welcome_protocol.client.probe import (
    CLOSED_WITHOUT_WELCOME,
    DNS,
    REFUSED,
    TIMEOUT,
    TLS,
    ProbeResult,
)


@attrs.frozen
class Where:
    """
    How the line names the server, as C{check_tcp} does.

    @ivar host: C{-H}, or the host given as the first argument.
    @ivar port: The port (unused for a UNIX socket).
    @ivar hostGiven: Whether C{-H} named the host (else only the port is
        shown).
    @ivar unix: Whether C{host} is a UNIX socket's path.
    """

    host: str
    port: int
    hostGiven: bool = True
    unix: bool = False

    def __str__(self) -> str:
        if self.unix:
            return f"socket {self.host}"
        if self.hostGiven:
            return f"{self.host} port {self.port}"
        return f"port {self.port}"


def _answeredText(where: Where, result: ProbeResult, hideWelcome: bool) -> str:
    banner = bannerText(decodeWelcome(result.welcome))
    if result.kind == MISMATCH:
        if hideWelcome:
            return f"Unexpected response from host/socket on {where}"
        return f"Unexpected response from host/socket: {banner}"
    if result.kind == CERTIFICATE:
        return result.reason
    text = f"{result.totalSeconds:.3f} second response time on {where}"
    return text if hideWelcome else f"{text} [{banner}]"


def _failedText(where: Where, result: ProbeResult, policy: NagiosPolicy) -> str:
    if result.kind == REFUSED:
        return (
            f"connect to address {where.host} and port {where.port}: Connection refused"
        )
    if result.kind == TIMEOUT:
        return f"Socket timeout after {policy.timeout:g} seconds"
    if result.kind == CLOSED_WITHOUT_WELCOME:
        return "No data received from host"
    if result.kind == DNS:
        return f"Invalid hostname, address or socket: {where.host}"
    if result.kind == TLS:
        return f"Cannot make SSL connection: {result.reason}"
    if where.unix:
        return f"connect to file socket {where.host}: {result.reason}"
    return f"connect to address {where.host} and port {where.port}: {result.reason}"


def checkLine(
    where: Where, result: ProbeResult, policy: NagiosPolicy, hideWelcome: bool
) -> tuple[int, str]:
    """
    @param hideWelcome: C{-j}: leave the welcome out.
    @return: The state and the one line.
    """
    total = result.totalSeconds
    state = resultState(result, policy, total)
    if result.kind not in ANSWERED:
        return state, pluginLine(state, _failedText(where, result, policy))
    assert total is not None
    perfdata = timePerfdata(total, policy, thresholds=result.kind != MISMATCH)
    return state, pluginLine(state, _answeredText(where, result, hideWelcome), perfdata)


def verboseLines(where: Where, result: ProbeResult, sent: bytes) -> list[str]:
    """
    C{-v}: the details, on lines after the status line (the plugin
    guidelines' long output).
    """
    lines = [f"Server: {where}"]
    if result.address is not None:
        lines.append(f"Address: {result.address}")
    if sent:
        lines.append(f"Sent: {sent!r}")
    if result.connectSeconds is not None:
        lines.append(f"Connected after {result.connectSeconds:.6f} s")
    if result.welcome:
        lines.append(f"Received {len(result.welcome)} bytes: {result.welcome!r}")
    if result.tls is not None:
        lines.append(f"TLS: {result.tls.version}")
    if result.reason:
        lines.append(f"Reason: {result.reason}")
    return lines
