# -*- test-case-name: tests.test_servicetree -*-
"""
The one service tree: L{buildServiceTree} builds what runs, in the twistd
process, in the C{--workers} parent and in each worker.

Three shapes, one function, so that a guarantee built into one cannot be
missing from another:

 - I{in process} (no C{--workers}): the factory that greets, the services
   that look after it (open-file limit, stats line, graceful shutdown,
   SIGHUP reload), and every listener;
 - I{the C{--workers} parent}: the listening socket, the worker pool, and
   the totals of the workers' counters (stats line, metrics); it greets
   nobody itself;
 - I{a worker} (C{adopted} given): the same as in process, on the socket
   inherited from the parent, with its access records, log events and
   counters relayed to the parent.

Every listener, the metrics port's included, comes from the one builder
(L{ListenerBuilder}).
"""

from __future__ import annotations

from collections.abc import Callable

from attrs import frozen
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IReactorCore,
    IReactorFromThreads,
    IReactorPluggableNameResolver,
    IReactorThreads,
    IReactorTime,
)
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.hangup import HangupService
from welcome_protocol.greeting.message import Message, readMessageFile
from welcome_protocol.greeting.reloading import MessageReloader
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.listening.builder import ListenerBuilder
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.metrics.source import MetricsReactor, MetricsSource
from welcome_protocol.metrics.workertotals import SnapshotWriter, WorkerTotals
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.observing.statsline import StatsReporter
from welcome_protocol.service.rlimits import FileLimitService
from welcome_protocol.service.shutdown import GracefulShutdown
from welcome_protocol.service.startup import WelcomeService
from welcome_protocol.shared.stats import (
    DurationHistogram,
    ServerStats,
    durationBounds,
)
from welcome_protocol.udp.description import isUDP
from welcome_protocol.workers.pool import PoolReactor, WorkerPool


class ServiceReactor(
    MetricsReactor,
    PoolReactor,
    IReactorCore,
    IReactorPluggableNameResolver,
    IReactorThreads,
    IReactorFromThreads,
):
    """
    What the service needs of a reactor: to listen (TCP, UNIX, UDP and
    inherited sockets), to resolve names, to tell the time, threads to
    re-read the message file in (and to make the metrics page), and to
    start worker processes.
    """


@frozen
class Adopted:
    """
    A worker's side of its parent: the socket it serves and the pipe its
    records go up.

    @ivar fd: The listening socket inherited from the parent.
    @ivar writeRecords: Writes a batch of access records (when, address).
    @ivar writeLine: Writes one line (a snapshot of the counters).
    """

    fd: int
    writeRecords: Callable[[list[tuple[float, str]]], None]
    writeLine: Callable[[str], object]


def newStats(settings: ServerSettings, clock: IReactorTime) -> ServerStats:
    """
    @return: Counters starting now, their duration buckets reaching past
        the settings' idle timeout.
    """
    return ServerStats(
        clock.seconds(),
        durations=DurationHistogram(durationBounds(settings.idleTimeout)),
    )


def buildServiceTree(
    settings: ServerSettings,
    reactor: ServiceReactor,
    adopted: Adopted | None = None,
    program: str = "twistd welcome",
) -> WelcomeService:
    """
    Build the service C{settings} describe: in process, the C{--workers}
    parent's, or (with C{adopted}) a worker's.

    @param settings: The checked configuration.
    @param reactor: Listens, keeps time, runs threads and processes.
    @param adopted: In a worker, the socket and pipe from its parent;
        L{None} otherwise.
    @param program: Starts the one line a failure to listen is told in.
    @return: The root service; its C{whenListening} fires once every
        listener listens.
    """
    root = WelcomeService(
        reactor.nameResolver if adopted is None else None, program=program
    )
    accessLog = None
    if settings.logConnections:
        # Added first, so stopped last: the final connections' lines are
        # written once the listeners have stopped.
        accessLog = AccessLog(
            reactor, writeRecords=None if adopted is None else adopted.writeRecords
        )
        root.addService(accessLog)
    if settings.workers and adopted is None:
        source = _workersParent(settings, reactor, root, accessLog)
    else:
        source = _greeter(settings, reactor, root, accessLog, adopted)
    if settings.metrics is not None and adopted is None:
        # Imported only when asked for, for start-up time: prometheus_client
        # and twisted.web cost a service without --metrics memory and
        # start-up time.
        from welcome_protocol.metrics.service import metricsService

        root.addService(
            metricsService(reactor, settings.metrics, source, settings.metricsDeadline)
        )
    return root


