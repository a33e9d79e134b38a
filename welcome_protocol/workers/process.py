# -*- test-case-name: tests.test_workers -*-
"""
One C{--workers} process: C{python -m welcome_protocol.workers.process FD
OPTIONS...}, started by L{welcome_protocol.workers.pool.WorkerPool}.

It serves the listening socket inherited as C{FD} with the configuration
C{OPTIONS} (as for C{twistd welcome}), built by
L{welcome_protocol.serving.makeServing} like the twistd process's own.  Its
stdout is a pipe to the parent, which carries three kinds of line: C{A TIME
ADDRESS} access records, C{E JSON} log events, and C{S JSON} snapshots of
its counters (L{welcome_protocol.metrics.workertotals}).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Sequence
from typing import IO, Any, cast

from twisted.application.service import MultiService
from twisted.internet.interfaces import (
    IListeningPort,
    IReactorCore,
    IReactorFromThreads,
)
from twisted.logger import (
    ILogObserver,
    LogEvent,
    Logger,
    eventAsJSON,
    globalLogBeginner,
)
from zope.interface import implementer

from welcome_protocol.listening.builder import buildEndpoint
from welcome_protocol.metrics.workertotals import SnapshotWriter
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.serving import makeServing
from welcome_protocol.shared.addresses import describeAddress
from welcome_protocol.startup import freezeStartupObjects
from welcome_protocol.tap import Options


@implementer(ILogObserver)
class _EventRelay:
    """
    Write log events to the parent as C{E JSON} lines.
    """

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def __call__(self, event: LogEvent) -> None:
        # eventAsJSON escapes newlines: one event is one line.
        self._out.write("E " + eventAsJSON(event) + "\n")
        self._out.flush()


def _accessRelay(out: IO[str]) -> Any:
    """
    @return: A C{writeRecords} for L{AccessLog} writing C{A TIME ADDRESS}
        lines to C{out}, one write per batch.
    """

    def writeRecords(records: list[tuple[float, str]]) -> None:
        out.write(
            "".join(
                f"A {when!r} {peer.replace(chr(10), ' ')}\n" for when, peer in records
            )
        )
        out.flush()

    return writeRecords


def _endWithParent() -> None:
    """
    Ask Linux to send us SIGTERM when the parent dies (even by SIGKILL).
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return


def _stopOnceOn(reactor: IReactorCore, signals: Sequence[int]) -> None:
    """
    Stop the reactor on the first of C{signals}; ignore any after it.

    A worker often gets SIGTERM twice: from its parent, which stops every
    worker, and from systemd, which by default signals every process of the
    service's control group.
    """
    log = Logger(namespace="welcome_protocol.workers.pool")
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        name = signal.Signals(signum).name
        cast(IReactorFromThreads, reactor).callFromThread(
            log.info, "Received {signal}, stopping", signal=name
        )
        cast(IReactorFromThreads, reactor).callFromThread(reactor.stop)

    for signum in signals:
        signal.signal(signum, stop)


def main(argv: Sequence[str] | None = None) -> None:
    """
    Run one worker: C{python -m welcome_protocol.workers.process FD OPTIONS...}.

    Serves the listening socket inherited as C{FD} with the configuration
    C{OPTIONS} (as for C{twistd welcome}) until SIGTERM.
    """
    # SIGHUP (a reload, passed on by the parent) kills a process by default:
    # ignore it until the service's own handler is installed.  The message
    # is read at start anyway, so a reload that arrives before is not lost.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from twisted.internet import reactor as globalReactor

    _endWithParent()
    if os.getppid() == 1:
        return
    arguments = list(sys.argv[1:] if argv is None else argv)
    fd = int(arguments[0])
    config = Options()
    config.parseOptions(arguments[1:])
    reactor = cast(Any, globalReactor)
    out = sys.stdout
    globalLogBeginner.beginLoggingTo([_EventRelay(out)], redirectStandardIO=False)

    service = MultiService()
    accessLog = None
    if config.settings.logConnections:
        accessLog = AccessLog(reactor, writeRecords=_accessRelay(out))
        accessLog.setServiceParent(service)  # type: ignore[no-untyped-call]
    factory = makeServing(config.settings, reactor, service, accessLog)

    def writeLine(line: str) -> None:
        out.write(line)
        out.flush()

    snapshots = SnapshotWriter(
        factory.stats,
        lambda: factory.limits.open,
        factory.whenAllClosed,
        writeLine,
        reactor,
    )
    snapshots.setServiceParent(service)  # type: ignore[no-untyped-call]
    # The same builder as the single process's listeners: the same port,
    # transport, accept pausing and error containment.
    endpoint = buildEndpoint(
        reactor,
        config.settings.listen[0],
        factory.admission,
        config.settings.proxyFrom,
        adoptedFD=fd,
    )
    # Adopting a socket is synchronous: the Deferred has fired already.
    ports: list[IListeningPort] = []
    endpoint.listen(factory).addCallback(ports.append)
    [port] = ports
    core = cast(IReactorCore, reactor)
    core.addSystemEventTrigger("before", "shutdown", port.stopListening)
    core.addSystemEventTrigger("before", "shutdown", service.stopService)
    _stopOnceOn(core, (signal.SIGTERM, signal.SIGINT))
    service.startService()
    freezeStartupObjects()
    # Said once the services (and so their signal handlers) have started:
    # from this line on, SIGHUP and SIGUSR1 reach their handlers.
    Logger(namespace="welcome_protocol.workers.pool").info(
        "Worker {pid} serving on {address}",
        pid=os.getpid(),
        address=describeAddress(port.getHost()),
    )
    # Our own handlers (above): Twisted's would stop the reactor again on a
    # second signal and log a ReactorNotRunning traceback.
    core.run(installSignalHandlers=False)  # type: ignore[call-arg]


if __name__ == "__main__":
    main()
