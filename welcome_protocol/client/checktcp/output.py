# -*- test-case-name: tests.test_client_checktcp_output -*-
"""
The plugin's line in C{check_tcp}'s words, with C{WELCOME} for the service.

::

    WELCOME OK - 0.001 second response time on 127.0.0.1 port 12000 [Welcome!]|time=...
    WELCOME WARNING - Unexpected response from host/socket: Service Unavailable|time=...
    WELCOME CRITICAL - connect to address 127.0.0.1 and port 12001: Connection refused
    WELCOME CRITICAL - Socket timeout after 10 seconds
    WELCOME CRITICAL - No data received from host

The states follow C{check_tcp}: C{-c} is checked before C{-w}; a mismatch
takes the C{-M} state unless the time is already critical; a refusal takes
the C{-r} state.  Unlike C{check_tcp}, every line starts with the service
and the state (the plugin guidelines' form), also for refusals and
timeouts.
"""

from __future__ import annotations

import attrs

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH, decodeWelcome
from welcome_protocol.client.expectations import bannerText
from welcome_protocol.client.output.nagios import (
    CRITICAL,
    OK,
    SERVICE,
    STATE_NAMES,
    WARNING,
    NagiosPolicy,
    perfdata,
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


def _safe(text: str) -> str:
    return " ".join(text.replace("|", "\\x7c").split())


def _line(state: int, text: str, perf: str | None = None) -> tuple[int, str]:
    line = f"{SERVICE} {STATE_NAMES[state]} - {_safe(text)}"
    return state, line if perf is None else f"{line}|{perf}"


def checkLine(
    where: Where, result: ProbeResult, policy: NagiosPolicy, hideWelcome: bool
) -> tuple[int, str]:
    """
    @param hideWelcome: C{-j}: leave the welcome out.
    @return: The state and the one line.
    """
    total = result.totalSeconds
    if result.kind in (None, MISMATCH, CERTIFICATE):
        assert total is not None
        state = OK
        if policy.critical is not None and policy.critical.alerts(total):
            state = CRITICAL
        elif policy.warning is not None and policy.warning.alerts(total):
            state = WARNING
        banner = bannerText(decodeWelcome(result.welcome))
        if result.kind == MISMATCH:
            if state != CRITICAL:
                state = policy.mismatch
            noThresholds = NagiosPolicy(timeout=policy.timeout)
            if hideWelcome:
                text = f"Unexpected response from host/socket on {where}"
            else:
                text = f"Unexpected response from host/socket: {banner}"
            return _line(state, text, perfdata(total, noThresholds))
        if result.kind == CERTIFICATE:
            level = CRITICAL if result.certificateLevel == "critical" else WARNING
            return _line(max(state, level), result.reason, perfdata(total, policy))
        text = f"{total:.3f} second response time on {where}"
        if not hideWelcome:
            text += f" [{banner}]"
        return _line(state, text, perfdata(total, policy))
    if result.kind == REFUSED:
        return _line(
            policy.refused,
            f"connect to address {where.host} and port {where.port}: "
            "Connection refused",
        )
    if result.kind == TIMEOUT:
        return _line(CRITICAL, f"Socket timeout after {policy.timeout:g} seconds")
    if result.kind == CLOSED_WITHOUT_WELCOME:
        return _line(CRITICAL, "No data received from host")
    if result.kind == DNS:
        return _line(CRITICAL, f"Invalid hostname, address or socket: {where.host}")
    if result.kind == TLS:
        return _line(CRITICAL, f"Cannot make SSL connection: {result.reason}")
    if where.unix:
        return _line(CRITICAL, f"connect to file socket {where.host}: {result.reason}")
    return _line(
        CRITICAL,
        f"connect to address {where.host} and port {where.port}: {result.reason}",
    )


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
