"""
Tests for L{welcome_protocol.client.resolving}: lookups in daemon threads,
and the reason a name gave no address.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostResolution,
    IProtocol,
    IProtocolFactory,
    IReactorFromThreads,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.client.probe import DNS, TIMEOUT, classifyConnectFailure, probe
from welcome_protocol.client.resolving import (
    DOES_NOT_RESOLVE,
    DaemonThreadPool,
    NameNotResolved,
    ThreadedResolver,
)


@implementer(IReactorFromThreads)
class SameThread:
    """
    A reactor whose calls from threads run at once.
    """

    def callFromThread(
        self, callable: Callable[..., Any], *args: object, **kwargs: object
    ) -> None:
        """
        Call C{callable} now.
        """
        callable(*args, **kwargs)


class InlinePool(ThreadPool):
    """
    A thread pool that runs its work at once, in the caller's thread.
    """

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, Any], object] | None,
        func: Callable[..., Any],
        *args: Any,
        **kw: Any,
    ) -> None:
        """
        Run C{func} now and report its result.
        """
        assert onResult is not None
        onResult(True, func(*args, **kw))


@implementer(IResolutionReceiver)
class Receiver:
    """
    Collect a resolution's addresses.
    """

    def __init__(self) -> None:
        self.addresses: list[IAddress] = []
        self.complete = False

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        """
        Nothing to do.
        """

    def addressResolved(self, address: IAddress) -> None:
        """
        Keep C{address}.
        """
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        """
        Note the end.
        """
        self.complete = True


def answering(
    table: dict[tuple[str, int], list[tuple[Any, ...]] | int],
) -> Callable[..., list[tuple[Any, ...]]]:
    """
    A C{getaddrinfo} answering from C{table}, keyed by name and family: a
    list of results, or a C{gaierror} code to raise.
    """

    def getaddrinfo(
        name: str, port: int, family: int = 0, kind: int = 0
    ) -> list[tuple[Any, ...]]:
        answer = table.get((name, family), socket.EAI_NONAME)
        if isinstance(answer, int):
            raise socket.gaierror(answer, "failed")
        return answer

    return getaddrinfo


V4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))
V6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0))


class ThreadedResolverTests(TestCase):
    """
    L{ThreadedResolver} delivers addresses and notes why there were none.
    """

    def resolve(
        self,
        table: dict[tuple[str, int], list[tuple[Any, ...]] | int],
        name: str,
        types: list[type[IAddress]] | None = None,
    ) -> tuple[ThreadedResolver, Receiver]:
        """
        Resolve C{name} against C{table}.
        """
        resolver = ThreadedResolver(SameThread(), InlinePool(), answering(table))
        receiver = Receiver()
        resolver.resolveHostName(receiver, name, 0, types)
        self.assertTrue(receiver.complete)
        return resolver, receiver

    def test_addresses(self) -> None:
        """
        Every IPv4 and IPv6 address is delivered; no problem is noted.
        """
        resolver, receiver = self.resolve({("h", 0): [V4, V6]}, "h")
        self.assertEqual(
            receiver.addresses,
            [IPv4Address("TCP", "127.0.0.1", 0), IPv6Address("TCP", "::1", 0)],
        )
        self.assertIsNone(resolver.problem("h"))

    def test_noAnswer(self) -> None:
        """
        A resolver that did not answer (C{EAI_AGAIN}) is named as such.
        """
        resolver, receiver = self.resolve({("h", 0): socket.EAI_AGAIN}, "h")
        self.assertEqual(receiver.addresses, [])
        self.assertEqual(
            resolver.problem("h"),
            "the name resolver did not answer (temporary failure)",
        )

    def test_noAddressOfFamily(self) -> None:
        """
        A name with IPv4 addresses only, asked for IPv6 (C{-6 localhost}),
        has no IPv6 address: it does resolve.
        """
        resolver, _ = self.resolve({("h", 0): [V4]}, "h", [IPv6Address])
        self.assertEqual(resolver.problem("h"), "host name has no IPv6 address")

    def test_doesNotResolve(self) -> None:
        """
        A name with no address at all does not resolve.
        """
        resolver, _ = self.resolve({}, "h", [IPv6Address])
        self.assertEqual(resolver.problem("h"), DOES_NOT_RESOLVE)

    def test_daemonThreads(self) -> None:
        """
        The pool's threads do not keep the process alive.
        """
        pool = DaemonThreadPool(0, 1)
        thread = pool.threadFactory(target=lambda: None)
        self.assertTrue(thread.daemon)


@implementer(IStreamClientEndpoint)
class ResolvingForever:
    """
    An endpoint still resolving, which (like L{HostnameEndpoint}) fails a
    cancelled lookup with L{DNSLookupError}.
    """

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Never resolve.
        """
        return Deferred(lambda d: d.errback(DNSLookupError("cancelled")))


class ProbeResolutionTests(TestCase):
    """
    How a probe names a lookup's failure.
    """

    def test_lateLookupIsATimeout(self) -> None:
        """
        A lookup the deadline cut short is a timeout, not a name that does
        not resolve.
        """
        clock = Clock()
        d = probe(ResolvingForever(), clock, "h:1", timeout=2, now=clock.seconds)
        clock.advance(2)
        result = self.successResultOf(d)
        self.assertEqual(
            (result.kind, result.reason),
            (TIMEOUT, "timed out after 2 s resolving the host name"),
        )

    def test_explainedLookup(self) -> None:
        """
        A lookup that failed with a reason keeps it.
        """
        failed = classifyConnectFailure(
            "h:1", Failure(NameNotResolved("host name has no IPv6 address"))
        )
        self.assertEqual(
            (failed.kind, failed.message),
            (DNS, "cannot connect to h:1: host name has no IPv6 address"),
        )
