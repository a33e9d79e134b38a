# -*- test-case-name: tests.test_workers -*-
"""
C{--workers N}: N processes accept on one listening socket, one per core.

This is the arrangement Twisted documents for using several cores
(C{docs/core/howto/...}, "Scaling with multiple processes"): the parent
creates the listening port; it starts each worker with
C{reactor.spawnProcess}, handing the port's file descriptor down through
C{childFDs}; each worker adopts it with C{reactor.adoptStreamPort} and
accepts connections from it.  The kernel gives each new connection to one
of the workers waiting on the socket.

The parent accepts nothing itself.  It restarts a worker that dies (at
once, or after a second if it died within a second of starting, so a
worker that cannot start does not spin), and on SIGTERM it stops every
worker (SIGTERM, then SIGKILL after L{STOP_GRACE} seconds) before it exits.

Logging stays in the parent: a worker's stdout is a pipe to it.  A worker
writes its access records there as plain C{A TIME ADDRESS} lines (batched,
like L{welcome_protocol.accesslog} does) and any other log event as
C{E JSON}; the parent feeds the records to its own access log, with
C{(worker PID)} after the address, and publishes the events to its log
publisher with C{worker PID} as their system.  So every line ends up in
twistd's log, wherever that goes, in twistd's format.  A worker also ends
when its parent does.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import sys
from collections.abc import Sequence
from typing import IO, Any, cast

from twisted.application.service import MultiService, Service
from twisted.internet import tcp
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import (
    IDelayedCall,
    IListeningPort,
    IReactorCore,
    IReactorFDSet,
    IReactorFromThreads,
    IReactorProcess,
    IReactorSocket,
    IReactorTime,
)
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import (
    ILogObserver,
    LogEvent,
    Logger,
    eventAsJSON,
    eventFromJSON,
    globalLogBeginner,
    globalLogPublisher,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.accesslog import AccessLog
from welcome_protocol.addresses import describeAddress
from welcome_protocol.commandline import parseCount
from welcome_protocol.directtcp import adopt
from welcome_protocol.listening import ListeningService

#: The most workers C{--workers} accepts.
MAX_WORKERS = 256

#: Seconds a worker has to stop after SIGTERM before it is killed.
STOP_GRACE = 10.0

#: A worker that dies sooner than this after starting is restarted only
#: after this long, so one that cannot start does not spin.
RESTART_DELAY = 1.0


def parseWorkers(text: str) -> int:
    """
    Read the C{--workers} option.

    @return: The number of worker processes; 0 means none (serve in the
        twistd process itself).
    @raise usage.UsageError: With a message naming the option and the value.
    """
    return parseCount("workers", text, 0, MAX_WORKERS)


def workerArguments(arguments: Sequence[str]) -> list[str]:
    """
    @return: C{twistd welcome} options for a worker: C{arguments} without
        C{--workers}, so that a worker parses the same configuration.
    """
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--workers":
            skip = True
        elif not argument.startswith("--workers="):
            kept.append(argument)
    return kept


class _Reactor(IReactorProcess, IReactorTime):
    """
    What the worker pool needs of a reactor.
    """


class _WorkerProtocol(ProcessProtocol):
    """
    One worker process, seen from the parent: relays its log, reports its end.
    """

    _log = Logger()

    def __init__(self, pool: WorkerPool, index: int, started: float) -> None:
        self.pool = pool
        self.index = index
        self.started = started
        self.pid: int | None = None
        self.ended: Deferred[None] = Deferred()
        self._partial = b""

    def connectionMade(self) -> None:
        """
        Remember the worker's process id.
        """
        assert self.transport is not None
        self.pid = self.transport.pid

    def outReceived(self, data: bytes) -> None:
        """
        Relay each complete line the worker wrote to its stdout.
        """
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self._relay(line.decode("utf-8", "replace"))

    def _relay(self, line: str) -> None:
        kind, _, rest = line.partition(" ")
        if kind == "A" and self.pool.accessLog is not None:
            when, _, peer = rest.partition(" ")
            self.pool.accessLog.recordAt(float(when), f"{peer} (worker {self.pid})")
        elif kind == "E":
            event = eventFromJSON(rest)
            event["log_system"] = f"worker {self.pid}"
            globalLogPublisher(event)
        elif line:
            self._log.info("worker {pid}: {line}", pid=self.pid, line=line)

    def processEnded(self, reason: Failure) -> None:
        """
        Relay what is left of the worker's output and tell the pool.
        """
        if self._partial:
            self._relay(self._partial.decode("utf-8", "replace"))
            self._partial = b""
        self.pool.workerEnded(self, reason)
        self.ended.callback(None)


class WorkerPool(Service):
    """
    Keep C{count} worker processes serving the listener's socket.

    @ivar workers: The worker processes running now.
    """

    _log = Logger()

    def __init__(
        self,
        reactor: _Reactor,
        listener: ListeningService,
        count: int,
        arguments: Sequence[str],
        accessLog: AccessLog | None,
        executable: str = sys.executable,
    ) -> None:
        """
        @param reactor: Starts the workers and times restarts.
        @param listener: Has created the listening port when this starts
            (start it first).
        @param count: How many workers to keep running.
        @param arguments: The workers' C{twistd welcome} options.
        @param accessLog: Where the workers' access records go, if logged.
        @param executable: The Python interpreter that runs the workers.
        """
        self._reactor = reactor
        self._listener = listener
        self._count = count
        self._arguments = list(arguments)
        self.accessLog = accessLog
        self._executable = executable
        self.workers: list[_WorkerProtocol] = []
        self._restarts: list[IDelayedCall] = []
        self._fd: int | None = None

    def startService(self) -> None:
        """
        Stop the parent accepting on the port; start the workers.
        """
        super().startService()  # type: ignore[no-untyped-call]
        port = cast(tcp.Port, self._listener.port)
        port.stopReading()
        self._fd = port.fileno()
        for index in range(self._count):
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        fd = self._fd
        assert fd is not None
        worker = _WorkerProtocol(self, index, self._reactor.seconds())
        self._reactor.spawnProcess(
            worker,
            self._executable,
            [
                self._executable,
                "-m",
                "welcome_protocol.workers",
                str(fd),
                *self._arguments,
            ],
            env=dict(os.environ),
            childFDs={1: "r", 2: 2, fd: fd},
        )
        self.workers.append(worker)

    def workerEnded(self, worker: _WorkerProtocol, reason: Failure) -> None:
        """
        Forget a worker that has ended; start another while running.
        """
        if worker in self.workers:
            self.workers.remove(worker)
        if not self.running:
            return
        lived = self._reactor.seconds() - worker.started
        delay = 0.0 if lived >= RESTART_DELAY else RESTART_DELAY
        self._log.warn(
            "Worker {index} (pid {pid}) ended ({why}); starting another",
            index=worker.index,
            pid=worker.pid,
            why=reason.getErrorMessage(),
        )
        call = self._reactor.callLater(delay, self._restart, worker.index)
        self._restarts.append(call)

    def _restart(self, index: int) -> None:
        self._restarts = [c for c in self._restarts if c.active()]
        if self.running:
            self._spawn(index)

    def stopService(self) -> Deferred[Any]:
        """
        Stop every worker: SIGTERM, then SIGKILL after L{STOP_GRACE}.

        @return: A L{Deferred} that fires once all have ended.
        """
        super().stopService()  # type: ignore[no-untyped-call]
        for call in self._restarts:
            if call.active():
                call.cancel()
        self._restarts = []
        workers = list(self.workers)
        for worker in workers:
            self._signal(worker, "TERM")
        kill = self._reactor.callLater(STOP_GRACE, self._killAll, workers)
        done = DeferredList([w.ended for w in workers])

        def cancelKill(result: object) -> object:
            if kill.active():
                kill.cancel()
            # The access log stopped with us (MultiService stops all its
            # children at once), before the workers' last records came in.
            if self.accessLog is not None:
                self.accessLog.flush()
            return result

        return done.addBoth(cancelKill)

    def signalAll(self, name: str) -> None:
        """
        Pass signal C{name} (e.g. C{"HUP"}) on to every worker.
        """
        for worker in self.workers:
            self._signal(worker, name)

    def _killAll(self, workers: list[_WorkerProtocol]) -> None:
        for worker in workers:
            self._signal(worker, "KILL")

    @staticmethod
    def _signal(worker: _WorkerProtocol, name: str) -> None:
        transport = worker.transport
        if transport is not None and transport.pid is not None:
            with contextlib.suppress(OSError, ProcessExitedAlready):
                transport.signalProcess(name)


# The worker process.


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
    log = Logger(namespace="welcome_protocol.workers")
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
    Run one worker: C{python -m welcome_protocol.workers FD OPTIONS...}.

    Serves the listening socket inherited as C{FD} with the configuration
    C{OPTIONS} (as for C{twistd welcome}) until SIGTERM.
    """
    from twisted.internet import reactor as globalReactor

    from welcome_protocol.tap import Options, makeServing

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
    with socket.socket(fileno=os.dup(fd)) as inherited:
        family = inherited.family
    port: IListeningPort
    if family == socket.AF_INET and isinstance(reactor, PosixReactorBase):
        # The same transport as a tcp: listener in a single process.
        port = adopt(cast(IReactorFDSet, reactor), factory, fd)
    else:
        port = cast(IReactorSocket, reactor).adoptStreamPort(fd, family, factory)
    os.close(fd)
    core = cast(IReactorCore, reactor)
    core.addSystemEventTrigger("before", "shutdown", port.stopListening)
    core.addSystemEventTrigger("before", "shutdown", service.stopService)
    _stopOnceOn(core, (signal.SIGTERM, signal.SIGINT))
    service.startService()
    # Only now, with the SIGHUP handler installed by the services: a signal
    # sent on reading this line is handled, not fatal.
    Logger(namespace="welcome_protocol.workers").info(
        "Worker {pid} serving on {address}",
        pid=os.getpid(),
        address=describeAddress(port.getHost()),
    )
    # Our own handlers (above): Twisted's would stop the reactor again on a
    # second signal and log a ReactorNotRunning traceback.
    core.run(installSignalHandlers=False)  # type: ignore[call-arg]


if __name__ == "__main__":
    main()
