# -*- test-case-name: tests.test_exporter_resolving -*-
"""
Choose the address to probe, as blackbox_exporter's C{chooseProtocol}
does: C{preferred_ip_protocol} first, the other family if
C{ip_protocol_fallback} allows; and set C{probe_ip_protocol},
C{probe_ip_addr_hash} and C{probe_dns_lookup_time_seconds}.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge

from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.exporter import probing
from welcome_protocol.exporter.scrapelog import ScrapeLog


def ipHash(address: str) -> float:
    """
    blackbox_exporter's C{probe_ip_addr_hash}: FNV-1a (32 bits) of the
    address's 4 or 16 bytes, so that a change of address shows in a graph.
    """
    value = 0x811C9DC5
    for byte in ipaddress.ip_address(address).packed:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return float(value)


async def chooseAddress(
    reactor: ClientReactor,
    host: str,
    family: int,
    fallback: bool,
    registry: CollectorRegistry,
    log: ScrapeLog,
    now: Callable[[], float],
) -> str | None:
    """
    Resolve C{host} to the address to probe.

    @param family: The preferred family, 4 or 6.
    @param fallback: Whether the other family will do.
    @return: The address, or L{None} if there is none (logged).
    """
    protocol = Gauge(
        "probe_ip_protocol",
        "Specifies whether probe ip protocol is IP4 or IP6",
        registry=registry,
    )
    lookup = Gauge(
        "probe_dns_lookup_time_seconds",
        "Returns the time taken for probe dns lookup in seconds",
        registry=registry,
    )
    addressHash = Gauge(
        "probe_ip_addr_hash",
        "Specifies the hash of IP address. It's useful to detect if the IP "
        "address changes.",
        registry=registry,
    )
    log.info("Resolving target address", target=host, ip_protocol=f"ip{family}")
    started = now()
    families = [family, 10 - family] if fallback else [family]
    for candidate in families:
        address = await probing.resolveAddress(reactor, host, candidate)
        if address is not None:
            lookup.set(now() - started)
            protocol.set(candidate)
            addressHash.set(ipHash(address))
            log.info("Resolved target address", target=host, ip=address)
            return address
    lookup.set(now() - started)
    log.error(
        "Resolution with IP protocol failed",
        target=host,
        ip_protocol=f"ip{family}",
        fallback=fallback,
    )
    return None
