"""
Tests for L{welcome_protocol.observing.accesslog}: every connection becomes one line in
twistd's format, in order, at least once a second and at shutdown.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import time
from typing import Any, cast

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import (
    FileLogObserver,
    FilteringLogObserver,
    ILogObserver,
    LogEvent,
    LogLevel,
    LogLevelFilterPredicate,
    LogPublisher,
    formatEvent,
    formatEventAsClassicLogText,
    formatTime,
    textFileLogObserver,
)
from twisted.trial.unittest import TestCase

from tests.support import ServerProcess
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.observing.accesslog import NAMESPACE, AccessLog
from welcome_protocol.shared.addresses import describeAddress
from welcome_protocol.tap import Options, makeService

#: 2026-11-29T01:06:02 UTC, the example line's time.
T0 = 1795914362.0


def _collect(events: list[LogEvent]) -> ILogObserver:
    """
    @return: An observer that appends each event to C{events}.
    """
    return cast(ILogObserver, events.append)


class _Redirected(StringTransport):
    """
    A transport of a C{redirect:} or C{tproxy:} listener.
    """

    redirected = True


def _peer(port: int) -> IPv4Address:
    """
    @return: A loopback client address with C{port}.
    """
    return IPv4Address("TCP", "127.0.0.1", port)


class _UTC:
    """
    Run a test with the local time zone set to UTC, so lines are exact.
    """

    def __init__(self, case: TestCase) -> None:
        old = os.environ.get("TZ")
        os.environ["TZ"] = "UTC"
        time.tzset()

        def restore() -> None:
            if old is None:
                del os.environ["TZ"]
            else:
                os.environ["TZ"] = old
            time.tzset()

        case.addCleanup(restore)


class AccessLogTests(TestCase):
    """
    L{AccessLog} with a L{Clock} and a text observer on a L{io.StringIO},
    the way twistd's observer writes to stdout or a log file.
    """

    def setUp(self) -> None:
        _UTC(self)
        self.clock = Clock()
        self.clock.advance(T0)
        self.output = io.StringIO()
        self.publisher = LogPublisher(textFileLogObserver(self.output))
        self.log = AccessLog(self.clock, self.publisher)
        self.log.startService()
        self.addCleanup(self.log.stopService)

    def lines(self) -> list[str]:
        """
        @return: The lines written so far.
        """
        return self.output.getvalue().splitlines()

    def test_lineFormat(self) -> None:
        """
        Each connection becomes one line in twistd's format: time, namespace
        and level, C{Welcomed HOST:PORT} (C{[HOST]:PORT} for IPv6).
        """
        self.log.record(_peer(33866))
        self.log.record(IPv6Address("TCP", "::1", 40000))
        self.clock.advance(1)
        self.assertEqual(
            self.lines(),
            [
                "2026-11-29T01:06:02+0000 [welcome_protocol.server.WelcomeFactory"
                "#info] Welcomed 127.0.0.1:33866",
                "2026-11-29T01:06:02+0000 [welcome_protocol.server.WelcomeFactory"
                "#info] Welcomed [::1]:40000",
            ],
        )

    def test_ipv6HostsAsDescribed(self) -> None:
        """
        IPv6 clients, mapped IPv4 ones (a dual-stack listener's) and scoped
        ones are written as L{describeAddress} writes them, the first
        record of a host and the next alike.
        """
        peers = [
            IPv6Address("TCP", "::ffff:127.0.0.1", 40000),
            IPv6Address("TCP", "0:0:0:0:0:0:0:1", 40001),
            IPv6Address("TCP", "fe80::1%lo", 40002),
        ]
        for peer in peers + peers:
            self.log.record(peer)
        self.clock.advance(1)
        self.assertEqual(
            [line.split("#info] Welcomed ")[1] for line in self.lines()],
            [describeAddress(peer) for peer in peers + peers],
        )

    def test_ipv6HostsRememberedBounded(self) -> None:
        """
        However many IPv6 hosts connect, the log remembers the short form
        of a bounded number of them.
        """
        for n in range(3000):
            self.log.record(IPv6Address("TCP", f"2001:db8::{n:x}", 1))
        self.assertLessEqual(len(self.log._ipv6Hosts), 1024)
        self.clock.advance(1)
        self.assertEqual(len(self.lines()), 3000)
        self.assertTrue(self.lines()[-1].endswith("Welcomed [2001:db8::bb7]:1"))

    def test_flushedEverySecond(self) -> None:
        """
        A connection's line is written within a second, not before the timer
        fires, and each second's connections in the next flush.
        """
        self.clock.advance(0.25)
        self.log.record(_peer(1))
        self.clock.advance(0.7)
        self.assertEqual(self.lines(), [])
        self.clock.advance(0.05)
        self.assertEqual(len(self.lines()), 1)
        self.log.record(_peer(2))
        self.clock.advance(1)
        self.assertEqual(len(self.lines()), 2)
        self.assertTrue(self.lines()[1].endswith("Welcomed 127.0.0.1:2"))

    def test_eachLineHasItsConnectionsTime(self) -> None:
        """
        Lines carry the time of their connection, not of the flush, also
        when one flush covers connections from several seconds.
        """
        log = AccessLog(self.clock, self.publisher, interval=5)
        log.startService()
        for port in range(1, 5):
            log.record(_peer(port))
            self.clock.advance(1.2)
        log.stopService()
        self.assertEqual(
            [line[:25] for line in self.lines()],
            [
                "2026-11-29T01:06:02+0000 ",
                "2026-11-29T01:06:03+0000 ",
                "2026-11-29T01:06:04+0000 ",
                "2026-11-29T01:06:05+0000 ",
            ],
        )

    def test_orderedNothingDropped(self) -> None:
        """
        Thousands of connections over several seconds give exactly the lines
        twistd's observer would write for one event each, in order.
        """
        expected: list[str] = []
        observer = textFileLogObserver(io.StringIO())
        for port in range(1, 10001):
            self.log.record(_peer(port))
            line = observer.formatEvent(
                {
                    "log_format": "Welcomed {peer}",
                    "peer": f"127.0.0.1:{port}",
                    "log_time": self.clock.seconds(),
                    "log_namespace": NAMESPACE,
                    "log_level": LogLevel.info,
                }
            )
            assert line is not None
            expected.append(line)
            self.clock.advance(0.0007)
        self.clock.advance(1)
        self.assertEqual(self.output.getvalue(), "".join(expected))

    def test_stopFlushes(self) -> None:
        """
        Stopping the service writes every pending line and stops the timer.
        """
        self.log.record(_peer(1))
        self.log.record(_peer(2))
        self.log.stopService()
        self.assertEqual(len(self.lines()), 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_manyPendingFlushSooner(self) -> None:
        """
        Once C{batchLimit} records wait, they are written on the next
        reactor iteration rather than at the timer, so memory stays flat.
        """
        log = AccessLog(self.clock, self.publisher, batchLimit=3)
        log.startService()
        self.addCleanup(log.stopService)
        for port in range(3):
            log.record(_peer(port))
        self.clock.advance(0)
        self.assertEqual(len(self.lines()), 3)

    def test_bigBatchWrittenAFewHundredPerTurn(self) -> None:
        """
        A flush of many records writes at most C{chunkSize} of them per
        reactor turn (one delayed call each), in order, so the reactor is
        never held for long; the ones recorded meanwhile wait for the next
        flush.
        """
        log = AccessLog(self.clock, self.publisher, batchLimit=10, chunkSize=4)
        log.startService()
        self.addCleanup(log.stopService)

        def oneTurn() -> None:
            due = [c for c in self.clock.calls if c.getTime() <= self.clock.seconds()]
            self.assertEqual(len(due), 1)
            self.clock.calls.remove(due[0])
            due[0].func(*due[0].args, **due[0].kw)

        for port in range(10):
            log.record(_peer(port))
        oneTurn()
        self.assertEqual(len(self.lines()), 4)
        log.record(_peer(10))
        oneTurn()
        self.assertEqual(len(self.lines()), 8)
        oneTurn()
        self.assertEqual(len(self.lines()), 10)
        self.clock.advance(0)
        self.assertEqual(len(self.lines()), 10)
        self.clock.advance(1)
        self.assertEqual(
            [line.rsplit(":", 1)[1] for line in self.lines()],
            [str(port) for port in range(11)],
        )

    def test_oneWritePerFlush(self) -> None:
        """
        A flush writes all its lines to the observer's file in one write,
        followed by one flush, instead of a write and a flush per line.
        """
        calls: list[str] = []

        class CountingFile(io.StringIO):
            def write(self, text: str) -> int:
                calls.append("write")
                return super().write(text)

            def flush(self) -> None:
                calls.append("flush")

        output = CountingFile()
        log = AccessLog(self.clock, LogPublisher(textFileLogObserver(output)))
        for port in range(1, 101):
            log.record(_peer(port))
        log.flush()
        self.assertEqual(calls, ["write", "flush"])
        self.assertEqual(len(output.getvalue().splitlines()), 100)

    def test_binaryFile(self) -> None:
        """
        To a file that takes bytes, the lines go encoded in UTF-8, as
        L{FileLogObserver} itself writes them.
        """
        output = io.BytesIO()
        log = AccessLog(self.clock, LogPublisher(textFileLogObserver(output)))
        log.record(_peer(1))
        log.record(UNIXAddress("/run/wé.sock"))
        log.flush()
        lines = output.getvalue().decode("utf-8").splitlines()
        self.assertEqual(
            [line.split("] ", 1)[1] for line in lines],
            ["Welcomed 127.0.0.1:1", "Welcomed unix:/run/wé.sock"],
        )

    def test_subSecondTimeFormat(self) -> None:
        """
        An observer whose time format is finer than a second gets each line
        with its own time (nothing is reused across a second).
        """
        output = io.StringIO()

        def withMicroseconds(event: LogEvent) -> str | None:
            return formatEventAsClassicLogText(
                event, formatTime=lambda t: formatTime(t, "%H:%M:%S.%f")
            )

        log = AccessLog(
            self.clock, LogPublisher(FileLogObserver(output, withMicroseconds))
        )
        log.record(_peer(1))
        self.clock.advance(0.25)
        log.record(_peer(2))
        self.clock.advance(0.25)
        log.record(_peer(3))
        log.flush()
        self.assertEqual(
            [line.split(" ", 1)[0] for line in output.getvalue().splitlines()],
            ["01:06:02.000000", "01:06:02.250000", "01:06:02.500000"],
        )


class OtherObserverTests(TestCase):
    """
    Observers that are not text files (syslog, a user's C{--logger}, a
    filter) get one ordinary event per connection.
    """

    def test_eventPerConnection(self) -> None:
        """
        Each connection is one info event of the access namespace, with the
        connection's time and the usual message.
        """
        clock = Clock()
        events: list[LogEvent] = []
        log = AccessLog(clock, LogPublisher(_collect(events)))
        clock.advance(7)
        log.record(_peer(1))
        clock.advance(0.5)
        log.record(_peer(2))
        log.flush()
        self.assertEqual(
            [
                (e["log_time"], e["log_level"], e["log_namespace"], formatEvent(e))
                for e in events
            ],
            [
                (7, LogLevel.info, NAMESPACE, "Welcomed 127.0.0.1:1"),
                (7.5, LogLevel.info, NAMESPACE, "Welcomed 127.0.0.1:2"),
            ],
        )

    def test_filteringObserver(self) -> None:
        """
        A filtering observer (as C{twist --log-level} installs) applies its
        predicate to each connection's event.
        """
        clock = Clock()
        events: list[LogEvent] = []
        predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.warn)
        log = AccessLog(
            clock, LogPublisher(FilteringLogObserver(_collect(events), [predicate]))
        )
        log.record(_peer(1))
        log.flush()
        self.assertEqual(events, [])

    def test_anyCallable(self) -> None:
        """
        A publisher that is any callable observer gets one event per record.
        """
        clock = Clock()
        events: list[LogEvent] = []
        log = AccessLog(clock, _collect(events))
        log.record(_peer(1))
        log.record(_peer(2))
        log.flush()
        self.assertEqual(
            [formatEvent(e) for e in events],
            ["Welcomed 127.0.0.1:1", "Welcomed 127.0.0.1:2"],
        )

    def test_fileAndOtherObservers(self) -> None:
        """
        With a text file and another observer, both get every connection.
        """
        clock = Clock()
        events: list[LogEvent] = []
        output = io.StringIO()
        log = AccessLog(
            clock, LogPublisher(textFileLogObserver(output), _collect(events))
        )
        log.record(_peer(1))
        log.flush()
        self.assertEqual(len(events), 1)
        self.assertIn("Welcomed 127.0.0.1:1", output.getvalue())


class FactoryAndOptionTests(TestCase):
    """
    The factory records welcomed clients in the access log; the option turns
    it off.
    """

    def welcome(self, factory: WelcomeFactory, port: int) -> StringTransport:
        """
        Connect one client to C{factory} over a L{StringTransport}.
        """
        protocol = factory.buildProtocol(_peer(port))
        assert protocol is not None
        transport = StringTransport(peerAddress=_peer(port))
        protocol.makeConnection(transport)
        return transport

    def test_factoryRecords(self) -> None:
        """
        Each welcomed client is recorded with its address and the time.
        """
        clock = Clock()
        clock.advance(3)
        events: list[LogEvent] = []
        log = AccessLog(clock, _collect(events))
        factory = WelcomeFactory(ServerSettings(), clock=Clock(), accessLog=log)
        transport = self.welcome(factory, 1234)
        self.assertEqual(transport.value(), b"Welcome!")
        log.flush()
        self.assertEqual(
            [(e["log_time"], formatEvent(e)) for e in events],
            [(3, "Welcomed 127.0.0.1:1234")],
        )

    def test_factoryRecordsPortAskedFor(self) -> None:
        """
        On a transport that a kernel rule redirected to (a C{redirect:} or
        C{tproxy:} listener), the line also shows the address the client
        asked for.
        """
        clock = Clock()
        clock.advance(3)
        events: list[LogEvent] = []
        log = AccessLog(clock, _collect(events))
        factory = WelcomeFactory(ServerSettings(), clock=clock, accessLog=log)
        protocol = factory.buildProtocol(_peer(1234))
        assert protocol is not None
        transport = _Redirected(
            hostAddress=IPv4Address("TCP", "192.0.2.1", 23456),
            peerAddress=_peer(1234),
        )
        protocol.makeConnection(transport)
        log.flush()
        self.assertEqual(
            [(e["log_time"], formatEvent(e)) for e in events],
            [(3, "Welcomed 127.0.0.1:1234 to 192.0.2.1:23456")],
        )

    def test_factoryNotLogging(self) -> None:
        """
        With C{logConnections} off, nothing is recorded.
        """
        events: list[LogEvent] = []
        log = AccessLog(Clock(), _collect(events))
        factory = WelcomeFactory(
            ServerSettings(logConnections=False), clock=Clock(), accessLog=log
        )
        self.welcome(factory, 1234)
        log.flush()
        self.assertEqual(events, [])

    def test_noLogConnectionsOption(self) -> None:
        """
        C{--no-log-connections} turns per-connection logging off; it is on by
        default.
        """
        default = Options()
        default.parseOptions(["--port", "0"])
        off = Options()
        off.parseOptions(["--port", "0", "--no-log-connections"])
        self.assertEqual(
            (default.settings.logConnections, off.settings.logConnections),
            (True, False),
        )

    def test_serviceFlushesAfterListenersStop(self) -> None:
        """
        The service made by C{makeService} writes pending lines when it
        stops, after its listeners.
        """
        config = Options()
        config.parseOptions(["--port", "0"])
        reactor = MemoryReactorClock()
        service = makeService(config, cast(Any, reactor))
        # makeService returns an IService, which does not say it is iterable.
        names = [type(s).__name__ for s in service]  # type: ignore[attr-defined]
        # Services stop in reverse order: the access log last of all.
        self.assertEqual(names[0], "AccessLog")
        self.assertEqual(names[-1], "ListeningService")
        self.assertEqual(names.count("AccessLog"), 1)


def _greet(port: int) -> int:
    """
    Fetch one welcome from a loopback server.

    @return: The client's own port, as the server logs it.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        clientPort: int = client.getsockname()[1]
        while client.recv(100):
            pass
    return clientPort


class AccessLogEndToEndTests(TestCase):
    """
    The installed C{twistd welcome} logs every client, also at shutdown.
    """

    def startServer(self, *args: str) -> ServerProcess:
        """
        Start the installed server; make sure it is gone after the test.
        """
        server = ServerProcess(args)
        self.addCleanup(server.kill)
        return server

    def test_everyClientLoggedByShutdown(self) -> None:
        """
        Clients welcomed just before SIGTERM are all in the log, in order,
        each on one line in twistd's format, before twistd's last line.
        """
        server = self.startServer("--port", "0")
        port = server.tcpPort()
        server.waitRunning()
        clientPorts = [_greet(port) for _ in range(50)]
        server.stop(signal.SIGTERM)
        line = re.compile(
            r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} "
            r"\[welcome_protocol\.server\.WelcomeFactory#info\] "
            r"Welcomed 127\.0\.0\.1:(\d+)$"
        )
        logged = [
            int(found.group(1))
            for found in map(line.match, server.output)
            if found is not None
        ]
        self.assertEqual(logged, clientPorts, "\n".join(server.output))
        welcomed = max(i for i, text in enumerate(server.output) if "Welcomed" in text)
        shutDown = server.output.index(
            next(text for text in server.output if "Server Shut Down" in text)
        )
        self.assertLess(welcomed, shutDown)

    def test_noLogConnections(self) -> None:
        """
        With C{--no-log-connections}, clients are welcomed but not logged.
        """
        server = self.startServer("--port", "0", "--no-log-connections")
        port = server.tcpPort()
        server.waitRunning()
        _greet(port)
        server.stop(signal.SIGTERM)
        self.assertFalse(
            [text for text in server.output if "Welcomed" in text], server.output
        )
