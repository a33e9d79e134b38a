# -*- test-case-name: tests.test_workers -*-
"""
One C{--workers} process: C{python -m welcome_protocol.workers.process FD
OPTIONS...}, started by L{welcome_protocol.workers.pool.WorkerPool}.

It serves the listening socket inherited as C{FD} with the configuration
C{OPTIONS} (as for C{twistd welcome}), its service built by
L{buildServiceTree<welcome_protocol.service.tree.buildServiceTree>} like the
twistd process's own, and runs through L{task.react}.  Its stdout is a pipe
to the parent, which carries three kinds of line: C{A TIME ADDRESS} access
records, C{E JSON} log events, and C{S JSON} snapshots of its counters
(L{welcome_protocol.metrics.workertotals}).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import IO

from twisted.internet import task
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads
from twisted.logger import (
    ILogObserver,
    LogEvent,
    Logger,
    eventAsJSON,
    globalLogBeginner,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.configuration.options import Options
from welcome_protocol.listening.service import ListenFailed
from welcome_protocol.service.tree import Adopted, ServiceReactor, buildServiceTree
from welcome_protocol.shared.descriptions import DescriptionError

_log = Logger(namespace="welcome_protocol.workers.pool")


class WorkerReactor(ServiceReactor, IReactorCore):
    """
    What a worker needs of a reactor: the service's, and to run and stop.
    """


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


def _accessRelay(out: IO[str]) -> Callable[[list[tuple[float, str]]], None]:
    """
    @return: A C{writeRecords} for L{AccessLog
        <welcome_protocol.observing.accesslog.AccessLog>} writing
        C{A TIME ADDRESS} lines to C{out}, one write per batch.
    """

    def writeRecords(records: list[tuple[float, str]]) -> None:
        out.write(
            "".join(
                f"A {when!r} {peer.replace(chr(10), ' ')}\n" for when, peer in records
            )
        )
        out.flush()

    return writeRecords


def _lineWriter(out: IO[str]) -> Callable[[str], None]:
    """
    @return: Writes one line (a snapshot) to C{out} at once.
    """

    def writeLine(line: str) -> None:
        out.write(line)
        out.flush()

    return writeLine


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


def _stopOnceOn(
    reactor: IReactorCore, threads: IReactorFromThreads, signals: Sequence[int]
) -> None:
    """
    Stop the reactor on the first of C{signals}; ignore any after it.

    A worker often gets SIGTERM twice: from its parent, which stops every
    worker, and from systemd, which by default signals every process of the
    service's control group.  Twisted's own handlers would stop the reactor
    again on the second and log a C{ReactorNotRunning} traceback; these are
    installed once the reactor runs, in their place.
    """
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        name = signal.Signals(signum).name
        threads.callFromThread(_log.info, "Received {signal}, stopping", signal=name)
        threads.callFromThread(reactor.stop)

    for signum in signals:
        signal.signal(signum, stop)


def serve(
    reactor: WorkerReactor,
    options: Options,
    fd: int,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> Deferred[None]:
    """
    Serve the socket C{fd} with the service C{options} describe until the
    reactor stops.

    @param reactor: Runs the worker.
    @param options: The parsed command line of C{twistd welcome}.
    @param fd: The listening socket inherited from the parent.
    @param stdout: The pipe to the parent; C{sys.stdout} by default.
    @param stderr: Where a failure's one line goes: the real stderr (the
        parent's, which the worker inherits) by default.
    @return: A L{Deferred} that fires once the reactor has shut down, or
        fails with L{SystemExit} (status 1) if the socket cannot be served,
        after one line on stderr.
    """
    out = sys.stdout if stdout is None else stdout
    errors = (sys.__stderr__ or sys.stderr) if stderr is None else stderr
    try:
        service = buildServiceTree(
            options.settings,
            reactor,
            Adopted(fd, _accessRelay(out), _lineWriter(out)),
            program=f"welcome worker {os.getpid()}",
        )
    except DescriptionError as e:
        # FD is not a socket the description's listener can adopt.
        return _exit(f"cannot serve descriptor {fd}: {e}", errors)
    stopped: Deferred[None] = Deferred()
    try:
        service.startService()
    except ListenFailed as failed:
        return _exit(str(failed), errors)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    reactor.addSystemEventTrigger("after", "shutdown", stopped.callback, None)
    reactor.callWhenRunning(
        _stopOnceOn, reactor, reactor, (signal.SIGTERM, signal.SIGINT)
    )

    def serving(addresses: list[str]) -> Deferred[None]:
        # Said once the services (and so their signal handlers) have
        # started: from this line on, SIGHUP and SIGUSR1 reach their
        # handlers.
        _log.info(
            "Worker {pid} serving on {address}",
            pid=os.getpid(),
            address=", ".join(addresses),
        )
        return stopped

    def failedToListen(reason: Failure) -> Deferred[None] | Failure:
        # End the worker if it cannot listen; pass any other failure on.
        if isinstance(reason.value, ListenFailed):
            return _exit(str(reason.value), errors)
        return reason

    return service.whenListening().addCallbacks(serving, failedToListen)


def _exit(why: str, stderr: IO[str]) -> Deferred[None]:
    """
    Say in one line on C{stderr} why the worker cannot serve, and end it
    with status 1 (L{task.react} exits with a L{SystemExit}'s code).
    """
    stderr.write(f"welcome worker {os.getpid()}: {why}\n")
    stderr.flush()
    return fail(SystemExit(1))


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
    _endWithParent()
    if os.getppid() == 1:
        return
    arguments = list(sys.argv[1:] if argv is None else argv)
    fd = int(arguments[0])
    options = Options()
    options.parseOptions(arguments[1:])
    globalLogBeginner.beginLoggingTo(
        [_EventRelay(sys.stdout)], redirectStandardIO=False
    )
    task.react(serve, (options, fd))


if __name__ == "__main__":
    main()
