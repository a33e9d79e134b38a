# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd welcome} command: its options and the service they describe.
"""

from __future__ import annotations

import math
import os
import sys
from typing import cast

from attrs import evolve
from twisted.application.service import IService
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.interfaces import (
    IReactorFromThreads,
    IReactorPluggableNameResolver,
    IReactorTCP,
    IReactorTime,
)
from twisted.python import usage

from welcome_protocol.backlog import defaultBacklog
from welcome_protocol.fdexhaustion import PausingAcceptEndpoint
from welcome_protocol.listening import ListeningService
from welcome_protocol.rlimits import FileLimitService
from welcome_protocol.server import DIRECT_WRITE_LIMIT, WelcomeFactory
from welcome_protocol.settings import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORT,
    DEFAULT_SHUTDOWN_TIMEOUT,
    ServerSettings,
)
from welcome_protocol.shutdown import GracefulShutdown
from welcome_protocol.startup import WelcomeService
from welcome_protocol.stats import ServerStats, StatsReporter

# A hook for the tests of long welcomes until the --message-file option of
# issue 3 is merged: the name of a file whose bytes are the welcome.
TEST_MESSAGE_FILE_ENV = "WELCOME_PROTOCOL_TEST_MESSAGE_FILE"


class _ServiceReactor(
    IReactorTCP, IReactorPluggableNameResolver, IReactorTime, IReactorFromThreads
):
    """
    What the service needs of a reactor: to listen, to resolve names, to
    time connections, and to be reached from a signal handler.
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


def parseCount(option: str, text: str, minimum: int, maximum: int) -> int:
    """
    Read a whole number of things, such as C{--max-connections}.

    @param option: The option's name, for the message.
    @param text: What the user wrote.
    @param minimum: The smallest value allowed.
    @param maximum: The largest value allowed.
    @return: The number.
    @raise usage.UsageError: Naming the option and the bad value.
    """
    digits = text.strip()
    value = int(digits) if digits.isascii() and digits.isdigit() else -1
    if not minimum <= value <= maximum:
        raise usage.UsageError(
            f"--{option} must be an integer from {minimum} to {maximum}, not {text!r}"
        )
    return value


def parseSeconds(option: str, text: str) -> float:
    """
    Read a duration in seconds, such as C{--idle-timeout 2.5}.

    @param option: The option's name, for the message.
    @param text: What the user wrote.
    @return: The seconds, a finite number of at least 0.
    @raise usage.UsageError: Naming the option and the bad value.
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise usage.UsageError(
            f"--{option} must be a number of seconds, 0 or more, not {text!r}"
        )
    return value


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
            "idle-timeout",
            None,
            f"{DEFAULT_IDLE_TIMEOUT:g}",
            "Abort a connection silent this many seconds (no byte from the "
            "client, no progress writing the welcome); 0 never. Without "
            "--keep-open it only bounds a welcome the client does not read.",
        ],
        [
            "backlog",
            None,
            None,
            "Connections the kernel queues until accepted (default: "
            "min(4096, net.core.somaxconn), which the kernel caps it to).",
        ],
        [
            "max-connections",
            None,
            str(DEFAULT_MAX_CONNECTIONS),
            "Connections open at once; more are closed at once.",
        ],
        [
            "busy-message",
            None,
            None,
            "Text written to a connection refused by a limit before closing it "
            "(default: none, just close).",
        ],
        [
            "max-per-ip",
            None,
            None,
            "Connections open at once from one IP address (default: no limit).",
        ],
        [
            "shutdown-timeout",
            None,
            f"{DEFAULT_SHUTDOWN_TIMEOUT:g}",
            "On SIGTERM, seconds to let welcomes being written finish before "
            "closing their connections.",
        ],
    ]
    optFlags = [
        [
            "keep-open",
            None,
            "Keep each connection open after the welcome until the client "
            "closes it or --idle-timeout passes (input is discarded).",
        ],
    ]

    settings: ServerSettings

    def postOptions(self) -> None:
        """
        Validate every option once and freeze the result into C{settings}.
        """
        self["port"] = parsePort(str(self["port"]))
        idleTimeout = parseSeconds("idle-timeout", str(self["idle-timeout"]))
        busyMessage = (self["busy-message"] or "").encode("utf-8")
        if len(busyMessage) > DIRECT_WRITE_LIMIT:
            raise usage.UsageError(
                f"--busy-message must be at most {DIRECT_WRITE_LIMIT} bytes "
                f"in UTF-8, not {len(busyMessage)}"
            )
        maxPerIP = self["max-per-ip"]
        backlog = self["backlog"]
        self.settings = ServerSettings(
            keepOpen=bool(self["keep-open"]),
            idleTimeout=idleTimeout or None,
            backlog=defaultBacklog()
            if backlog is None
            else parseCount("backlog", str(backlog), 1, 65535),
            maxConnections=parseCount(
                "max-connections", str(self["max-connections"]), 1, 10**9
            ),
            busyMessage=busyMessage,
            maxPerIP=None
            if maxPerIP is None
            else parseCount("max-per-ip", str(maxPerIP), 1, 10**9),
            shutdownTimeout=parseSeconds(
                "shutdown-timeout", str(self["shutdown-timeout"])
            ),
        )
        testMessageFile = os.environ.get(TEST_MESSAGE_FILE_ENV)
        if testMessageFile:
            with open(testMessageFile, "rb") as f:
                self.settings = evolve(self.settings, message=f.read())


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
    settings = config.settings
    stats = ServerStats(reactor.seconds())
    factory = WelcomeFactory(settings, clock=reactor, stats=stats)
    port: int = config["port"]
    parent = WelcomeService(reactor, program=f"{_programName()} welcome")
    # Children stop in reverse order: the listener first, then the greetings
    # in flight drain, and the stats line comes once they have.
    for child in [
        FileLimitService(settings.maxConnections),
        StatsReporter(
            stats, lambda: factory.limits.open, factory.whenAllClosed, reactor, reactor
        ),
        GracefulShutdown(factory, reactor, settings.shutdownTimeout),
    ]:
        child.setServiceParent(parent)
    endpoint = PausingAcceptEndpoint(
        TCP4ServerEndpoint(reactor, port, backlog=settings.backlog), reactor, stats
    )
    listener = ListeningService(f"tcp:{port}", endpoint, factory)
    listener.setServiceParent(parent)  # type: ignore[no-untyped-call]
    return parent
