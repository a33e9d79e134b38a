"""
Tests for L{welcome_protocol.tap}: the options of C{twistd welcome} and the
service they make.
"""

from __future__ import annotations

import io
import sys

from twisted.application.service import IServiceMaker
from twisted.internet.testing import MemoryReactor
from twisted.plugin import getPlugins
from twisted.python.usage import UsageError
from twisted.trial.unittest import TestCase

from welcome_protocol.commandline import versionText
from welcome_protocol.server import WelcomeFactory
from welcome_protocol.settings import ServerSettings
from welcome_protocol.tap import Options, makeService


def parse(*argv: str) -> Options:
    """
    Parse C{argv} as C{twistd welcome} would.
    """
    options = Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(TestCase):
    """
    L{Options} validates everything once, at start-up.
    """

    def test_defaults(self) -> None:
        """
        With no options: port 12000 and the default settings (C{Welcome!},
        connections logged).
        """
        options = parse()
        self.assertEqual(options["port"], 12000)
        self.assertEqual(options.settings, ServerSettings())
        self.assertEqual(options.settings.message, b"Welcome!")

    def test_port(self) -> None:
        """
        C{--port} and C{-p} take a port number; 0 and 65535 are allowed.
        """
        self.assertEqual(parse("--port", "8000")["port"], 8000)
        self.assertEqual(parse("-p", "0")["port"], 0)
        self.assertEqual(parse("--port=65535")["port"], 65535)

    def test_badPort(self) -> None:
        """
        A port that is not an integer 0-65535 is a usage error naming it.
        """
        for bad in ["http", "", "-1", "65536", "1e3", "12.5", "0x10", "١٢"]:
            with self.assertRaises(UsageError) as caught:
                parse("--port", bad)
            self.assertEqual(
                str(caught.exception),
                f"--port must be an integer from 0 to 65535, not {bad!r}",
            )

    def test_version(self) -> None:
        """
        C{--version} prints the versions of this project and Twisted, exit 0.
        """
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        with self.assertRaises(SystemExit) as caught:
            parse("--version")
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
        reactor = MemoryReactor()
        options = parse("--port", "12345")
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
