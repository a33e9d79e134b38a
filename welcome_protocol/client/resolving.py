# -*- test-case-name: tests.test_client_resolving -*-
"""
Name resolution that never keeps the client past its C{--timeout}, and
that says why a name gave no address.

Twisted's default resolver calls C{getaddrinfo} in the reactor's thread
pool, which the reactor joins when it stops: a resolver that never answers
(C{options timeout:8} in C{resolv.conf}) kept the client running for 8 s
after C{-t 2} had given up, and, ten threads at a time, kept a scan of
twenty such names at C{-t 1} running for 16 s.  Each probe bounds its own
resolution with its deadline; this resolver makes giving up enough: the
lookups run in a pool of daemon threads that the reactor does not own, so a
lookup still blocked in C{getaddrinfo} when the run is over holds nothing
up.

An L{IResolutionReceiver} hears only addresses, never why there were none;
so the resolver notes the reason (L{ThreadedResolver.problem}): a resolver
that did not answer, or a name that resolves but has no address of the
family asked for (C{-6 localhost}), is not "does not resolve".
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IReactorFromThreads,
    IResolutionReceiver,
)
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from welcome_protocol.client.reactors import RunningReactor

RESOLVER_THREADS = 64
"""
The most lookups at once: a scan resolves up to C{--parallel} names at a
time, and a lookup that never answers holds its thread until C{getaddrinfo}
gives up.
"""

DOES_NOT_RESOLVE = "host name does not resolve"

GetAddrInfo = Callable[..., list[tuple[Any, ...]]]
"""
L{socket.getaddrinfo}'s signature (Any: its tuples mix ints and addresses).
"""


class NameNotResolved(DNSLookupError):
    """
    A name gave no address, with the reason in words (C{why}).
    """

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _daemonThread(*args: Any, **kwargs: Any) -> threading.Thread:
    # Any: the arguments of threading.Thread, passed through.
    return threading.Thread(*args, daemon=True, **kwargs)


class DaemonThreadPool(ThreadPool):
    """
    A L{ThreadPool} whose threads do not keep the process alive: nothing
    joins them when the reactor stops.
    """

    # Twisted types threadFactory as type[Thread]; any callable returning a
    # Thread is what it calls.
    threadFactory = staticmethod(_daemonThread)  # type: ignore[assignment]


@implementer(IHostResolution)
class _Resolution:
    """
    One lookup in progress, as its receiver is told of it.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        """
        A lookup in C{getaddrinfo} cannot be stopped; its answer is dropped
        by whoever gave up on it.
        """


_FAMILIES: dict[frozenset[type[IAddress]], int] = {
    frozenset([IPv4Address]): socket.AF_INET,
    frozenset([IPv6Address]): socket.AF_INET6,
}
_TYPES = {socket.AF_INET: IPv4Address, socket.AF_INET6: IPv6Address}
_SOCKET_TYPES = {"TCP": socket.SOCK_STREAM, "UDP": socket.SOCK_DGRAM}


def _explain(
    getaddrinfo: GetAddrInfo, error: socket.gaierror, name: str, family: int
) -> str:
    """
    Say why C{name} gave no address of C{family}; runs in the lookup's
    thread, as it may ask again for any family.
    """
    if family != socket.AF_UNSPEC:
        # Asked first: a name found in the hosts file for one family only
        # may still send the other family's question to a name server.
        try:
            getaddrinfo(name, 0, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            pass
        else:
            version = 4 if family == socket.AF_INET else 6
            return f"host name has no IPv{version} address"
    if error.errno == socket.EAI_AGAIN:
        return "the name resolver did not answer (temporary failure)"
    return DOES_NOT_RESOLVE


@implementer(IHostnameResolver)
class ThreadedResolver:
    """
    Resolve with C{getaddrinfo} in a L{DaemonThreadPool}, noting why a
    name gave no address.
    """

    def __init__(
        self,
        reactor: IReactorFromThreads,
        pool: ThreadPool,
        getaddrinfo: GetAddrInfo = socket.getaddrinfo,
    ) -> None:
        self._reactor = reactor
        self._pool = pool
        self._getaddrinfo = getaddrinfo
        self._problems: dict[str, str] = {}

    def problem(self, hostName: str) -> str | None:
        """
        @return: Why the last lookup of C{hostName} gave no address, or
            L{None} if it gave some (or has not ended).
        """
        return self._problems.get(hostName)

    def _lookup(
        self, name: str, port: int, family: int, socketType: int
    ) -> list[tuple[Any, ...]] | str:
        try:
            return self._getaddrinfo(name, port, family, socketType)
        except socket.gaierror as e:
            return _explain(self._getaddrinfo, e, name, family)
        except (OSError, UnicodeError):
            return DOES_NOT_RESOLVE

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        Look C{hostName} up in a thread; tell C{resolutionReceiver} the
        addresses (of C{addressTypes}, if given) on the reactor's thread.
        """
        family = _FAMILIES.get(frozenset(addressTypes or ()), socket.AF_UNSPEC)
        socketType = _SOCKET_TYPES.get(transportSemantics, socket.SOCK_STREAM)
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def found(names: list[tuple[Any, ...]] | str) -> None:
            if isinstance(names, str):
                self._problems[hostName] = names
                names = []
            else:
                self._problems.pop(hostName, None)
            for addressFamily, kind, _, _, sockaddr in names:
                if addressFamily not in _TYPES:
                    continue
                transport = "UDP" if kind == socket.SOCK_DGRAM else "TCP"
                resolutionReceiver.addressResolved(
                    _TYPES[addressFamily](transport, *sockaddr)
                )
            resolutionReceiver.resolutionComplete()

        def failed(reason: Failure) -> None:
            self._problems[hostName] = reason.getErrorMessage()
            resolutionReceiver.resolutionComplete()

        deferToThreadPool(
            self._reactor,
            self._pool,
            self._lookup,
            hostName,
            portNumber,
            family,
            socketType,
        ).addCallbacks(found, failed)
        return resolution


def installResolver(
    reactor: RunningReactor, threads: int = RESOLVER_THREADS
) -> ThreadedResolver:
    """
    Make C{reactor} resolve names with a L{ThreadedResolver}.
    """
    pool = DaemonThreadPool(0, threads, "welcome-client resolver")
    pool.start()
    resolver = ThreadedResolver(reactor, pool)
    reactor.installNameResolver(resolver)
    return resolver
