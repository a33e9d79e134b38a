"""
Tests for L{welcome_protocol.tap}: the options of C{twistd welcome} and the
service they make.
"""

from __future__ import annotations

import io
import subprocess
import sys
from ipaddress import ip_network
from pathlib import Path
from typing import Any, cast

from twisted.application.service import IServiceCollection, IServiceMaker
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.plugin import getPlugins
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.python.usage import UsageError
from twisted.trial.unittest import TestCase

from tests import optionranges
from tests.certificates import makeCertificate
from tests.support import parseServerOptions, temporaryPath
from welcome_protocol.configuration.groups import PORT_ERROR
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.hangup import HangupService
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.handshaking.handshakes import HandshakeFirstWrappingFactory
from welcome_protocol.handshaking.proxyheader import HeaderFirstWrappingFactory
from welcome_protocol.listening.backlog import defaultBacklog
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.observing.statsline import StatsReporter
from welcome_protocol.service.rlimits import FileLimitService
from welcome_protocol.service.shutdown import GracefulShutdown
from welcome_protocol.shared.commandline import versionText
from welcome_protocol.tap import Options, makeService
from welcome_protocol.workers.pool import WorkerPool


def _helpOf(option: str) -> str:
    """
    @return: The help text C{twistd welcome --help} gives C{option}, on one
        line: its first line and the indented lines after it.
    """
    lines = str(Options()).splitlines()
    start = next(i for i, line in enumerate(lines) if option in line)
    help = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * 20):
            break
        help.append(line)
    return " ".join(" ".join(help).split())


class OptionsTests(TestCase):
    """
    L{Options} validates everything once, at start-up.
    """

    def test_defaults(self) -> None:
        """
        With no options: port 12000 and the default settings (C{Welcome!},
        connections logged).
        """
        options = parseServerOptions()
        self.assertEqual(options["port"], 12000)
        self.assertEqual(options.settings, ServerSettings())
        self.assertEqual(options.settings.message, b"Welcome!")

    def test_port(self) -> None:
        """
        C{--port} and C{-p} take a port number; 0 and 65535 are allowed.
        """
        self.assertEqual(parseServerOptions("--port", "8000")["port"], 8000)
        self.assertEqual(parseServerOptions("-p", "0")["port"], 0)
        self.assertEqual(parseServerOptions("--port=65535")["port"], 65535)

    def test_badPort(self) -> None:
        """
        A port that is not an integer 0-65535 is a usage error naming it and
        both forms C{--port} takes (a port, a range).
        """
        for bad in ["http", "", "-1", "65536", "1e3", "12.5", "0x10", "١٢"]:
            with self.assertRaises(UsageError) as caught:
                parseServerOptions("--port", bad)
            self.assertEqual(
                str(caught.exception),
                PORT_ERROR.format(bad),
            )

    def test_helpNamesPortRanges(self) -> None:
        """
        C{--help} says that C{--port} and C{--listen} take a range of ports,
        and how many a range may hold.
        """
        for option in ["--port=", "--listen="]:
            help = _helpOf(option)
            self.assertIn("20000-20099", help)
            self.assertIn("at most 10000", help)

    def test_numbersInPlainDigits(self) -> None:
        """
        Ports and counts are whole numbers in plain digits: C{1e3} is
        refused there, as docs/server.md says, and accepted as a duration.
        """
        for option in ["--port", "--max-connections", "--backlog", "--max-per-ip"]:
            self.assertRaises(UsageError, parseServerOptions, option, "1e3")
        settings = parseServerOptions("--idle-timeout", "1e3").settings
        self.assertEqual(settings.idleTimeout, 1000.0)

    def test_version(self) -> None:
        """
        C{--version} prints the versions of this project and Twisted, exit 0.
        """
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        with self.assertRaises(SystemExit) as caught:
            parseServerOptions("--version")
        self.assertEqual(caught.exception.code, 0)
        self.assertEqual(out.getvalue(), versionText() + "\n")

    def test_helpShowsDefaults(self) -> None:
        """
        C{--help} documents every option with its default.
        """
        self.assertIn("[default: 12000]", str(Options()))


class MakeServiceTests(TestCase):
    """
    L{makeService} listens on TCP, all IPv4 interfaces, with the factory.
    """

    def test_listensOnPort(self) -> None:
        """
        Starting the service listens on the configured port, on all IPv4
        interfaces, with a L{WelcomeFactory} carrying the settings.
        """
        reactor = MemoryReactorClock()
        options = parseServerOptions("--port", "12345")
        # MemoryReactor lacks threads, which only SIGHUP reloads use.
        service = makeService(options, reactor)  # type: ignore[arg-type]
        service.startService()
        self.addCleanup(service.stopService)
        [(port, factory, _backlog, interface)] = reactor.tcpServers
        self.assertEqual((port, interface), (12345, ""))
        self.assertIsInstance(factory, WelcomeFactory)
        assert isinstance(factory, WelcomeFactory)
        self.assertIs(factory.settings, options.settings)


