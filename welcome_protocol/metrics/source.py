# -*- test-case-name: tests.test_metrics_collector -*-
"""
Where the metrics are read from: the service's counters and live state.

Kept apart from the collector so that the service can describe its state
without importing prometheus_client, which only C{--metrics} needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from attrs import frozen
from twisted.internet.interfaces import IReactorThreads

from welcome_protocol.listening.builder import ListenerReactor
from welcome_protocol.shared.stats import ServerStats


class MetricsReactor(ListenerReactor, IReactorThreads):
    """
    What the metrics port needs of a reactor: to listen and keep time, and
    a thread pool to make the exposition in.  Defined here, not beside the
    port's service, so that the service tree can name it without importing
    prometheus_client.
    """


@frozen
class MetricsSource:
    """
    Where the collector reads the service's state.

    @ivar stats: The counters (in-process, or summed over the workers).
    @ivar openConnections: Returns how many connections are open now.
    @ivar maxConnections: How many may be open at once, in all.
    @ivar workers: Returns how many worker processes run now (0 when
        serving in-process).
    @ivar workerRestarts: Returns how many worker processes ended and were
        started again.
    @ivar acceptPauses: For each listener's description, a function that
        returns how many times accepting on it paused for lack of file
        descriptors.
    @ivar unfinishedConnections: Returns how many of the open connections
        have not yet reached their welcome (PROXY header or TLS handshake
        pending).
    """

    stats: ServerStats
    openConnections: Callable[[], int]
    maxConnections: int
    workers: Callable[[], int] = lambda: 0
    workerRestarts: Callable[[], int] = lambda: 0
    acceptPauses: Sequence[tuple[str, Callable[[], int]]] = ()
    unfinishedConnections: Callable[[], int] = lambda: 0
