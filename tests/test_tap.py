"""
Tests for L{welcome_protocol.tap}: the options of issue 4 and the service.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.application.service import IServiceCollection
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import TestCase

from welcome_protocol.backlog import defaultBacklog
from welcome_protocol.listening import ListeningService
from welcome_protocol.rlimits import FileLimitService
from welcome_protocol.settings import ServerSettings
from welcome_protocol.shutdown import GracefulShutdown
from welcome_protocol.stats import StatsReporter
from welcome_protocol.tap import Options, makeService


def _parse(*args: str) -> ServerSettings:
    options = Options()
    options.parseOptions(list(args))
    return options.settings


class OptionsTests(TestCase):
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
                "--idle-timeout must be a number of seconds, 0 or more, not 'soon'",
            ),
            (
                ["--idle-timeout", "-1"],
                "--idle-timeout must be a number of seconds, 0 or more, not '-1'",
            ),
            (
                ["--shutdown-timeout", "nan"],
                "--shutdown-timeout must be a number of seconds, 0 or more, not 'nan'",
            ),
            (
                ["--max-connections", "0"],
                "--max-connections must be an integer from 1 to 1000000000, not '0'",
            ),
            (
                ["--max-per-ip", "x"],
                "--max-per-ip must be an integer from 1 to 1000000000, not 'x'",
            ),
            (
                ["--backlog", "70000"],
                "--backlog must be an integer from 1 to 65535, not '70000'",
            ),
            (
                ["--busy-message", "x" * 4097],
                "--busy-message must be at most 4096 bytes in UTF-8, not 4097",
            ),
        ]
        for args, message in cases:
            error = self.assertRaises(usage.UsageError, _parse, *args)
            self.assertEqual(str(error), message)


class MakeServiceTests(TestCase):
    """
    L{makeService} composes the listener with the services of issue 4.
    """

    def test_services(self) -> None:
        """
        The service raises the file limit, reports stats, shuts down
        gracefully and listens with the configured backlog.
        """
        options = Options()
        options.parseOptions(["--port", "0", "--backlog", "99"])
        reactor = MemoryReactorClock()
        service = makeService(options, cast(Any, reactor))
        children = list(IServiceCollection(service))
        self.assertEqual(
            [type(child) for child in children],
            [FileLimitService, StatsReporter, GracefulShutdown, ListeningService],
        )
        listener = children[-1]
        assert isinstance(listener, ListeningService)
        listener.privilegedStartService()
        self.assertEqual(reactor.tcpServers[0][2], 99)
        listener.stopService()
