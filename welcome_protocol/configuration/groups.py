# -*- test-case-name: tests.test_configuration -*-
"""
The options of C{twistd welcome}, parsed and checked a group at a time.

Each group reads the raw option values it owns and returns them checked, or
raises L{usage.UsageError} with the one line the user sees (after twistd's
usage text), or L{StartupError} for a well-formed option naming something
the service cannot use (one line on stderr, no usage text);
L{welcome_protocol.configuration.options.Options.postOptions} puts the
groups together into one L{ServerSettings}.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from attrs import frozen
from twisted.python import usage

from welcome_protocol.configuration.filelimit import listenerLimitProblem
from welcome_protocol.configuration.settings import (
    DEFAULT_MESSAGE,
    MAX_HANDSHAKE_TIMEOUT,
    MAX_IDLE_TIMEOUT,
    MAX_SHUTDOWN_TIMEOUT,
)
from welcome_protocol.configuration.startup import StartupError
from welcome_protocol.greeting.message import (
    Message,
    MessageError,
    checkEncoding,
    decodeMessage,
    encodeText,
    parseMessage,
    readMessageFile,
)
from welcome_protocol.greeting.server import DIRECT_WRITE_LIMIT
from welcome_protocol.listening.backlog import defaultBacklog
from welcome_protocol.listening.builder import checkServerDescription
from welcome_protocol.shared.commandline import (
    LONGEST_COUNT,
    parseCount,
    parseNetworks,
    parsePort,
    parseSeconds,
)
from welcome_protocol.shared.defaults import DEFAULT_PORT
from welcome_protocol.shared.descriptions import DescriptionError, endpointType
from welcome_protocol.shared.portranges import (
    PortRangeError,
    expandPortOption,
    expandPortRange,
)
from welcome_protocol.udp.description import isUDP, parseUDPDescription
from welcome_protocol.workers.pool import parseWorkers

#: The raw values of a parsed L{usage.Options}, by option name.
RawOptions = Mapping[str, Any]

PORT_ERROR = (
    "--port must be a port from 0 to 65535 or a range of them such as "
    "20000-20099, not {!r}"
)
"""
The usage error for a C{--port} that is neither a port nor a range; C{{}} is
the value as written.  It names both forms, as C{--help} does.
"""

_WORKER_KINDS = frozenset({"tcp", "tcp6"})
"""
Listeners whose sockets workers can adopt and serve as they are: no TLS or
PROXY header on top, and not systemd's (the parent would have to pass it on).
Not UNIX sockets either: Twisted removes the socket's file whenever a port
adopted from it stops, so each stopping worker would remove it again.
"""


@frozen
class Listeners:
    """
    The listeners group: C{--port} or C{--listen}.

    @ivar descriptions: The descriptions to listen on, ranges unexpanded.
    @ivar port: C{--port} as an integer, or the range as written.
    @ivar ports: How many listening sockets they make, ranges expanded.
    """

    descriptions: tuple[str, ...]
    port: int | str
    ports: int


def listenerGroup(options: RawOptions) -> Listeners:
    """
    Check C{--port} and C{--listen}: every description, every range, and
    that their sockets fit in the open-file limit.

    @raise usage.UsageError: Naming the option and the description.
    """
    port = options["port"]
    listen = tuple(options["listen"])
    if listen and port is not None:
        raise usage.UsageError(
            f"--port and --listen cannot be combined; write --listen tcp:{port} instead"
        )
    text = str(DEFAULT_PORT if port is None else port).strip()
    shown: int | str
    try:
        # A leading digit: "--port -1" stays a bad port, not a bad range.
        portRange = expandPortOption(text) if text[:1].isdigit() else None
    except PortRangeError as e:
        raise usage.UsageError(f"--port {text!r}: {e}") from None
    if portRange is not None:
        # --port 20000-20099: one tcp: listener for the whole range.
        shown, option = text, "--port"
        listeners: tuple[str, ...] = (f"tcp:{text}",)
    else:
        try:
            shown = parsePort(text)
        except usage.UsageError:
            raise usage.UsageError(PORT_ERROR.format(text)) from None
        option = "--listen"
        listeners = listen or (f"tcp:{shown}",)
    ports = 0
    for description in listeners:
        try:
            expanded = expandPortRange(description)
            if isUDP(description):
                parseUDPDescription(expanded[0])
            else:
                checkServerDescription(expanded[0])
        except (DescriptionError, PortRangeError) as e:
            named = shown if option == "--port" else description
            raise usage.UsageError(f"{option} {named!r}: {e}") from None
        ports += len(expanded)
    problem = listenerLimitProblem(ports)
    if problem is not None:
        raise usage.UsageError(problem)
    return Listeners(listeners, shown, ports)


@frozen
class MessageGroup:
    """
    The message group: the welcome and the busy message.

    @ivar message: The welcome as loaded (constant, or with placeholders).
    @ivar busyMessage: The busy message, encoded; empty for none.
    """

    message: Message
    busyMessage: bytes


def messageGroup(options: RawOptions) -> MessageGroup:
    """
    Load the welcome from C{--message} or C{--message-file} and encode the
    C{--busy-message}, both in C{--encoding}.

    @raise usage.UsageError: For C{--message} with C{--message-file}, or a
        busy message longer than the service can write at once.
    @raise StartupError: If the message, its file or the encoding cannot be
        used (missing or unreadable file, bytes that do not decode, an
        encoding that cannot send the text, an unknown placeholder): the
        command line is well formed, so twistd's usage text would not help.
    """
    try:
        message = _loadMessage(options)
        busyMessage = encodeText(
            options["busy-message"] or "", options["encoding"], "--busy-message"
        )
    except MessageError as e:
        raise StartupError(str(e)) from None
    if len(busyMessage) > DIRECT_WRITE_LIMIT:
        raise usage.UsageError(
            f"--busy-message must be at most {DIRECT_WRITE_LIMIT} bytes "
            f"in {options['encoding']}, not {len(busyMessage)}"
        )
    return MessageGroup(message, busyMessage)


def _loadMessage(options: RawOptions) -> Message:
    """
    Load the message from C{--message} or C{--message-file}.

    @raise usage.UsageError: If both are given.
    @raise MessageError: If the message cannot be used.
    """
    encoding = checkEncoding(str(options["encoding"]))
    text, path = options["message"], options["message-file"]
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


@frozen
class Timeouts:
    """
    The timeouts group, in seconds.

    @ivar idle: C{--idle-timeout}; L{None} for never.
    @ivar handshake: C{--handshake-timeout}; L{None} for never.
    @ivar shutdown: C{--shutdown-timeout}.
    """

    idle: float | None
    handshake: float | None
    shutdown: float


def timeoutGroup(options: RawOptions) -> Timeouts:
    """
    Read C{--idle-timeout}, C{--handshake-timeout} and C{--shutdown-timeout}.

    @raise usage.UsageError: For a value out of its bounds.
    """
    idle = parseSeconds("idle-timeout", str(options["idle-timeout"]), MAX_IDLE_TIMEOUT)
    handshake = parseSeconds(
        "handshake-timeout", str(options["handshake-timeout"]), MAX_HANDSHAKE_TIMEOUT
    )
    shutdown = parseSeconds(
        "shutdown-timeout", str(options["shutdown-timeout"]), MAX_SHUTDOWN_TIMEOUT
    )
    return Timeouts(idle or None, handshake or None, shutdown)


@frozen
class Limits:
    """
    The limits group.

    @ivar backlog: The listen backlog.
    @ivar maxConnections: C{--max-connections}.
    @ivar maxPerIP: C{--max-per-ip}; L{None} for no limit.
    @ivar maxHandshakes: C{--max-handshakes}.
    @ivar proxyFrom: C{--proxy-from}; L{None} for any address.
    """

    backlog: int
    maxConnections: int
    maxPerIP: int | None
    maxHandshakes: int
    proxyFrom: tuple[IPv4Network | IPv6Network, ...] | None


def limitGroup(options: RawOptions, listeners: Listeners) -> Limits:
    """
    Read the limits on connections and on who may send a PROXY header.

    @param listeners: The checked listeners: C{--proxy-from} needs a
        C{haproxy:} one.
    @raise usage.UsageError: For a value out of its bounds.
    """
    backlog, maxPerIP = options["backlog"], options["max-per-ip"]
    proxyFrom = parseNetworks(options["proxy-from"])
    if proxyFrom is not None and not any(
        endpointType(d) == "haproxy" for d in listeners.descriptions
    ):
        raise usage.UsageError("--proxy-from needs a haproxy: listener")
    return Limits(
        backlog=defaultBacklog()
        if backlog is None
        else parseCount("backlog", str(backlog), 1, 65535),
        maxConnections=parseCount(
            "max-connections", str(options["max-connections"]), 1, LONGEST_COUNT
        ),
        maxPerIP=None
        if maxPerIP is None
        else parseCount("max-per-ip", str(maxPerIP), 1, LONGEST_COUNT),
        maxHandshakes=parseCount(
            "max-handshakes", str(options["max-handshakes"]), 1, LONGEST_COUNT
        ),
        proxyFrom=proxyFrom,
    )


def workerGroup(options: RawOptions, listeners: Listeners) -> int:
    """
    Read C{--workers}: how many worker processes, 0 for none.

    @param listeners: The checked listeners: workers share one plain
        C{tcp:} or C{tcp6:} socket, and never serve C{udp:}.
    @raise usage.UsageError: For a bad count, or listeners workers cannot
        share.
    """
    workers = parseWorkers(str(options["workers"]))
    descriptions = listeners.descriptions
    if workers and any(isUDP(d) for d in descriptions):
        raise usage.UsageError(
            "--workers cannot serve a udp: listener: its rate limits must "
            "see every datagram in one process"
        )
    if workers and not (
        listeners.ports == 1 and endpointType(descriptions[0]) in _WORKER_KINDS
    ):
        raise usage.UsageError(
            "--workers needs exactly one plain tcp: or tcp6: listener"
        )
    return workers


def metricsGroup(options: RawOptions) -> str | None:
    """
    Check C{--metrics}'s description without listening.

    @return: The description, or L{None} without C{--metrics}.
    @raise usage.UsageError: If it is bad, saying why.
    """
    metrics: str | None = options["metrics"]
    if metrics is not None:
        try:
            checkServerDescription(metrics)
        except DescriptionError as e:
            raise usage.UsageError(f"--metrics {metrics!r}: {e}") from None
    return metrics