class PluginTests(TestCase):
    """
    The dropin registers C{welcome} with twistd.
    """

    def test_pluginFound(self) -> None:
        """
        Twisted's plugin scan finds an L{IServiceMaker} named C{welcome} whose
        options and service come from L{welcome_protocol.tap}.
        """
        makers = {m.tapname: m for m in getPlugins(IServiceMaker)}
        self.assertIn("welcome", makers)
        maker = makers["welcome"]
        self.assertIsInstance(maker.options(), Options)
        self.assertIn("welcome", maker.description.lower())


def _parse(*args: str) -> ServerSettings:
    options = Options()
    options.parseOptions(list(args))
    return options.settings


class HostileNetworkOptionsTests(TestCase):
    """
    The hostile-network options are validated into L{ServerSettings}.
    """

    def test_defaults(self) -> None:
        """
        By default: close after the welcome, 300 s idle timeout, a burst
        backlog, 10000 connections, no busy message or per-IP limit, 5 s to
        shut down.
        """
        settings = _parse()
        self.assertEqual(
            (
                settings.keepOpen,
                settings.idleTimeout,
                settings.backlog,
                settings.maxConnections,
                settings.busyMessage,
                settings.maxPerIP,
                settings.shutdownTimeout,
            ),
            (False, 300.0, defaultBacklog(), 10000, b"", None, 5.0),
        )

    def test_allSet(self) -> None:
        """
        Every option reaches its setting.
        """
        settings = _parse(
            "--keep-open",
            "--idle-timeout",
            "2.5",
            "--backlog",
            "64",
            "--max-connections",
            "7",
            "--busy-message",
            "Busy ✓",
            "--max-per-ip",
            "3",
            "--shutdown-timeout",
            "0.5",
        )
        self.assertEqual(
            (
                settings.keepOpen,
                settings.idleTimeout,
                settings.backlog,
                settings.maxConnections,
                settings.busyMessage,
                settings.maxPerIP,
                settings.shutdownTimeout,
            ),
            (True, 2.5, 64, 7, "Busy ✓".encode(), 3, 0.5),
        )

    def test_zeroIdleTimeoutMeansNever(self) -> None:
        """
        C{--idle-timeout 0} turns the timeout off.
        """
        self.assertIsNone(_parse("--keep-open", "--idle-timeout", "0").idleTimeout)

    def test_badValues(self) -> None:
        """
        Each bad value is one error naming the option and the value.
        """
        cases = [
            (
                ["--idle-timeout", "soon"],
                "--idle-timeout must be 0 or a number of seconds from 0.001 to "
                "604800, not 'soon'",
            ),
            (
                ["--idle-timeout", "-1"],
                "--idle-timeout must be 0 or a number of seconds from 0.001 to "
                "604800, not '-1'",
            ),
            (
                ["--shutdown-timeout", "nan"],
                "--shutdown-timeout must be 0 or a number of seconds from 0.001 "
                "to 3600, not 'nan'",
            ),
            (
                ["--max-connections", "0"],
                "--max-connections must be an integer from 1 to 1048576, not '0'",
            ),
            (
                ["--max-per-ip", "x"],
                "--max-per-ip must be an integer from 1 to 1048576, not 'x'",
            ),
            (
                ["--backlog", "70000"],
                "--backlog must be an integer from 1 to 65535, not '70000'",
            ),
            (
                ["--busy-message", "x" * 4097],
                "--busy-message must be at most 4096 bytes in utf-8, not 4097",
            ),
        ]
        for args, message in cases:
            error = self.assertRaises(usage.UsageError, _parse, *args)
            self.assertEqual(str(error), message)


class HostileNetworkServiceTests(TestCase):
    """
    L{makeService} composes the listener with the services of issue 4.
    """

    def test_services(self) -> None:
        """
        The service raises the file limit, reports stats, shuts down
        gracefully (stopping after the listeners, which stop first) and
        listens on every endpoint with the configured backlog.
        """
        options = Options()
        options.parseOptions(
            ["--listen", "tcp:0", "--listen", "tcp:0:backlog=7", "--backlog", "99"]
        )
        reactor = MemoryReactorClock()
        service = makeService(options, cast(Any, reactor))
        children = list(IServiceCollection(service))
        self.assertEqual(
            [type(child) for child in children],
            [
                AccessLog,
                FileLimitService,
                StatsReporter,
                GracefulShutdown,
                HangupService,
                ListeningService,
                ListeningService,
            ],
        )
        for listener in children[5:7]:
            assert isinstance(listener, ListeningService)
            listener.privilegedStartService()
            self.addCleanup(listener.stopService)
        self.assertEqual([server[2] for server in reactor.tcpServers], [99, 7])


