# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd welcome} command: its options and the service they describe.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, cast

from twisted.application.service import IService
from twisted.python import usage

from welcome_protocol.greeting.hangup import HangupService
from welcome_protocol.greeting.message import (
    Message,
    MessageError,
    checkEncoding,
    decodeMessage,
    encodeText,
    parseMessage,
    readMessageFile,
)
from welcome_protocol.greeting.server import DIRECT_WRITE_LIMIT, WelcomeFactory
from welcome_protocol.listening.backlog import defaultBacklog
from welcome_protocol.listening.builder import (
    buildDatagramListener,
    buildEndpoints,
    checkServerDescription,
    replyLimiter,
)
from welcome_protocol.listening.fdexhaustion import PausingAcceptEndpoint
from welcome_protocol.listening.portrange import PortRangeService
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.metrics.deadline import (
    MAX_REQUEST_DEADLINE,
    REQUEST_DEADLINE,
    parseMetricsDeadline,
)
from welcome_protocol.metrics.source import MetricsSource
from welcome_protocol.metrics.workertotals import WorkerTotals
from welcome_protocol.observing.accesslog import AccessLog
from welcome_protocol.rlimits import FileLimitService, listenerLimitProblem
from welcome_protocol.serving import ServiceReactor, makeServing, newStats
from welcome_protocol.settings import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HANDSHAKES,
    DEFAULT_MESSAGE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    MAX_HANDSHAKE_TIMEOUT,
    MAX_IDLE_TIMEOUT,
    MAX_SHUTDOWN_TIMEOUT,
    ServerSettings,
)
from welcome_protocol.shared.commandline import (
    LONGEST_COUNT,
    parseCount,
    parseNetworks,
    parsePort,
    parseSeconds,
    versionText,
)
from welcome_protocol.shared.defaults import DEFAULT_PORT
from welcome_protocol.shared.descriptions import DescriptionError, endpointType
from welcome_protocol.shared.portlists import isPortList
from welcome_protocol.shared.portranges import PortRangeError, expandPortRange
from welcome_protocol.shared.stats import StatsReporter
from welcome_protocol.startup import WelcomeService
from welcome_protocol.udp.description import isUDP, parseUDPDescription
from welcome_protocol.udp.options import PARAMETERS as UDP_PARAMETERS
from welcome_protocol.udp.options import datagramSettings
from welcome_protocol.workers.pool import (
    MAX_WORKERS,
    WorkerPool,
    parseWorkers,
    workerArguments,
)

_WORKER_KINDS = frozenset({"tcp", "tcp6"})
"""
Listeners whose sockets workers can adopt and serve as they are: no TLS or
PROXY header on top, and not systemd's (the parent would have to pass it on).
Not UNIX sockets either: Twisted removes the socket's file whenever a port
adopted from it stops, so each stopping worker would remove it again.
"""


