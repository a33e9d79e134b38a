# -*- test-case-name: tests.test_tap -*-
"""
What greets: the factory and the services that look after it, the same in
the twistd process and in each C{--workers} process.

Both L{welcome_protocol.tap} (serving in-process) and
L{welcome_protocol.workers.process} (serving in a worker) build their service
from here, so a worker serves exactly as a single process does; the worker
imports C{tap} only for its C{Options}, to parse the same command line.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.application.service import IServiceCollection
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IReactorFromThreads,
    IReactorPluggableNameResolver,
    IReactorTCP,
    IReactorThreads,
    IReactorTime,
    IReactorUDP,
)
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

from welcome_protocol.greeting.hangup import HangupService
from welcome_protocol.greeting.message import Message, readMessageFile
from welcome_protocol.greeting.reloading import MessageReloader
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.rlimits import FileLimitService
from welcome_protocol.settings import ServerSettings
from welcome_protocol.shared.stats import (
    DurationHistogram,
    ServerStats,
    StatsReporter,
    durationBounds,
)
from welcome_protocol.shutdown import GracefulShutdown
from welcome_protocol.udp.description import isUDP


class ServiceReactor(
    IReactorTCP,
    IReactorUDP,
    IReactorPluggableNameResolver,
    IReactorTime,
    IReactorThreads,
    IReactorFromThreads,
):
    """
    What the service needs of a reactor: to listen (TCP and UDP), to
    resolve names, to tell the time, and threads to re-read the message
    file in.
    """


def newStats(settings: ServerSettings, clock: IReactorTime) -> ServerStats:
    """
    @return: Counters starting now, their duration buckets reaching past
        the settings' idle timeout.
    """
    return ServerStats(
        clock.seconds(),
        durations=DurationHistogram(durationBounds(settings.idleTimeout)),
    )


def makeServing(
    settings: ServerSettings,
    reactor: ServiceReactor,
    parent: IServiceCollection,
    accessLog: AccessLog | None,
) -> WelcomeFactory:
    """
    Make the factory that greets, with the services that look after it
    (open-file limit, stats, graceful shutdown, SIGHUP reload) under
    C{parent}; the same in the twistd process and in each worker.

    @return: The factory, to listen with.
    """
    stats = newStats(settings, reactor)
    factory = WelcomeFactory(settings, clock=reactor, stats=stats, accessLog=accessLog)
    # Children stop in reverse order: the listeners first, then the greetings
    # in flight drain, and the stats line comes once they have.
    for child in [
        FileLimitService(settings.maxConnections),
        StatsReporter(
            stats,
            lambda: factory.limits.open,
            factory.whenAllClosed,
            reactor,
            reactor,
            unfinishedConnections=lambda: factory.handshakes.unfinished,
            datagrams=any(isUDP(d) for d in settings.listen),
        ),
        GracefulShutdown(factory, reactor, settings.shutdownTimeout),
        HangupService(reactor, _onHangup(reactor, settings, factory)),
    ]:
        child.setServiceParent(parent)
    return factory


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