class DeadlineOptionsTests(TestCase):
    """
    C{--handshake-timeout}, C{--max-handshakes} and C{--proxy-from} are
    validated into L{ServerSettings}.
    """

    def test_defaults(self) -> None:
        """
        By default: 10 s to finish the PROXY header and TLS handshake, 1000
        unfinished at once, headers from anyone.
        """
        settings = _parse()
        self.assertEqual(
            (settings.handshakeTimeout, settings.maxHandshakes, settings.proxyFrom),
            (10.0, 1000, None),
        )

    def test_allSet(self) -> None:
        """
        Each option reaches its setting; C{--proxy-from} repeats, and an
        address alone is a network of one.
        """
        settings = _parse(
            "--listen",
            "haproxy:tcp:0",
            "--handshake-timeout",
            "2.5",
            "--max-handshakes",
            "50",
            "--proxy-from",
            "10.0.0.0/8",
            "--proxy-from",
            "::1",
        )
        self.assertEqual(
            (settings.handshakeTimeout, settings.maxHandshakes, settings.proxyFrom),
            (2.5, 50, (ip_network("10.0.0.0/8"), ip_network("::1/128"))),
        )

    def test_zeroTimeoutMeansNever(self) -> None:
        """
        C{--handshake-timeout 0} turns the deadline off.
        """
        self.assertIsNone(_parse("--handshake-timeout", "0").handshakeTimeout)

    def test_badValues(self) -> None:
        """
        Each bad value is one usage error naming the option and the value.
        """
        cases = [
            (
                ["--handshake-timeout", "-1"],
                "--handshake-timeout must be 0 or a number of seconds from 0.001 "
                "to 3600, not '-1'",
            ),
            (
                ["--handshake-timeout", "soon"],
                "--handshake-timeout must be 0 or a number of seconds from 0.001 "
                "to 3600, not 'soon'",
            ),
            (
                ["--max-handshakes", "-5"],
                "--max-handshakes must be an integer from 1 to 1048576, not '-5'",
            ),
            (
                ["--max-handshakes", "many"],
                "--max-handshakes must be an integer from 1 to 1048576, not 'many'",
            ),
            (
                ["--listen", "haproxy:tcp:0", "--proxy-from", "10.0.0.0/33"],
                "--proxy-from must be a network such as 10.0.0.0/8, not '10.0.0.0/33'",
            ),
            (
                ["--listen", "haproxy:tcp:0", "--proxy-from", "10.0.0.1/8"],
                "--proxy-from '10.0.0.1/8' has host bits set: write 10.0.0.0/8 instead",
            ),
            (
                ["--proxy-from", "10.0.0.0/8"],
                "--proxy-from needs a haproxy: listener",
            ),
        ]
        for args, message in cases:
            error = self.assertRaises(usage.UsageError, _parse, *args)
            self.assertEqual(str(error), message)


class GuardedListenersTests(TestCase):
    """
    L{makeService} puts C{ssl:} and C{haproxy:} listeners, and only those,
    under the factory's handshake guard.
    """

    def test_guardedListeners(self) -> None:
        """
        A TLS listener's factory waits for the handshake, a PROXY listener's
        for the header, both with the factory's guard; plain TCP is bare.
        """
        certPath, keyPath = makeCertificate(Path(temporaryPath(self)))
        options = Options()
        options.parseOptions(
            [
                "--listen",
                f"ssl:0:privateKey={keyPath}:certKey={certPath}",
                "--listen",
                "haproxy:tcp:0",
                "--listen",
                "tcp:0",
                "--proxy-from",
                "127.0.0.1",
            ]
        )
        reactor = MemoryReactorClock()
        service = makeService(options, cast(Any, reactor))
        for child in IServiceCollection(service):
            if isinstance(child, ListeningService):
                child.privilegedStartService()
                self.addCleanup(child.stopService)
        tls = reactor.sslServers[0][1]
        assert isinstance(tls, HandshakeFirstWrappingFactory)
        proxy, plain = (server[1] for server in reactor.tcpServers)
        assert isinstance(proxy, HeaderFirstWrappingFactory)
        self.assertIsInstance(plain, WelcomeFactory)
        assert isinstance(plain, WelcomeFactory)
        self.assertIs(tls.wrappedFactory, plain)
        self.assertIs(tls.guard, plain.handshakes)
        self.assertIs(proxy.guard, plain.handshakes)
        self.assertEqual(proxy.proxyFrom, (ip_network("127.0.0.1/32"),))


