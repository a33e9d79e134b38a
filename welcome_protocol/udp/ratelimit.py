# -*- test-case-name: tests.test_udp_ratelimit -*-
"""
Reply rate limits for UDP: a token bucket per source prefix, and one global.

A spoofed source address costs an attacker nothing, so the state kept per
source must not grow with the sources seen: the buckets live in one table of
fixed size, allocated at start-up, and a prefix is mapped to its bucket by a
keyed hash (BLAKE2b with a key drawn at start-up).  An attacker who cannot
know the key cannot aim a prefix at a victim's bucket; one who sprays every
prefix drains every bucket, and is then bounded by the global bucket like
everyone else.  Prefixes that share a bucket share its budget: the price of
a table that cannot be exhausted, as in NSD's response rate limiting (a
fixed array of buckets, indexed by a hash of the source prefix).

Buckets are refilled when they are looked at, from the time elapsed, so no
timer runs per bucket.
"""

from __future__ import annotations

import os
import socket
from array import array
from hashlib import blake2b

from attrs import frozen
from twisted.internet.interfaces import IReactorTime

_V4_MAPPED = b"\x00" * 10 + b"\xff\xff"


@frozen
class RateLimit:
    """
    A token bucket's shape.

    @ivar rate: Tokens added per second: replies a second, sustained.
    @ivar burst: The most tokens the bucket holds: replies in a burst.
    """

    rate: float
    burst: int


class TokenBuckets:
    """
    A fixed number of token buckets of one shape, in two flat arrays.

    Each bucket starts full.  A clock that goes back in time (the reactor's
    is wall-clock time) adds nothing; one that jumps forward fills buckets,
    at most to their burst.
    """

    def __init__(self, count: int, limit: RateLimit, now: float) -> None:
        """
        @param count: How many buckets.
        @param limit: The shape of every bucket.
        @param now: The time, in seconds.
        """
        self.limit = limit
        self._tokens = array("d", [float(limit.burst)]) * count
        self._stamps = array("d", [now]) * count

    def __len__(self) -> int:
        return len(self._tokens)

    def available(self, index: int, now: float) -> float:
        """
        Refill bucket C{index} up to C{now} and say how many tokens it holds.
        """
        tokens = self._tokens[index]
        elapsed = now - self._stamps[index]
        if elapsed > 0:
            tokens = min(float(self.limit.burst), tokens + elapsed * self.limit.rate)
            self._tokens[index] = tokens
            self._stamps[index] = now
        return tokens

    def spend(self, index: int) -> None:
        """
        Take one token from bucket C{index}; L{available} said there was one.
        """
        self._tokens[index] -= 1.0


def prefixOf(host: str, ipv4Length: int, ipv6Length: int) -> bytes | None:
    """
    The source prefix a host address belongs to, as bytes to hash.

    An IPv4-mapped IPv6 address (C{::ffff:192.0.2.1}, as an IPv6 socket
    reports IPv4 clients) counts as the IPv4 address it maps.

    @param host: An IPv4 or IPv6 address, as C{recvfrom} reports it (an
        IPv6 scope such as C{%eth0} is ignored).
    @param ipv4Length: The prefix length for IPv4 sources, 0 to 32.
    @param ipv6Length: The prefix length for IPv6 sources, 0 to 128.
    @return: A version byte and the prefix's bits, or L{None} if C{host}
        is not an IP address.
    """
    try:
        if ":" in host:
            packed = socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
            if packed[:12] != _V4_MAPPED:
                bits = int.from_bytes(packed, "big") >> (128 - ipv6Length)
                return b"\x06" + bits.to_bytes(16, "big")
            packed = packed[12:]
        else:
            packed = socket.inet_pton(socket.AF_INET, host)
    except OSError:
        return None
    bits = int.from_bytes(packed, "big") >> (32 - ipv4Length)
    return b"\x04" + bits.to_bytes(4, "big")


class ReplyLimiter:
    """
    Decide whether a reply to a source may go out now.

    A reply needs a token from its prefix's bucket and one from the global
    bucket; it takes both or neither, so a source its own bucket refuses
    does not eat into everyone's budget.

    @ivar ipv4Length: The prefix length that groups IPv4 sources.
    @ivar ipv6Length: The prefix length that groups IPv6 sources.
    """

    def __init__(
        self,
        clock: IReactorTime,
        perPrefix: RateLimit,
        overall: RateLimit,
        tableSize: int,
        ipv4Length: int = 24,
        ipv6Length: int = 56,
        key: bytes | None = None,
    ) -> None:
        """
        @param clock: Tells the time the buckets refill by.
        @param perPrefix: The bucket of each source prefix.
        @param overall: The bucket every reply also draws from.
        @param tableSize: How many prefix buckets; fixed for the life of
            the limiter.
        @param key: The hash key; 16 random bytes by default.  Tests give
            one to know which prefixes share a bucket.
        """
        self._clock = clock
        now = clock.seconds()
        self._prefixes = TokenBuckets(tableSize, perPrefix, now)
        self._overall = TokenBuckets(1, overall, now)
        self.ipv4Length = ipv4Length
        self.ipv6Length = ipv6Length
        self._key = os.urandom(16) if key is None else key
        # The slot of the last source: a source that sends many datagrams in
        # a row (a flood, a --count loop) is hashed once.  One entry, so it
        # cannot grow.
        self._lastHost = ""
        self._lastSlot: int | None = None

    @property
    def tableSize(self) -> int:
        """
        How many prefix buckets there are: the same from start to end.
        """
        return len(self._prefixes)

    def slotOf(self, host: str) -> int | None:
        """
        @return: The index of the bucket C{host}'s prefix uses, or L{None}
            if C{host} is not an IP address.
        """
        if host == self._lastHost:
            return self._lastSlot
        prefix = prefixOf(host, self.ipv4Length, self.ipv6Length)
        slot = None
        if prefix is not None:
            digest = blake2b(prefix, digest_size=8, key=self._key).digest()
            slot = int.from_bytes(digest, "big") % len(self._prefixes)
        self._lastHost, self._lastSlot = host, slot
        return slot

    def allow(self, host: str) -> bool:
        """
        Take a token for one reply to C{host}, if both buckets have one.

        The same as L{available} followed by L{spend}: for a caller that
        knows the reply will go out.

        @param host: The source address of the datagram to answer.
        @return: Whether the reply may be sent.  A source that is not an IP
            address never gets one.
        """
        slot = self.available(host)
        if slot is None:
            return False
        self.spend(slot)
        return True

    def available(self, host: str) -> int | None:
        """
        Say whether a reply to C{host} may go out now, without taking its
        tokens: a reply that is then not sent (too large for the datagram
        once rendered, or refused by the socket) must cost nothing.

        @param host: The source address of the datagram to answer.
        @return: The slot of C{host}'s prefix bucket, to hand to L{spend}
            once the reply has gone out, if both its bucket and the global
            one hold a token now; L{None} if either is empty, or C{host} is
            not an IP address.
        """
        slot = self.slotOf(host)
        if slot is None:
            return None
        now = self._clock.seconds()
        if (
            self._prefixes.available(slot, now) < 1.0
            or self._overall.available(0, now) < 1.0
        ):
            return None
        return slot

    def spend(self, slot: int) -> None:
        """
        Take the tokens of one reply that went out: one from bucket C{slot}
        and one from the global bucket.

        @param slot: What L{available} returned, in the same reactor turn
            (nothing refills or spends in between).
        """
        self._prefixes.spend(slot)
        self._overall.spend(0)
