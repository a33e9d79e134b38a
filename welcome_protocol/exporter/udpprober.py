# -*- test-case-name: tests.test_exporter_udpprober -*-
"""
The C{udp} prober, which blackbox_exporter lacks: a padded datagram (the
client's UDP probe), sent again until a reply, an ICMP refusal or the
timeout.

A reply is read as the TCP prober reads one (C{query_response}'s
expectations, line by line).  A refusal fails.  Silence fails too, and its
state says what silence can say, I{timeout}: the port is open or filtered.
"""

from __future__ import annotations

from welcome_protocol.exporter import probing
from welcome_protocol.exporter.outcome import PortOutcome, ProbeContext
from welcome_protocol.exporter.tcpprober import judge


async def probeUDP(
    context: ProbeContext, host: str, address: str, port: int
) -> PortOutcome:
    """
    Probe C{address}'s UDP C{port} as the module says.

    @param host: The target's host (unused: UDP has no TLS).
    """
    module = context.module
    context.log.info("Sending UDP probe", address=address, port=port, bytes=module.pad)
    result = await probing.udpProbe(
        context.reactor,
        address,
        port,
        probing.describeTarget(address, port),
        context.timeout,
        module.pad,
        module.retries,
    )
    if result.kind == probing.TIMEOUT:
        context.log.error("No reply: the port is open or filtered", err=result.reason)
        return PortOutcome(False, probing.portState(result), result)
    return judge(context, result, True)
