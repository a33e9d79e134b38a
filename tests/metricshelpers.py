"""
Scrape a metrics site in memory or over loopback, and read what it says.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IProtocolFactory
from twisted.internet.testing import MemoryReactorClock, StringTransport

#: A sample's name and its labels, sorted: how L{samples} keys them.
SampleKey = tuple[str, tuple[tuple[str, str], ...]]

SCRAPER = IPv4Address("TCP", "127.0.0.1", 45678)


class SynchronousPool:
    """
    A stand-in for a thread pool that runs each call at once.
    """

    def callInThreadWithCallback(
        self,
        onResult: Callable[[bool, object], object],
        f: Callable[..., object],
        *args: object,
        **kwargs: object,
    ) -> None:
        """
        Call C{f} now and hand its result (or failure) to C{onResult}.
        """
        try:
            result = f(*args, **kwargs)
        except BaseException as e:
            from twisted.python.failure import Failure

            onResult(False, Failure(e))
        else:
            onResult(True, result)


class ThreadedMemoryReactor(MemoryReactorClock):
    """
    A L{MemoryReactorClock} with a thread pool that runs calls at once.
    """

    def getThreadPool(self) -> SynchronousPool:
        """
        @return: The synchronous pool.
        """
        return SynchronousPool()

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """
        Run C{f} now: every "thread" here is the reactor thread.
        """
        f(*args, **kwargs)


def request(factory: IProtocolFactory, text: bytes) -> tuple[StringTransport, bytes]:
    """
    Send one HTTP request to a site factory over a L{StringTransport}.

    @return: The transport and everything the site wrote.
    """
    transport = StringTransport(peerAddress=SCRAPER)
    protocol = factory.buildProtocol(SCRAPER)
    assert protocol is not None
    protocol.makeConnection(transport)
    protocol.dataReceived(text)
    return transport, transport.value()


def samples(exposition: str) -> dict[SampleKey, float]:
    """
    @param exposition: Metrics in the Prometheus text format.
    @return: Every sample's value by name and labels.
    """
    found: dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def scrapeInMemory(factory: IProtocolFactory) -> dict[SampleKey, float]:
    """
    @return: The samples C{GET /metrics} returns from a site factory.
    """
    _, response = request(factory, b"GET /metrics HTTP/1.0\r\n\r\n")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 "), head
    return samples(body.decode("utf-8"))


def scrape(port: int) -> str:
    """
    @return: The exposition served on loopback C{port}.
    """
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text: str = r.read().decode("utf-8")
    return text


def value(found: dict[SampleKey, float], name: str, **labels: str) -> float:
    """
    @return: The value of the sample C{name} with exactly C{labels}.
    """
    return found[(name, tuple(sorted(labels.items())))]