def _greeter(
    settings: ServerSettings,
    reactor: ServiceReactor,
    root: WelcomeService,
    accessLog: AccessLog | None,
    adopted: Adopted | None,
) -> MetricsSource:
    """
    Add the factory that greets, the services that look after it and the
    listeners to C{root}: in process, or in a worker.

    @return: Where the metrics read this process's state.
    """
    stats = newStats(settings, reactor)
    factory = WelcomeFactory(settings, clock=reactor, stats=stats, accessLog=accessLog)
    # Children stop in reverse order: the listeners first, then the greetings
    # in flight drain, and the stats line comes once they have.
    root.addService(FileLimitService(settings.maxConnections))
    root.addService(
        StatsReporter(
            stats,
            lambda: factory.limits.open,
            factory.whenAllClosed,
            reactor,
            reactor,
            unfinishedConnections=lambda: factory.handshakes.unfinished,
            datagrams=any(isUDP(d) for d in settings.listen),
        )
    )
    root.addService(GracefulShutdown(factory, reactor, settings.shutdownTimeout))
    root.addService(HangupService(reactor, _onHangup(reactor, settings, factory)))
    if adopted is not None:
        root.addService(
            SnapshotWriter(
                stats,
                lambda: factory.limits.open,
                factory.whenAllClosed,
                adopted.writeLine,
                reactor,
            )
        )
    builder = ListenerBuilder(
        reactor,
        factory,
        factory.admission,
        settings.proxyFrom,
        settings.backlog,
        datagrams=(factory.source, stats, settings.datagrams),
    )
    if adopted is not None:
        # A worker serves its parent's one socket, with the same stages on
        # top as the parent's description names.
        root.addListener(builder.build(settings.listen[0], adoptedFD=adopted.fd))
    else:
        for description in settings.listen:
            root.addListener(builder.build(description))
    return MetricsSource(
        stats,
        lambda: factory.limits.open,
        settings.maxConnections,
        acceptPauses=builder.acceptPauses,
        unfinishedConnections=lambda: factory.handshakes.unfinished,
    )


def _workersParent(
    settings: ServerSettings,
    reactor: ServiceReactor,
    root: WelcomeService,
    accessLog: AccessLog | None,
) -> MetricsSource:
    """
    Add the C{--workers} parent's services to C{root}: the listening
    socket, the pool, and the totals' stats line.

    @return: Where the metrics read the workers' totals.
    """
    # The parent raises its open-file limit all the same, before it starts
    # the workers: a soft limit below a descriptor it inherited (bash keeps
    # 255 open) makes posix_spawn fail with EBADF, and the workers inherit
    # the raised limit.
    root.addService(FileLimitService(settings.maxConnections))
    # The parent's factory never greets (the pool stops it accepting), but
    # the listener is built like any other, so the socket is the same.
    factory = WelcomeFactory(settings, clock=reactor, accessLog=accessLog)
    builder = ListenerBuilder(
        reactor, factory, factory.admission, settings.proxyFrom, settings.backlog
    )
    listener = builder.build(settings.listen[0])
    if not isinstance(listener, ListeningService):
        raise TypeError(f"--workers cannot share {settings.listen[0]}")
    root.addListener(listener)
    totals = WorkerTotals(newStats(settings, reactor))
    pool = WorkerPool(
        reactor,
        listener,
        settings.workers,
        settings.workerArguments,
        accessLog,
        totals,
    )
    root.addService(pool)
    root.addService(HangupService(reactor, lambda: pool.signalAll("HUP")))
    # Stopped before the pool (children stop in reverse order), so the
    # final line waits for the workers' last snapshots.
    root.addService(
        StatsReporter(
            totals.stats, totals.openConnections, pool.whenAllEnded, reactor, reactor
        )
    )
    return MetricsSource(
        totals.stats,
        totals.openConnections,
        settings.maxConnections * settings.workers,
        lambda: len(pool.workers),
        lambda: pool.restarts,
        builder.acceptPauses,
    )


_log = Logger()


def _onHangup(
    reactor: ServiceReactor, settings: ServerSettings, factory: WelcomeFactory
) -> Callable[[], None]:
    """
    What SIGHUP does: re-read the message file in a thread, if there is one.
    """
    path, encoding = settings.messageFile, settings.encoding
    if path is None:

        def nothingToReload() -> None:
            _log.info("Received SIGHUP; no --message-file to re-read")

        return nothingToReload

    def load() -> Deferred[Message]:
        pool = reactor.getThreadPool()
        return deferToThreadPool(reactor, pool, readMessageFile, path, encoding)

    return MessageReloader(
        f"message file {path}", load, factory.setMessage, factory.stats
    ).reload
