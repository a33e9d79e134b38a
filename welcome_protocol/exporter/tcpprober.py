# -*- test-case-name: tests.test_exporter_tcpprober -*-
"""
The C{tcp} and C{welcome} probers: one port, over TCP, with TLS if the
module asks.

C{tcp} is blackbox_exporter's: without C{query_response} it only connects
(and completes the handshake); with it, it reads the reply and applies the
expectations (L{expecting}).  C{welcome} always reads the welcome: a port
whose far side accepts the connection but says nothing fails, which proves
that something is really there (a SYN proxy accepts on every port).
"""

from __future__ import annotations

import attrs

from welcome_protocol.exporter import probing
from welcome_protocol.exporter.expecting import checkExpects
from welcome_protocol.exporter.outcome import PortOutcome, ProbeContext
from welcome_protocol.exporter.probing import ProbeResult

CONNECTED = "connected"


def _tlsFor(context: ProbeContext, host: str) -> object:
    module = context.module
    if not module.tls:
        return None
    return probing.tlsOptions(module.serverName or host, module.caFile)


def judge(context: ProbeContext, result: ProbeResult, readsReply: bool) -> PortOutcome:
    """
    Turn the client's result into the port's outcome, logging why.

    @param readsReply: Whether the prober read a reply (the C{welcome}
        prober, or C{query_response} given): its expectations apply.
    """
    module, log = context.module, context.log
    if not readsReply:
        if result.ok:
            log.info("Successfully dialed", address=result.address)
            return PortOutcome(True, CONNECTED, result)
        log.error("Error dialing TCP", err=result.reason)
        return PortOutcome(False, probing.portState(result), result)
    if result.kind == probing.CLOSED_WITHOUT_WELCOME and module.expects:
        # blackbox_exporter reads no line before the end: no match.
        result = attrs.evolve(result, kind=None, welcome=b"")
    if not result.ok:
        log.error("Error probing", err=result.reason)
        return PortOutcome(False, probing.portState(result), result)
    log.info("Read reply", bytes=len(result.welcome), reply=result.welcome)
    outcome = checkExpects(result.welcome, module.expects)
    if not outcome.met:
        log.error("Regexp did not match", regexp=outcome.failed)
        failed = attrs.evolve(result, kind=probing.MISMATCH, reason="unexpected reply")
        return PortOutcome(False, probing.portState(failed), failed, True)
    if module.expects:
        log.info("Regexps matched", count=len(module.expects))
    return PortOutcome(
        True,
        probing.portState(result),
        result,
        False if module.expects else None,
        outcome.labels,
    )


async def probeTCP(
    context: ProbeContext, host: str, address: str, port: int
) -> PortOutcome:
    """
    Probe C{address}'s TCP C{port} as the module says.

    @param host: The target's host, for TLS's server name.
    """
    module = context.module
    target = probing.describeTarget(address, port)
    readsReply = module.prober == "welcome" or bool(module.expects)
    try:
        tls = _tlsFor(context, host)
    except ValueError as e:
        context.log.error("Cannot set up TLS", err=str(e))
        why = str(e)
        return PortOutcome(False, probing.TLS, ProbeResult(probing.TLS, why, why))
    context.log.info("Dialing TCP", address=address, port=port, tls=module.tls)
    if readsReply:
        result = await probing.welcomeProbe(
            context.reactor, address, port, target, context.timeout, tls, module.source
        )
    else:
        result = await probing.connectOnly(
            context.reactor, address, port, target, context.timeout, tls, module.source
        )
    return judge(context, result, readsReply)