class Options(usage.Options):
    """
    Command-line options of C{twistd welcome}.

    After parsing, C{self.settings} holds the validated L{ServerSettings}
    and C{self["port"]} the port as an integer (a range, as written).
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self["listen"] = []
        self["proxy-from"] = []

    def opt_listen(self, description: str) -> None:
        """
        Listen on this Twisted server endpoint description (repeatable).
        """
        self["listen"].append(description)

    opt_l = opt_listen

    def opt_proxy_from(self, network: str) -> None:
        """
        Take PROXY headers only from this network, e.g. 10.0.0.0/8 (repeatable).
        """
        self["proxy-from"].append(network)

    synopsis = "[options]"
    longdesc = (
        "Greet every client that connects: write the welcome message, then "
        "close the connection. Anything a client sends is discarded. Each "
        "connection is logged with the client's address and port."
    )
    longdesc += (
        " Endpoint descriptions for --listen, for example: "
        "tcp:12000:interface=127.0.0.1, tcp6:12000:interface=\\:\\:1, "
        "unix:/run/welcome.sock, ssl:12443:privateKey=key.pem:certKey=cert.pem, "
        "systemd:domain=INET:index=0, haproxy:tcp:12000 (clients behind a proxy "
        "sending the PROXY protocol, such as HAProxy with send-proxy), "
        "udp:12000 (datagrams, each answered with the welcome if larger than "
        "it, within the --udp-* rate limits; udp:12000:interface=\\:\\:1 "
        "for IPv6). "
        "On SIGHUP, the message file is read again."
    )
    optParameters = [
        [
            "port",
            "p",
            None,
            "TCP port to listen on, 0 to 65535, on all IPv4 interfaces (0 picks "
            "a free port), "
            f"when there is no --listen [default: {DEFAULT_PORT}].",
        ],
        [
            "message",
            "m",
            None,
            "The welcome, sent exactly as given, with placeholders {peer_host}, "
            "{peer_port}, {server_host}, {server_port}, {hostname}, {time} "
            f"(UTC, ISO 8601); {{{{ and }}}} are literal braces "
            f"[default: {DEFAULT_MESSAGE}].",
        ],
        [
            "message-file",
            None,
            None,
            "Read the welcome (with the same placeholders) from this file, "
            "again on SIGHUP: a regular file of at most 64 MiB (with "
            "placeholders, at most 64 KiB once filled in).",
        ],
        [
            "encoding",
            None,
            "utf-8",
            "Text encoding of the welcome, its file and the busy message; "
            "one that cannot send them is refused at start.",
        ],
        [
            "idle-timeout",
            None,
            f"{DEFAULT_IDLE_TIMEOUT:g}",
            "Abort a connection silent this many seconds (no byte from the "
            "client, no progress writing the welcome): 0.001 to 604800 (a "
            "week), or 0 never. Without --keep-open it only bounds a welcome "
            "the client does not read.",
        ],
        [
            "backlog",
            None,
            None,
            "Connections the kernel queues until accepted, 1 to 65535 (default: "
            "min(4096, net.core.somaxconn), which the kernel caps it to).",
        ],
        [
            "max-connections",
            None,
            str(DEFAULT_MAX_CONNECTIONS),
            f"Connections open at once, 1 to {LONGEST_COUNT}; more are closed at once.",
        ],
        [
            "busy-message",
            None,
            None,
            "Text written to a connection refused by a limit before closing it, "
            f"at most {DIRECT_WRITE_LIMIT} bytes in --encoding (default: none, "
            "just close).",
        ],
        [
            "max-per-ip",
            None,
            None,
            f"Connections open at once from one IP address, 1 to {LONGEST_COUNT}; "
            "an IPv4 address mapped into IPv6 counts as the IPv4 address "
            "(default: no limit).",
        ],
        [
            "shutdown-timeout",
            None,
            f"{DEFAULT_SHUTDOWN_TIMEOUT:g}",
            "On SIGTERM, seconds to let welcomes being written finish before "
            "closing their connections: 0 (at once), or 0.001 to 3600.",
        ],
        [
            "handshake-timeout",
            None,
            f"{DEFAULT_HANDSHAKE_TIMEOUT:g}",
            "On ssl: and haproxy: listeners, abort a connection that has not "
            "completed its TLS handshake and sent its whole PROXY header "
            "this many seconds after it was accepted (bytes arriving do not "
            "extend it): 0.001 to 3600, or 0 never.",
        ],
        [
            "max-handshakes",
            None,
            str(DEFAULT_MAX_HANDSHAKES),
            "Connections at once still in their TLS handshake or PROXY "
            f"header, 1 to {LONGEST_COUNT}; beyond that the oldest of them is "
            "closed.",
        ],
        [
            "metrics",
            None,
            None,
            "Serve Prometheus metrics at /metrics on this Twisted server endpoint "
            "description, e.g. tcp:9112:interface=127.0.0.1 (default: off).",
        ],
        [
            "metrics-deadline",
            None,
            f"{REQUEST_DEADLINE:g}",
            "Abort a connection to the --metrics port this many seconds after "
            "it was accepted, whatever it is doing: 0.001 to "
            f"{MAX_REQUEST_DEADLINE:g}.",
        ],
        [
            "workers",
            None,
            "0",
            "Serve from this many worker processes sharing the listening "
            f"socket, 0 to {MAX_WORKERS}, e.g. one per CPU core (0: serve in "
            "this process). Needs one plain tcp: or tcp6: listener.",
        ],
        *UDP_PARAMETERS,
    ]
    optFlags = [
        [
            "keep-open",
            None,
            "Keep each connection open after the welcome until the client "
            "closes it or --idle-timeout passes (input is discarded).",
        ],
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
        port = self["port"]
        listen = tuple(self["listen"])
        if listen and port is not None:
            raise usage.UsageError(
                "--port and --listen cannot be combined; "
                f"write --listen tcp:{port} instead"
            )
        portRange = None if port is None else str(port).strip()
        if portRange is not None and portRange[:1].isdigit() and isPortList(portRange):
            # --port 20000-20099: a tcp: listener per port.
            self["port"] = portRange
            listeners: tuple[str, ...] = (f"tcp:{portRange}",)
            option = "--port"
        else:
            self["port"] = parsePort(str(DEFAULT_PORT if port is None else port))
            listeners = listen or (f"tcp:{self['port']}",)
            option = "--listen"
        ports = 0
        for description in listeners:
            try:
                expanded = expandPortRange(description)
                if isUDP(description):
                    parseUDPDescription(expanded[0])
                else:
                    checkServerDescription(expanded[0])
            except (DescriptionError, PortRangeError) as e:
                shown = self["port"] if option == "--port" else description
                raise usage.UsageError(f"{option} {shown!r}: {e}") from None
            ports += len(expanded)
        problem = listenerLimitProblem(ports)
        if problem is not None:
            raise usage.UsageError(problem)
        try:
            message = self._loadMessage()
            busyMessage = encodeText(
                self["busy-message"] or "", self["encoding"], "--busy-message"
            )
        except MessageError as e:
            raise usage.UsageError(str(e)) from None
        idleTimeout = parseSeconds(
            "idle-timeout", str(self["idle-timeout"]), MAX_IDLE_TIMEOUT
        )
        if len(busyMessage) > DIRECT_WRITE_LIMIT:
            raise usage.UsageError(
                f"--busy-message must be at most {DIRECT_WRITE_LIMIT} bytes "
                f"in {self['encoding']}, not {len(busyMessage)}"
            )
        self["workers"] = parseWorkers(str(self["workers"]))
        if self["workers"] and any(isUDP(d) for d in listeners):
            raise usage.UsageError(
                "--workers cannot serve a udp: listener: its rate limits must "
                "see every datagram in one process"
            )
        if self["workers"] and not (
            ports == 1 and endpointType(listeners[0]) in _WORKER_KINDS
        ):
            raise usage.UsageError(
                "--workers needs exactly one plain tcp: or tcp6: listener"
            )
        metrics = self["metrics"]
        if metrics is not None:
            try:
                checkServerDescription(metrics)
            except DescriptionError as e:
                raise usage.UsageError(f"--metrics {metrics!r}: {e}") from None
        self["metrics-deadline"] = parseMetricsDeadline(self["metrics-deadline"])
        maxPerIP = self["max-per-ip"]
        backlog = self["backlog"]
        handshakeTimeout = parseSeconds(
            "handshake-timeout", str(self["handshake-timeout"]), MAX_HANDSHAKE_TIMEOUT
        )
        proxyFrom = parseNetworks(self["proxy-from"])
        if proxyFrom is not None and not any(
            endpointType(description) == "haproxy" for description in listeners
        ):
            raise usage.UsageError("--proxy-from needs a haproxy: listener")
        self.settings = ServerSettings(
            message=message.constant or b"",
            template=None if message.constant is not None else message,
            listen=listeners,
            messageFile=self["message-file"],
            encoding=self["encoding"],
            keepOpen=bool(self["keep-open"]),
            idleTimeout=idleTimeout or None,
            backlog=defaultBacklog()
            if backlog is None
            else parseCount("backlog", str(backlog), 1, 65535),
            maxConnections=parseCount(
                "max-connections", str(self["max-connections"]), 1, LONGEST_COUNT
            ),
            busyMessage=busyMessage,
            maxPerIP=None
            if maxPerIP is None
            else parseCount("max-per-ip", str(maxPerIP), 1, LONGEST_COUNT),
            shutdownTimeout=parseSeconds(
                "shutdown-timeout", str(self["shutdown-timeout"]), MAX_SHUTDOWN_TIMEOUT
            ),
            logConnections=not self["no-log-connections"],
            handshakeTimeout=handshakeTimeout or None,
            maxHandshakes=parseCount(
                "max-handshakes", str(self["max-handshakes"]), 1, LONGEST_COUNT
            ),
            proxyFrom=proxyFrom,
            timeConnections=metrics is not None,
            datagrams=datagramSettings(self),
        )

    def _loadMessage(self) -> Message:
        """
        Load the message from C{--message} or C{--message-file}.

        @raise usage.UsageError: If both are given.
        @raise MessageError: If the message cannot be used.
        """
        encoding = checkEncoding(str(self["encoding"]))
        text, path = self["message"], self["message-file"]
        if text is not None and path is not None:
            raise usage.UsageError("--message and --message-file cannot be combined")
        if path is not None:
            return readMessageFile(path, encoding)
        if text is None:
            return parseMessage(DEFAULT_MESSAGE, encoding, "--message")
        if any("\udc80" <= c <= "\udcff" for c in text):
            # Argument bytes the locale could not decode reach us as
            # surrogates: take the bytes the user typed, in --encoding.
            return decodeMessage(os.fsencode(text), encoding, "--message")
        return parseMessage(text, encoding, "--message")


def _programName() -> str:
    """
    @return: C{twistd} or C{twist}, whichever is running us, for messages.
    """
    return os.path.basename(sys.argv[0]) or "twistd"


def makeService(config: Options, reactor: ServiceReactor | None = None) -> IService:
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

        reactor = cast(ServiceReactor, globalReactor)
    assert reactor is not None
    settings: ServerSettings = config.settings
    parent = WelcomeService(reactor.nameResolver, program=f"{_programName()} welcome")
    accessLog = None
    if settings.logConnections:
        # Added first, so stopped last: the final connections' lines are
        # written once the listeners have stopped.
        accessLog = AccessLog(reactor)
        accessLog.setServiceParent(parent)  # type: ignore[no-untyped-call]
    workers: int = config["workers"]
    if workers:
        # The workers greet; the parent only holds the socket for them.  It
        # raises its open-file limit all the same, before it starts them: a
        # soft limit below a descriptor it inherited (bash keeps 255 open)
        # makes posix_spawn fail with EBADF, and the workers inherit the
        # raised limit.
        FileLimitService(settings.maxConnections).setServiceParent(parent)  # type: ignore[no-untyped-call]
        factory = WelcomeFactory(settings, clock=reactor, accessLog=accessLog)
    else:
        factory = makeServing(settings, reactor, parent, accessLog)
    listeners = []
    pauses: list[tuple[str, Callable[[], int]]] = []
    limiter = replyLimiter(reactor, settings.datagrams)
    for description in settings.listen:
        if isUDP(description):
            for single in expandPortRange(description):
                buildDatagramListener(
                    reactor,
                    single,
                    factory,
                    factory.stats,
                    limiter,
                    settings.datagrams,
                ).setServiceParent(parent)  # type: ignore[no-untyped-call]
            continue
        built = buildEndpoints(
            reactor,
            description,
            factory.admission,
            settings.proxyFrom,
            settings.backlog,
        )
        group = [ListeningService(single, end, factory) for single, end in built]
        listeners += group
        if len(group) == 1:
            group[0].setServiceParent(parent)  # type: ignore[no-untyped-call]
        else:
            PortRangeService(description, group).setServiceParent(parent)  # type: ignore[no-untyped-call]
        # A range counts its pauses under its own description.
        counters = [_pausesOf(end) for _, end in built]
        pauses.append((description, lambda c=counters: sum(f() for f in c)))  # type: ignore[misc]
    if workers:
        totals = WorkerTotals(newStats(settings, reactor))
        pool = WorkerPool(
            cast(Any, reactor),
            listeners[0],
            workers,
            workerArguments(config.arguments),
            accessLog,
            totals,
        )
        pool.setServiceParent(parent)  # type: ignore[no-untyped-call]
        forward = HangupService(reactor, lambda: pool.signalAll("HUP"))
        forward.setServiceParent(parent)  # type: ignore[no-untyped-call]
        # Stopped before the pool (children stop in reverse order), so the
        # final line waits for the workers' last snapshots.
        reporter = StatsReporter(
            totals.stats, totals.openConnections, pool.whenAllEnded, reactor, reactor
        )
        reporter.setServiceParent(parent)  # type: ignore[no-untyped-call]
        source = MetricsSource(
            totals.stats,
            totals.openConnections,
            settings.maxConnections * workers,
            lambda: len(pool.workers),
            lambda: pool.restarts,
            pauses,
        )
    else:
        source = MetricsSource(
            factory.stats,
            lambda: factory.limits.open,
            settings.maxConnections,
            acceptPauses=pauses,
            unfinishedConnections=lambda: factory.handshakes.unfinished,
        )
    if config["metrics"] is not None:
        # Imported only when asked for: prometheus_client and twisted.web
        # cost a service without --metrics memory and start-up time.
        from welcome_protocol.metrics.service import metricsService

        metrics = metricsService(
            reactor, config["metrics"], source, config["metrics-deadline"]
        )
        metrics.setServiceParent(parent)  # type: ignore[no-untyped-call]
    return parent


def _pausesOf(endpoint: PausingAcceptEndpoint) -> Callable[[], int]:
    """
    @return: A function that returns how many times C{endpoint}'s port
        paused accepting.
    """
    return lambda: 0 if endpoint.pauser is None else endpoint.pauser.pauses
