"""
Tests for L{welcome_protocol.udp.ratelimit}.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.udp.ratelimit import (
    RateLimit,
    ReplyLimiter,
    TokenBuckets,
    prefixOf,
)

KEY = b"k" * 16
PER_PREFIX = RateLimit(100.0, 200)
OVERALL = RateLimit(1000.0, 2000)


def limiter(
    clock: Clock,
    perPrefix: RateLimit = PER_PREFIX,
    overall: RateLimit = OVERALL,
    tableSize: int = 16384,
) -> ReplyLimiter:
    """
    @return: A limiter on C{clock} with a known key, default prefixes.
    """
    return ReplyLimiter(clock, perPrefix, overall, tableSize, 24, 56, key=KEY)


def allowed(limiter: ReplyLimiter, host: str, count: int) -> int:
    """
    @return: How many of C{count} replies to C{host} the limiter allows now.
    """
    return sum(limiter.allow(host) for _ in range(count))


class TokenBucketsTests(TestCase):
    """
    L{TokenBuckets} start full, give a token a call, refill with time.
    """

    def test_burstThenRate(self) -> None:
        """
        A full bucket gives its burst at once, then C{rate} tokens a second.
        """
        buckets = TokenBuckets(1, RateLimit(10.0, 5), 0.0)
        taken = 0
        while buckets.available(0, 0.0) >= 1:
            buckets.spend(0)
            taken += 1
        self.assertEqual(taken, 5)
        self.assertAlmostEqual(buckets.available(0, 0.3), 3.0)

    def test_refillStopsAtBurst(self) -> None:
        """
        However long a bucket rests, it holds at most its burst.
        """
        buckets = TokenBuckets(1, RateLimit(10.0, 5), 0.0)
        self.assertEqual(buckets.available(0, 3600.0), 5.0)

    def test_clockGoingBackAddsNothing(self) -> None:
        """
        A clock set back (the reactor's is wall-clock time) neither adds
        nor removes tokens.
        """
        buckets = TokenBuckets(1, RateLimit(10.0, 5), 100.0)
        buckets.spend(0)
        self.assertEqual(buckets.available(0, 50.0), 4.0)

    def test_fixedSize(self) -> None:
        """
        The number of buckets is the number asked for, and stays so.
        """
        self.assertEqual(len(TokenBuckets(4096, RateLimit(1.0, 1), 0.0)), 4096)


class PrefixOfTests(TestCase):
    """
    L{prefixOf} groups addresses by their first bits.
    """

    def test_ipv4Slash24(self) -> None:
        """
        Two addresses in one /24 share a prefix; the next /24 does not.
        """
        self.assertEqual(prefixOf("192.0.2.1", 24, 56), prefixOf("192.0.2.254", 24, 56))
        self.assertNotEqual(
            prefixOf("192.0.2.1", 24, 56), prefixOf("192.0.3.1", 24, 56)
        )

    def test_ipv6Slash56(self) -> None:
        """
        IPv6 addresses in one /56 share a prefix; another /56 does not.
        """
        self.assertEqual(
            prefixOf("2001:db8:0:ff::1", 24, 56), prefixOf("2001:db8:0:1::2", 24, 56)
        )
        self.assertNotEqual(
            prefixOf("2001:db8:0:ff::1", 24, 56), prefixOf("2001:db8:0:100::1", 24, 56)
        )

    def test_configurableLengths(self) -> None:
        """
        With /32 each IPv4 address is its own prefix; with /16 a whole /16
        is one.
        """
        self.assertNotEqual(prefixOf("10.0.0.1", 32, 56), prefixOf("10.0.0.2", 32, 56))
        self.assertEqual(prefixOf("10.0.1.1", 16, 56), prefixOf("10.0.200.2", 16, 56))

    def test_mappedIPv4IsIPv4(self) -> None:
        """
        An IPv4-mapped IPv6 address, as an IPv6 socket reports IPv4 clients,
        has the prefix of the IPv4 address.
        """
        self.assertEqual(
            prefixOf("::ffff:192.0.2.7", 24, 56), prefixOf("192.0.2.1", 24, 56)
        )

    def test_versionsNeverCollide(self) -> None:
        """
        An IPv6 prefix whose bits equal an IPv4 one's is still another prefix.
        """
        self.assertNotEqual(prefixOf("0.0.0.1", 32, 128), prefixOf("::1", 32, 128))

    def test_scopeIgnored(self) -> None:
        """
        A link-local address's scope does not change its prefix.
        """
        self.assertEqual(prefixOf("fe80::1%eth0", 24, 56), prefixOf("fe80::1", 24, 56))

    def test_notAnAddress(self) -> None:
        """
        Text that is not an IP address has no prefix.
        """
        self.assertIsNone(prefixOf("example.com", 24, 56))


class ReplyLimiterTests(TestCase):
    """
    L{ReplyLimiter} gives each prefix its bucket and all of them one more.
    """

    def test_burstPerPrefix(self) -> None:
        """
        One source gets its burst at once, and nothing more until time
        passes.
        """
        clock = Clock()
        replies = limiter(clock)
        self.assertEqual(allowed(replies, "192.0.2.1", 1000), 200)

    def test_sustainedRate(self) -> None:
        """
        A source that keeps sending gets C{rate} replies a second after its
        burst: over 10 seconds, the burst and 10 times the rate.
        """
        clock = Clock()
        replies = limiter(clock)
        total = allowed(replies, "192.0.2.1", 1000)
        for _ in range(40):
            clock.advance(0.25)
            total += allowed(replies, "192.0.2.1", 1000)
        self.assertEqual(total, 200 + 100 * 10)

    def test_prefixSharesBucket(self) -> None:
        """
        Addresses of one /24 share its bucket: spoofing the next address
        over gains nothing.
        """
        clock = Clock()
        replies = limiter(clock)
        total = sum(allowed(replies, f"192.0.2.{n}", 100) for n in range(1, 11))
        self.assertEqual(total, 200)

    def test_otherPrefixUnaffected(self) -> None:
        """
        A prefix that used up its bucket does not limit another prefix.
        """
        clock = Clock()
        replies = limiter(clock)
        allowed(replies, "192.0.2.1", 1000)
        self.assertEqual(allowed(replies, "198.51.100.1", 5), 5)

    def test_globalBucketBoundsAllPrefixes(self) -> None:
        """
        Sources spread over many prefixes get no more than the global burst
        in all.
        """
        clock = Clock()
        replies = limiter(clock)
        total = sum(
            allowed(replies, f"10.{n // 256}.{n % 256}.1", 5) for n in range(2000)
        )
        self.assertEqual(total, 2000)
        self.assertFalse(replies.allow("203.0.113.1"))

    def test_availableTakesNothing(self) -> None:
        """
        L{ReplyLimiter.available} only looks: asked any number of times, it
        leaves both buckets as they were; L{ReplyLimiter.spend} with the
        slot it gave takes the tokens of one reply.
        """
        replies = limiter(
            Clock(), perPrefix=RateLimit(1.0, 2), overall=RateLimit(1.0, 3)
        )
        slots = {replies.available("192.0.2.1") for _ in range(100)}
        self.assertEqual(slots, {replies.slotOf("192.0.2.1")})
        slot = slots.pop()
        assert slot is not None
        replies.spend(slot)
        replies.spend(slot)
        self.assertIsNone(replies.available("192.0.2.1"))
        other = replies.available("198.51.100.1")
        assert other is not None
        replies.spend(other)
        self.assertIsNone(replies.available("203.0.113.1"))

    def test_refusedByPrefixCostsNoGlobalToken(self) -> None:
        """
        A reply its prefix's bucket refuses takes no token from the global
        bucket, so a flooding prefix does not use up everyone's budget.
        """
        clock = Clock()
        replies = limiter(clock, overall=RateLimit(1.0, 250))
        self.assertEqual(allowed(replies, "192.0.2.1", 10000), 200)
        self.assertEqual(allowed(replies, "198.51.100.1", 100), 50)

    def test_tableNeverGrows(self) -> None:
        """
        A hundred thousand spoofed prefixes leave the table its size: state
        is a fixed array, not a map of the sources seen.
        """
        clock = Clock()
        replies = limiter(clock, tableSize=1024)
        for n in range(100_000):
            replies.allow(f"{n % 223 + 1}.{n // 223 % 256}.{n % 256}.9")
        self.assertEqual(replies.tableSize, 1024)

    def test_keyedHash(self) -> None:
        """
        Which bucket a prefix uses depends on the key: without it, an
        attacker cannot pick prefixes that land on a victim's bucket.
        """
        clock = Clock()
        one = ReplyLimiter(clock, RateLimit(1.0, 1), RateLimit(1.0, 1), 16384, key=KEY)
        other = ReplyLimiter(
            clock, RateLimit(1.0, 1), RateLimit(1.0, 1), 16384, key=b"x" * 16
        )
        hosts = [f"192.0.{n}.1" for n in range(64)]
        self.assertNotEqual(
            [one.slotOf(h) for h in hosts], [other.slotOf(h) for h in hosts]
        )

    def test_randomKeyByDefault(self) -> None:
        """
        Two limiters made without a key map prefixes differently.
        """
        clock = Clock()
        hosts = [f"192.0.{n}.1" for n in range(64)]
        one, other = (
            ReplyLimiter(clock, RateLimit(1.0, 1), RateLimit(1.0, 1), 16384)
            for _ in range(2)
        )
        self.assertNotEqual(
            [one.slotOf(h) for h in hosts], [other.slotOf(h) for h in hosts]
        )

    def test_sameSourceTwice(self) -> None:
        """
        A source seen again (its slot remembered) and one seen after another
        source still map to their own buckets.
        """
        replies = limiter(Clock())
        first = replies.slotOf("192.0.2.1")
        self.assertEqual(replies.slotOf("192.0.2.1"), first)
        other = replies.slotOf("198.51.100.1")
        self.assertEqual(replies.slotOf("192.0.2.9"), first)
        self.assertNotEqual(other, first)

    def test_notAnAddressRefused(self) -> None:
        """
        A source that is not an IP address is never answered.
        """
        self.assertFalse(limiter(Clock()).allow("not-an-address"))
