"""
The probers by name, as a module's C{prober} names them: one line each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from welcome_protocol.exporter.outcome import PortOutcome, ProbeContext
from welcome_protocol.exporter.tcpprober import probeTCP
from welcome_protocol.exporter.udpprober import probeUDP

Prober = Callable[[ProbeContext, str, str, int], Awaitable[PortOutcome]]
"""
Probe one port: (context, the target's host, the address, the port).
"""

PROBERS: dict[str, Prober] = {
    "tcp": probeTCP,
    "welcome": probeTCP,
    "udp": probeUDP,
}
