# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd welcome} command: its options and the service they describe.
"""

from __future__ import annotations

import os
import sys
from typing import Any, cast

from twisted.application.service import IService
from twisted.internet.interfaces import (
    IReactorPluggableNameResolver,
    IReactorTCP,
    IReactorTime,
)
from twisted.python import usage

from welcome_protocol.accesslog import AccessLog
from welcome_protocol.eagertcp import EagerTCP4ServerEndpoint
from welcome_protocol.listening import ListeningService
from welcome_protocol.server import WelcomeFactory
from welcome_protocol.settings import DEFAULT_PORT, ServerSettings
from welcome_protocol.startup import WelcomeService
from welcome_protocol.workers import WorkerPool, parseWorkers, workerArguments


class _ServiceReactor(IReactorTCP, IReactorPluggableNameResolver, IReactorTime):
    """
    What the service needs of a reactor: to listen, to resolve names, and
    (for the access log) to tell the time.
    """


def parsePort(text: str, minimum: int = 0) -> int:
    """
    Read a TCP port number the way the C{--port} options accept it.

    @param text: What the user wrote.
    @param minimum: The lowest port allowed: 0 for a server (the kernel
        picks a free port), 1 for a client.
    @return: The port.
    @raise usage.UsageError: For anything else, naming the bad value.
    """
    digits = text.strip()
    port = int(digits) if digits.isascii() and digits.isdigit() else -1
    if not minimum <= port <= 65535:
        raise usage.UsageError(
            f"--port must be an integer from {minimum} to 65535, not {text!r}"
        )
    return port


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
        [
            "workers",
            None,
            "0",
            "Serve from this many worker processes sharing the listening "
            "socket, e.g. one per CPU core (0: serve in this process).",
        ],
    ]
    optFlags = [
        [
            "no-log-connections",
            None,
            "Do not log each connection (by default every client's address "
            "and port is logged, within a second).",
        ],
    ]

    settings: ServerSettings
    arguments: list[str] = []

    def parseOptions(self, options: list[str] | None = None) -> None:
        """
        Parse C{options}, remembering them for worker processes.
        """
        self.arguments = list(sys.argv[1:] if options is None else options)
        super().parseOptions(options)  # type: ignore[no-untyped-call]

    def postOptions(self) -> None:
        """
        Validate every option once and freeze the result into C{settings}.
        """
        self["port"] = parsePort(str(self["port"]))
        try:
            self["workers"] = parseWorkers(str(self["workers"]))
        except ValueError as e:
            raise usage.UsageError(str(e)) from None
        self.settings = ServerSettings(
            logConnections=not self["no-log-connections"],
        )


def _programName() -> str:
    """
    @return: C{twistd} or C{twist}, whichever is running us, for messages.
    """
    return os.path.basename(sys.argv[0]) or "twistd"


def makeService(config: Options, reactor: _ServiceReactor | None = None) -> IService:
    """
    Build the welcome service described by parsed C{config}.

    @param config: Parsed L{Options}.
    @param reactor: The reactor to listen with; the global one by default.
    @return: A service that listens when started and explains in one line
        if it cannot.
    """
    if reactor is None:
        from twisted.internet import reactor as globalReactor

        reactor = cast(_ServiceReactor, globalReactor)
    assert reactor is not None
    parent = WelcomeService(reactor, program=f"{_programName()} welcome")
    accessLog = None
    if config.settings.logConnections:
        # Added first, so stopped last: the final connections' lines are
        # written once the listeners have stopped.
        accessLog = AccessLog(reactor)
        accessLog.setServiceParent(parent)  # type: ignore[no-untyped-call]
    factory = WelcomeFactory(config.settings, accessLog)
    port: int = config["port"]
    listener = ListeningService(
        f"tcp:{port}", EagerTCP4ServerEndpoint(reactor, port), factory
    )
    listener.setServiceParent(parent)  # type: ignore[no-untyped-call]
    if config["workers"]:
        pool = WorkerPool(
            cast(Any, reactor),
            listener,
            config["workers"],
            workerArguments(config.arguments),
            accessLog,
        )
        pool.setServiceParent(parent)  # type: ignore[no-untyped-call]
    return parent
