# -*- test-case-name: tests.test_workers -*-
"""
C{--workers N}: N processes accept on one listening socket, one per core.

This is the arrangement Twisted documents for using several cores
(C{docs/core/howto/...}, "Scaling with multiple processes"): the parent
creates the listening port; it starts each worker with
C{reactor.spawnProcess}, handing the port's file descriptor down through
C{childFDs}; each worker adopts it through the same listener builder as
a single process (L{welcome_protocol.service.tree.buildServiceTree}, so
a L{DirectPort<welcome_protocol.listening.directtcp.port.DirectPort>} with
accept pausing and error containment) and accepts connections from it.
The kernel gives each new connection to one of the workers waiting on the
socket.

The parent accepts nothing itself.  It restarts a worker that dies (at
once, or after a second if it died within a second of starting, so a
worker that cannot start does not spin), and on SIGTERM it stops every
worker (SIGTERM, then SIGKILL after L{STOP_GRACE} seconds) before it exits.

Logging stays in the parent: a worker's stdout is a pipe to it.  A worker
writes its access records there as plain C{A TIME ADDRESS} lines (batched,
like L{welcome_protocol.observing.accesslog} does) and any other log event as
C{E JSON}; the parent feeds the records to its own access log, with
C{(worker PID)} after the address, and publishes the events to its log
publisher with C{worker PID} as their system.  So every line ends up in
twistd's log, wherever that goes, in twistd's format.  Snapshots of a
worker's counters come as C{S JSON} lines, which the parent sums
(L{welcome_protocol.metrics.workertotals}).  A worker also ends when its
parent does.

The worker process itself is L{welcome_protocol.workers.process}.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorProcess,
    IReactorTime,
)
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import (
    Logger,
    eventFromJSON,
    globalLogPublisher,
)
from twisted.python.failure import Failure

from welcome_protocol.listening.service import ListeningService
from welcome_protocol.metrics.workertotals import SnapshotError, WorkerTotals
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.shared.commandline import parseCount

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


@runtime_checkable
class SharedPort(Protocol):
    """
    What the pool needs of the listener's port: a L{DirectPort
    <welcome_protocol.listening.directtcp.port.DirectPort>} (or Twisted's
    C{tcp.Port}) has it.  The parent stops reading it, and hands its
    socket's descriptor to the workers.
    """

    def stopReading(self) -> None:
        """
        Stop accepting on the socket in this process.
        """

    def fileno(self) -> int:
        """
        @return: The listening socket's descriptor.
        """


class PoolReactor(IReactorProcess, IReactorTime):
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
        elif kind == "S":
            totals = self.pool.totals
            try:
                totals.update(self, totals.parse(rest))
            except SnapshotError as e:
                self._log.warn("worker {pid}: bad snapshot: {why}", pid=self.pid, why=e)
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
        self.pool.totals.ended(self)
        self.pool.workerEnded(self, reason)
        self.ended.callback(None)


class WorkerPool(Service):
    """
    Keep C{count} worker processes serving the listener's socket.

    @ivar workers: The worker processes running now.
    @ivar totals: The sum of their counters, and of those that have ended.
    @ivar restarts: How many workers ended and were started again.
    """

    _log = Logger()

    def __init__(
        self,
        reactor: PoolReactor,
        listener: ListeningService,
        count: int,
        arguments: Sequence[str],
        accessLog: AccessLog | None,
        totals: WorkerTotals,
        executable: str = sys.executable,
    ) -> None:
        """
        @param reactor: Starts the workers and times restarts.
        @param listener: Has created the listening port when this starts
            (start it first): a port the parent stops reading and whose
            socket the workers accept on (L{SharedPort}).
        @param count: How many workers to keep running.
        @param arguments: The workers' C{twistd welcome} options.
        @param accessLog: Where the workers' access records go, if logged.
        @param totals: Sums the workers' counters.
        @param executable: The Python interpreter that runs the workers.
        """
        self._reactor = reactor
        self._listener = listener
        self._count = count
        self._arguments = list(arguments)
        self.accessLog = accessLog
        self.totals = totals
        self.restarts = 0
        self._executable = executable
        self.workers: list[_WorkerProtocol] = []
        self._restarts: list[IDelayedCall] = []
        self._fd: int | None = None

    def startService(self) -> None:
        """
        Stop the parent accepting on the port; start the workers.
        """
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        # The listener's port is a DirectPort (the builder's for plain tcp:
        # and tcp6:, the only kinds --workers takes), not Twisted's tcp.Port.
        port = self._listener.port
        if not isinstance(port, SharedPort):
            raise TypeError(f"workers cannot share {port!r}")
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
                "welcome_protocol.workers.process",
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
        self.restarts += 1
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
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
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

    def whenAllEnded(self) -> Deferred[Any]:
        """
        @return: A L{Deferred} that fires once every worker running now has
            ended (and sent its last snapshot).
        """
        return DeferredList([w.ended for w in self.workers])

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
