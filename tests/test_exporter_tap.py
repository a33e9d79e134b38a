"""
Tests for L{welcome_protocol.exporter.tap} and
L{welcome_protocol.exporter.service}: the options, the service they make,
and a start that fails in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from twisted.application.service import Service
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.exporter.reactors import ExporterReactor
from welcome_protocol.exporter.service import ExporterService
from welcome_protocol.exporter.tap import (
    DEFAULT_LISTEN,
    Options,
    longestScrape,
    makeService,
)
from welcome_protocol.listening.service import ListenFailed
from welcome_protocol.metrics.boundedhttp import BoundedSite


def parse(*argv: str) -> Options:
    """
    @return: C{argv} parsed as C{twistd welcome-exporter}'s options.
    """
    options = Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(TestCase):
    """
    The command line.
    """

    def test_defaults(self) -> None:
        """
        Loopback port 9115 (blackbox_exporter's), the three built-in
        modules, every target allowed.
        """
        options = parse()
        self.assertEqual(options["listen"], DEFAULT_LISTEN)
        self.assertEqual(sorted(options["modules"]), ["tcp_connect", "udp", "welcome"])
        self.assertIsNone(options["allowed"])

    def test_allowTargetsRepeated(self) -> None:
        """
        C{--allow-targets} may be given more than once.
        """
        options = parse("--allow-targets", "127.0.0.0/8", "--allow-targets", "db.lan")
        self.assertTrue(options["allowed"].allows("127.0.0.1"))
        self.assertTrue(options["allowed"].allows("db.lan"))

    def test_badValues(self) -> None:
        """
        Bad values are refused in one line naming the option.
        """
        for argv, words in [
            (("--listen", "nope:1"), "--listen"),
            (("--max-ports", "0"), "--max-ports"),
            (("--max-probes", "x"), "--max-probes"),
            (("--allow-targets", "a b"), "--allow-targets"),
            (("--config", "/nonexistent"), "--config /nonexistent"),
        ]:
            with self.assertRaises(usage.UsageError) as caught:
                parse(*argv)
            self.assertIn(words, str(caught.exception))
            self.assertNotIn("\n", str(caught.exception))

    def test_longestScrape(self) -> None:
        """
        The site's deadline covers the longest scrape a module allows.
        """
        path = Path(temporaryPath(self))
        path.write_text(
            "modules:\n  a:\n    prober: tcp\n    timeout: 3s\n"
            "  b:\n    prober: tcp\n    timeout: 7s\n"
        )
        self.assertEqual(longestScrape(parse("--config", str(path))["modules"]), 7.0)
        path.write_text("modules:\n  a:\n    prober: tcp\n")
        self.assertEqual(longestScrape(parse("--config", str(path))["modules"]), 119.5)


class MakeServiceTests(TestCase):
    """
    The service.
    """

    def test_listens(self) -> None:
        """
        Starting the service listens on C{--listen}, with the bounded site.
        """
        reactor = MemoryReactorClock()
        service = makeService(
            parse("--listen", "tcp:9999:interface=127.0.0.1"),
            cast(ExporterReactor, reactor),
        )
        service.privilegedStartService()
        service.startService()
        self.addCleanup(service.stopService)
        [(port, factory, _, interface)] = reactor.tcpServers
        self.assertEqual((port, interface), (9999, "127.0.0.1"))
        assert isinstance(factory, BoundedSite)
        self.assertEqual(factory.limit, 128)

    def test_listenFailedIsOneLine(self) -> None:
        """
        A listener that cannot listen ends the start with L{SystemExit}
        carrying one line: Python prints it and exits with status 1.
        """
        service = ExporterService("line")
        child = _FailingListener()
        child.setServiceParent(service)
        with self.assertRaises(SystemExit) as caught:
            service.privilegedStartService()
        self.assertEqual(
            str(caught.exception.code),
            "twistd welcome-exporter: cannot listen on tcp:1: permission denied",
        )


class _FailingListener(Service):
    """
    A listener that cannot listen.
    """

    def privilegedStartService(self) -> None:
        """
        Fail as L{welcome_protocol.listening.service.ListeningService} does.
        """
        raise ListenFailed("cannot listen on tcp:1: permission denied")
