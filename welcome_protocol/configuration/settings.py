# -*- test-case-name: tests.test_configuration -*-
"""
The server's configuration, validated once and then frozen.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from attrs import field, frozen

from welcome_protocol.greeting.message import Message
from welcome_protocol.listening.backlog import defaultBacklog
from welcome_protocol.metrics.deadline import REQUEST_DEADLINE
from welcome_protocol.shared.defaults import DEFAULT_PORT
from welcome_protocol.udp.settings import DatagramSettings

DEFAULT_MESSAGE = "Welcome!"
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_CONNECTIONS = 10000
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_HANDSHAKE_TIMEOUT = 10.0
DEFAULT_MAX_HANDSHAKES = 1000

MAX_IDLE_TIMEOUT = 7 * 86400.0
"""
The longest C{--idle-timeout}: a week of silence.
"""
MAX_SHUTDOWN_TIMEOUT = 3600.0
"""
The longest C{--shutdown-timeout}: an hour.
"""
MAX_HANDSHAKE_TIMEOUT = 3600.0
"""
The longest C{--handshake-timeout}: an hour.
"""


@frozen
class ServerSettings:
    """
    Everything the welcome factory needs to know, fixed at start-up.

    @ivar message: The welcome exactly as it goes on the wire.
    @ivar logConnections: Whether each client is recorded in the log.
    @ivar listen: The endpoint descriptions to listen on, as written.
    @ivar template: The message when it has placeholders to fill in per
        connection (then C{message} is unused), else L{None}.
    @ivar messageFile: The file the message came from, re-read on SIGHUP,
        or L{None}.
    @ivar encoding: The message's text encoding.
    @ivar keepOpen: Whether a connection stays open after the welcome until
        the client closes it (or is idle for C{idleTimeout}).
    @ivar idleTimeout: Seconds a connection may stay silent (no byte from
        the client, no progress writing the welcome) before it is aborted;
        L{None} for never.  Without C{keepOpen} it only bounds a welcome
        that the client does not read.
    @ivar backlog: The listen backlog: connections the kernel queues for us.
    @ivar maxConnections: Connections open at once; more are refused.
    @ivar busyMessage: Written to a refused connection before it is
        closed; empty for none.
    @ivar maxPerIP: Connections open at once from one IP address; L{None}
        for no limit.
    @ivar shutdownTimeout: Seconds a stopping server lets welcomes still
        being written finish before it closes their connections.
    @ivar handshakeTimeout: Seconds from accept by which a connection on a
        C{ssl:} or C{haproxy:} listener must have completed its TLS
        handshake and sent its whole PROXY header, or be aborted; L{None}
        for no deadline.
    @ivar maxHandshakes: Connections that may be unfinished (accepted, not
        yet past their PROXY header or TLS handshake) at once; beyond that
        the oldest unfinished one is closed.
    @ivar proxyFrom: The networks that may send a PROXY header; L{None}
        for any address.
    @ivar timeConnections: Whether each connection is timed, from admission
        to close, for the duration histogram.  Only C{--metrics} reads it,
        so without it the clock is not read twice per connection and a
        connection held open keeps no start time.
    @ivar datagrams: The limits of the C{udp:} listeners.
    @ivar workers: How many worker processes serve (C{--workers}); 0 to
        serve in this process.
    @ivar metrics: The description C{/metrics} is served on, or L{None}.
    @ivar metricsDeadline: Seconds from accept to the end of a connection
        to the metrics port, at most (C{--metrics-deadline}).
    @ivar workerArguments: The command line a worker parses to build the
        same settings (without C{--workers}).
    """

    message: bytes = DEFAULT_MESSAGE.encode("utf-8")
    logConnections: bool = True
    listen: tuple[str, ...] = (f"tcp:{DEFAULT_PORT}",)
    template: Message | None = None
    messageFile: str | None = None
    encoding: str = "utf-8"
    keepOpen: bool = False
    idleTimeout: float | None = DEFAULT_IDLE_TIMEOUT
    backlog: int = field(factory=defaultBacklog)
    maxConnections: int = DEFAULT_MAX_CONNECTIONS
    busyMessage: bytes = b""
    maxPerIP: int | None = None
    shutdownTimeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    handshakeTimeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT
    maxHandshakes: int = DEFAULT_MAX_HANDSHAKES
    proxyFrom: tuple[IPv4Network | IPv6Network, ...] | None = None
    timeConnections: bool = False
    datagrams: DatagramSettings = field(factory=DatagramSettings)
    workers: int = 0
    metrics: str | None = None
    metricsDeadline: float = REQUEST_DEADLINE
    workerArguments: tuple[str, ...] = ()