class MetricsServiceTests(TestCase):
    """
    L{makeService} adds the metrics listener, and with workers the parent's
    stats line, when asked.
    """

    def test_metricsOffByDefault(self) -> None:
        """
        Without C{--metrics}, nothing listens but the greeting listener.
        """
        reactor = MemoryReactorClock()
        service = makeService(parseServerOptions("--port", "0"), cast(Any, reactor))
        descriptions = [
            child.description
            for child in IServiceCollection(service)
            if isinstance(child, ListeningService)
        ]
        self.assertEqual(descriptions, ["tcp:0"])

    def test_connectionsTimedOnlyForMetrics(self) -> None:
        """
        Connections are timed for the duration histogram only when
        C{--metrics} is there to export it; the other counters are kept
        either way.
        """
        for arguments, timed in [((), 0), (("--metrics", "tcp:9112"), 1)]:
            reactor = MemoryReactorClock()
            options = parseServerOptions("--listen", "tcp:12000", *arguments)
            self.assertEqual(options.settings.timeConnections, bool(timed))
            service = makeService(options, cast(Any, reactor))
            service.startService()
            self.addCleanup(service.stopService)
            factory = next(f for p, f, _, _ in reactor.tcpServers if p == 12000)
            assert isinstance(factory, WelcomeFactory)
            protocol = factory.buildProtocol(IPv4Address("TCP", "192.0.2.1", 1))
            assert protocol is not None
            transport = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.1", 1))
            protocol.makeConnection(transport)
            protocol.connectionLost(Failure(ConnectionDone()))
            self.assertEqual(factory.stats.served, 1)
            self.assertEqual(sum(factory.stats.durations.counts), timed)

    def test_workersParentReportsTotals(self) -> None:
        """
        With C{--workers}, the parent has its own stats line (the totals)
        and serves the metrics after its listener.
        """
        reactor = MemoryReactorClock()
        options = parseServerOptions(
            "--port", "0", "--workers", "2", "--metrics", "tcp:9112"
        )
        children = list(IServiceCollection(makeService(options, cast(Any, reactor))))
        self.assertEqual(
            [type(child) for child in children],
            [
                AccessLog,
                FileLimitService,
                ListeningService,
                WorkerPool,
                HangupService,
                StatsReporter,
                ListeningService,
            ],
        )
        metrics = children[-1]
        assert isinstance(metrics, ListeningService)
        self.assertEqual(metrics.description, "--metrics tcp:9112")

    def test_badMetricsDescription(self) -> None:
        """
        A bad C{--metrics} description is a usage error naming it.
        """
        error = self.assertRaises(
            usage.UsageError, parseServerOptions, "--metrics", "bogus:1"
        )
        self.assertEqual(
            str(error), "--metrics 'bogus:1': unknown endpoint type 'bogus'"
        )


class ImportTests(TestCase):
    """
    The worker pool and the twistd options do not import each other.
    """

    def test_workersWithoutTap(self) -> None:
        """
        Importing L{welcome_protocol.workers.pool} does not import
        L{welcome_protocol.tap}.
        """
        checked = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys, welcome_protocol.workers.pool; "
                "print('welcome_protocol.tap' in sys.modules)",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual((checked.stdout, checked.stderr), ("False\n", ""))


class OptionRangeTests(TestCase):
    """
    Every numeric option has a range; a value outside it is one usage error
    naming the option, the range and the value.
    """

    def test_everyOptionCovered(self) -> None:
        """
        The table of ranges names every option that takes a value, but for
        those that take text.
        """
        text = {"listen", "message", "message-file", "encoding", "busy-message"}
        text |= {"metrics", "proxy-from"}
        valued = {name for name, _, _, _ in Options.optParameters} | {
            "listen",
            "proxy-from",
        }
        self.assertEqual({r.option for r in optionranges.SERVER}, valued - text, valued)

    def test_withinRange(self) -> None:
        """
        The bounds of each range, and 0 where it means "never", are
        accepted.
        """
        for entry in optionranges.SERVER:
            for value in entry.accepted():
                Options().parseOptions([f"--{entry.option}", value])

    def test_outsideRange(self) -> None:
        """
        Values past either bound, absurd ones (1e308, NaN, infinity) and
        numbers not written in plain decimal are refused.
        """
        for entry in optionranges.SERVER:
            for value in entry.refused():
                error = self.assertRaises(
                    UsageError, Options().parseOptions, [f"--{entry.option}", value]
                )
                self.assertEqual(str(error), entry.error(value))
