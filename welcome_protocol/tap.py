# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd welcome} command: its options and the service they describe.
"""

from __future__ import annotations

import os
import sys
from typing import cast

from twisted.application.service import IService
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import IReactorPluggableNameResolver, IReactorTCP
from twisted.python import usage

from welcome_protocol.commandline import parsePort, versionText
from welcome_protocol.listening import ListeningService
from welcome_protocol.server import WelcomeFactory
from welcome_protocol.settings import DEFAULT_PORT, ServerSettings
from welcome_protocol.startup import WelcomeService


class Options(usage.Options):
    """
    Command-line options of C{twistd welcome}.

    After parsing, C{self.settings} holds the validated L{ServerSettings}
    and C{self["port"]} the port as an integer.
    """

    synopsis = "[options]"
    longdesc = (
        "Greet every client that connects: write the welcome message, then "
        "close the connection. Anything a client sends is discarded. Each "
        "connection is logged with the client's address and port."
    )
    optParameters = [
        [
            "port",
            "p",
            str(DEFAULT_PORT),
            "TCP port to listen on, on all IPv4 interfaces (0 picks a free port).",
        ],
    ]

    settings: ServerSettings

    def opt_version(self) -> None:
        """
        Display the versions of welcome-protocol and Twisted, and exit.
        """
        print(versionText())
        sys.exit(0)

    def postOptions(self) -> None:
        """
        Validate every option once and freeze the result into C{settings}.
        """
        self["port"] = parsePort(str(self["port"]))
        self.settings = ServerSettings()


def _programName() -> str:
    """
    @return: C{twistd} or C{twist}, whichever is running us, for messages.
    """
    return os.path.basename(sys.argv[0]) or "twistd"


def makeService(config: Options, reactor: IReactorTCP | None = None) -> IService:
    """
    Build the welcome service described by parsed C{config}.

    @param config: Parsed L{Options}.
    @param reactor: The reactor to listen with (and to resolve this host's
        name with); the global one by default.
    @return: A service that listens when started and explains in one line
        if it cannot.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = cast(IReactorTCP, globalReactor)
    assert reactor is not None
    factory = WelcomeFactory(config.settings)
    port: int = config["port"]
    parent = WelcomeService(
        IReactorPluggableNameResolver(reactor).nameResolver,
        program=f"{_programName()} welcome",
    )
    listener = ListeningService(
        f"tcp:{port}", TCP4ServerEndpoint(reactor, port), factory
    )
    listener.setServiceParent(parent)  # type: ignore[no-untyped-call]
    return parent
