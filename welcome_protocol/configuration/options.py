# -*- test-case-name: tests.test_tap -*-
"""
The command line of C{twistd welcome}: its options, checked in groups
(L{welcome_protocol.configuration.groups}) into one L{ServerSettings}.
"""

from __future__ import annotations

import sys

from twisted.python import usage

from welcome_protocol.configuration.groups import (
    limitGroup,
    listenerGroup,
    messageGroup,
    metricsGroup,
    timeoutGroup,
    workerGroup,
)
from welcome_protocol.configuration.settings import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HANDSHAKES,
    DEFAULT_MESSAGE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    ServerSettings,
)
from welcome_protocol.greeting.server import DIRECT_WRITE_LIMIT
from welcome_protocol.metrics.deadline import (
    MAX_REQUEST_DEADLINE,
    REQUEST_DEADLINE,
    parseMetricsDeadline,
)
from welcome_protocol.shared.commandline import LONGEST_COUNT, versionText
from welcome_protocol.shared.defaults import DEFAULT_PORT
from welcome_protocol.udp.options import PARAMETERS as UDP_PARAMETERS
from welcome_protocol.udp.options import datagramSettings
from welcome_protocol.workers.pool import MAX_WORKERS, workerArguments


class Options(usage.Options):
    """
    Command-line options of C{twistd welcome}.

    After parsing, C{self.settings} holds the validated L{ServerSettings}
    and C{self["port"]} the port as an integer (a range, as written).
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        self["listen"] = []
        self["proxy-from"] = []
        # usage.Options shows a docstring's line breaks and indentation as
        # they are: the longer help of --listen is given here, in one line.
        self.docs["listen"] = (
            "Listen on this Twisted server endpoint description (repeatable); "
            "a range of ports makes a socket per port, at most 10000: "
            "tcp:20000-20099."
        )

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
        "for IPv6), redirect:12345 and tproxy:12345 (one socket for every "
        "port an nftables REDIRECT or TPROXY rule sends to it, greeting with "
        "the port the client asked for; udp:12345:tproxy=yes for UDP; see "
        "contrib/nftables). "
        "On SIGHUP, the message file is read again."
    )
    optParameters = [
        [
            "port",
            "p",
            None,
            "TCP port to listen on, 0 to 65535 (0 picks a free port), on all "
            "IPv4 interfaces, when there is no --listen; a range of ports, "
            "e.g. 20000-20099, makes a socket per port, at most 10000 "
            f"[default: {DEFAULT_PORT}].",
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
        super().parseOptions(options)  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated

    def opt_version(self) -> None:
        """
        Display the versions of welcome-protocol and Twisted, and exit.
        """
        print(versionText())
        sys.exit(0)

    def postOptions(self) -> None:
        """
        Check every option, a group at a time, and freeze the result into
        C{settings}.
        """
        listeners = listenerGroup(self)
        self["port"] = listeners.port
        message = messageGroup(self)
        timeouts = timeoutGroup(self)
        self["workers"] = workerGroup(self, listeners)
        metrics = metricsGroup(self)
        limits = limitGroup(self, listeners)
        self.settings = ServerSettings(
            message=message.message.constant or b"",
            template=None if message.message.constant is not None else message.message,
            listen=listeners.descriptions,
            messageFile=self["message-file"],
            encoding=self["encoding"],
            keepOpen=bool(self["keep-open"]),
            idleTimeout=timeouts.idle,
            backlog=limits.backlog,
            maxConnections=limits.maxConnections,
            busyMessage=message.busyMessage,
            maxPerIP=limits.maxPerIP,
            shutdownTimeout=timeouts.shutdown,
            logConnections=not self["no-log-connections"],
            handshakeTimeout=timeouts.handshake,
            maxHandshakes=limits.maxHandshakes,
            proxyFrom=limits.proxyFrom,
            timeConnections=metrics is not None,
            datagrams=datagramSettings(self),
            workers=self["workers"],
            metrics=metrics,
            metricsDeadline=parseMetricsDeadline(self["metrics-deadline"]),
            workerArguments=tuple(workerArguments(self.arguments)),
        )
