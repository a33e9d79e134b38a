# -*- test-case-name: tests.test_udp_options -*-
"""
The limits of the UDP listeners, fixed at start-up, and their defaults.

The defaults, and why (docs/udp.md has the long form):

  - 100 replies a second per source prefix, in bursts of up to 200.  One
    host can send tens of thousands of datagrams a second; a person or a
    monitoring system testing a firewall sends a few.  NSD's response rate
    limiting allows 200 a second per /24 by default, for DNS, whose
    clients (whole resolvers) ask far more often than ours do; NTPsec's
    C{discard} lets one client send a packet every 8 seconds on average,
    for clients that poll every minute or more.  100 sits below NSD's and
    still lets a NAT full of C{--count} loops through.
  - 1,000 replies a second in all, bursts of 2,000: what a spoofer who
    sprays every prefix gets at most, whatever the table.  Since no reply
    is as large as its datagram, that is at most ~1.2 MB/s of 1,200-byte
    probes, answered by fewer, smaller bytes.
  - /24 for IPv4 and /56 for IPv6: BIND's defaults (C{ipv4-prefix-length},
    C{ipv6-prefix-length}); a /56 is what many providers give one customer,
    who can otherwise spoof from 2^72 addresses of their own.
  - 16,384 buckets: 256 KiB, allocated once.  With a keyed hash, the chance
    that an innocent prefix shares the bucket of one flooding prefix is 1
    in 16,384.
"""

from __future__ import annotations

from attrs import frozen

from welcome_protocol.udp.ratelimit import RateLimit
from welcome_protocol.udp.readbound import DEFAULT_PER_TURN

DEFAULT_RATE = 100.0
DEFAULT_BURST = 200
DEFAULT_GLOBAL_RATE = 1000.0
DEFAULT_GLOBAL_BURST = 2000
DEFAULT_IPV4_PREFIX = 24
DEFAULT_IPV6_PREFIX = 56
DEFAULT_TABLE_SIZE = 16384
DEFAULT_PER_PREFIX = RateLimit(DEFAULT_RATE, DEFAULT_BURST)
DEFAULT_OVERALL = RateLimit(DEFAULT_GLOBAL_RATE, DEFAULT_GLOBAL_BURST)

#: Bytes read of each datagram: the largest UDP payload, so that the size
#: rule and the byte counters see every datagram whole.
MAX_DATAGRAM = 65535


@frozen
class DatagramSettings:
    """
    How UDP listeners answer.

    @ivar perPrefix: The bucket of each source prefix.
    @ivar overall: The bucket all replies draw from.
    @ivar ipv4Prefix: The prefix length that groups IPv4 sources.
    @ivar ipv6Prefix: The prefix length that groups IPv6 sources.
    @ivar tableSize: How many prefix buckets, allocated at start-up.
    @ivar perTurn: Datagrams each listener reads per reactor turn at most.
    @ivar maxDatagram: Bytes read of each datagram.
    """

    perPrefix: RateLimit = DEFAULT_PER_PREFIX
    overall: RateLimit = DEFAULT_OVERALL
    ipv4Prefix: int = DEFAULT_IPV4_PREFIX
    ipv6Prefix: int = DEFAULT_IPV6_PREFIX
    tableSize: int = DEFAULT_TABLE_SIZE
    perTurn: int = DEFAULT_PER_TURN
    maxDatagram: int = MAX_DATAGRAM
