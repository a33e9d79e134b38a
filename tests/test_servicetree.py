"""
Tests for L{welcome_protocol.service.tree}: the one service tree, in
process, in the C{--workers} parent and in a worker; and for the worker's
start (L{welcome_protocol.workers.process.serve}) on it.
"""

from __future__ import annotations

import io
import os
import socket
import sys
from typing import Any, cast

from twisted.application.service import IServiceCollection
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from tests.support import parseServerOptions
from tests.test_udp_listener import UDPMemoryReactor
from welcome_protocol.greeting.hangup import HangupService
from welcome_protocol.listening.datagram import DatagramListeningService
from welcome_protocol.listening.portrange import PortRangeService
from welcome_protocol.listening.service import ListenFailed, ListeningService
from welcome_protocol.metrics.workertotals import SnapshotWriter
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.observing.statsline import StatsReporter
from welcome_protocol.service.rlimits import FileLimitService
from welcome_protocol.service.shutdown import GracefulShutdown
from welcome_protocol.service.tree import Adopted, ServiceReactor, buildServiceTree
from welcome_protocol.workers.process import WorkerReactor, serve


def _listeningSocket(case: TestCase) -> int:
    """
    @return: A descriptor of a listening TCP socket on loopback, as a worker
        inherits it: adopting it closes it (Twisted's endpoint keeps a
        copy), and the socket itself is closed after C{case}.
    """
    listening = socket.socket()
    case.addCleanup(listening.close)
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    return os.dup(listening.fileno())


def _adopted(fd: int, lines: list[str]) -> Adopted:
    """
    A worker's link to its parent, writing its lines to C{lines}.
    """
    return Adopted(fd, lambda records: None, lines.append)


class BuildServiceTreeTests(TestCase):
    """
    L{buildServiceTree} builds every process's service.
    """

    def test_inProcess(self) -> None:
        """
        In process, the tree greets and listens on every description, a
        range and C{udp:} included, each listener one service.
        """
        settings = parseServerOptions(
            "--listen", "tcp:7000", "--listen", "tcp:7001-7003", "--listen", "udp:7004"
        ).settings
        reactor = UDPMemoryReactor()
        root = buildServiceTree(settings, cast(ServiceReactor, reactor))
        self.assertEqual(
            [type(child) for child in IServiceCollection(root)],
            [
                AccessLog,
                FileLimitService,
                StatsReporter,
                GracefulShutdown,
                HangupService,
                ListeningService,
                PortRangeService,
                DatagramListeningService,
            ],
        )
        root.startService()
        self.addCleanup(root.stopService)
        addresses = self.successResultOf(root.whenListening())
        self.assertEqual(
            [port for port, *_ in reactor.tcpServers], [7000, 7001, 7002, 7003]
        )
        self.assertEqual(len(addresses), 3)

    def test_worker(self) -> None:
        """
        A worker's tree is the in-process one on the adopted socket, with
        the snapshots to its parent, and no report of the host.
        """
        fd = _listeningSocket(self)
        lines: list[str] = []
        settings = parseServerOptions("--port", "0").settings
        reactor = MemoryReactorClock()
        root = buildServiceTree(
            settings, cast(ServiceReactor, reactor), _adopted(fd, lines)
        )
        self.assertEqual(
            [type(child) for child in IServiceCollection(root)],
            [
                AccessLog,
                FileLimitService,
                StatsReporter,
                GracefulShutdown,
                HangupService,
                SnapshotWriter,
                ListeningService,
            ],
        )
        root.startService()
        self.addCleanup(root.stopService)
        self.assertEqual([port[0] for port in reactor.adoptedPorts], [fd])
        self.assertEqual(self.successResultOf(root.whenListening()), ["0.0.0.0:1234"])
        self.assertTrue(lines and lines[0].startswith("S "), lines)

    def test_workerWithoutMetricsListener(self) -> None:
        """
        A worker does not serve C{--metrics}: the parent does, from the
        totals.
        """
        fd = _listeningSocket(self)
        settings = parseServerOptions("--port", "0", "--metrics", "tcp:9112").settings
        root = buildServiceTree(
            settings, cast(ServiceReactor, MemoryReactorClock()), _adopted(fd, [])
        )
        listeners = [
            c for c in IServiceCollection(root) if isinstance(c, ListeningService)
        ]
        self.assertEqual(len(listeners), 1)

    def test_whenListeningFails(self) -> None:
        """
        The root's C{whenListening} fails with the first listener's one-line
        reason.
        """
        self.patch(sys, "excepthook", sys.excepthook)
        settings = parseServerOptions("--listen", "tcp:7000").settings
        reactor = _RefusingReactor()
        root = buildServiceTree(settings, cast(ServiceReactor, reactor))
        self.assertRaises(ListenFailed, root.startService)
        failure = self.failureResultOf(root.whenListening(), ListenFailed)
        self.assertIn("cannot listen on tcp:7000", str(failure.value))


class _RefusingReactor(MemoryReactorClock):
    """
    A reactor on which nothing can listen.
    """

    def listenTCP(self, port: int, *args: Any, **kwargs: Any) -> IListeningPort:
        """
        Refuse, as a port in use does.
        """
        raise CannotListenError("", port, OSError(98, "Address already in use"))

    def adoptStreamPort(self, fileno: int, *args: Any, **kwargs: Any) -> IListeningPort:
        """
        Refuse, as an unusable socket does.
        """
        raise CannotListenError("", fileno, OSError(22, "Invalid argument"))


class WorkerServeTests(TestCase):
    """
    L{serve} runs a worker's tree and waits for it to listen.
    """

    def test_cannotListen(self) -> None:
        """
        A worker that cannot listen says so in one line and ends with
        status 1, with no traceback and no unhandled error.
        """
        self.patch(sys, "excepthook", sys.excepthook)
        fd = _listeningSocket(self)
        stderr = io.StringIO()
        options = parseServerOptions("--port", "0")
        done = serve(
            cast(WorkerReactor, _RefusingReactor()), options, fd, io.StringIO(), stderr
        )
        failure = self.failureResultOf(done, SystemExit)
        self.assertEqual(failure.value.code, 1)
        [line] = stderr.getvalue().splitlines()
        self.assertRegex(
            line, r"^welcome worker \d+: cannot listen on tcp:0: invalid argument$"
        )

    def test_notASocket(self) -> None:
        """
        A descriptor that is not a socket ends the worker the same way.
        """
        stderr = io.StringIO()
        with open(__file__) as f:
            done = serve(
                cast(WorkerReactor, MemoryReactorClock()),
                parseServerOptions("--port", "0"),
                f.fileno(),
                io.StringIO(),
                stderr,
            )
        self.assertEqual(self.failureResultOf(done, SystemExit).value.code, 1)
        self.assertIn("socket operation on non-socket", stderr.getvalue())

    def test_serving(self) -> None:
        """
        A worker that listens waits for the reactor to shut down, having
        arranged to stop its tree first.
        """
        fd = _listeningSocket(self)
        reactor = MemoryReactorClock()
        out = io.StringIO()
        done = serve(
            cast(WorkerReactor, reactor),
            parseServerOptions("--port", "0"),
            fd,
            out,
            io.StringIO(),
        )
        self.assertNoResult(done)
        self.assertTrue(out.getvalue().startswith("S "))
        [(stop, _, _)] = reactor.triggers["before"]["shutdown"]
        self.addCleanup(stop)
