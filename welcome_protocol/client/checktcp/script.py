# -*- test-case-name: tests.test_endtoend_checkwelcome -*-
"""
C{check_welcome}'s C{main}: read C{check_tcp}'s options, probe once, print
one line, exit with the plugin's state.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.python import usage

from welcome_protocol.client.checking import CheckSpec, checkOnce
from welcome_protocol.client.checktcp.conversation import ConversationEndpoint
from welcome_protocol.client.checktcp.options import CheckTCPOptions
from welcome_protocol.client.checktcp.output import Where, checkLine, verboseLines
from welcome_protocol.client.connecting import Connector
from welcome_protocol.client.judge import UNKNOWN, NagiosPolicy, usageLine
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.reactors import ConnectingReactor, RunningReactor
from welcome_protocol.client.resolving import installResolver
from welcome_protocol.client.target import describeTarget


def parseCheckArguments(argv: Sequence[str], stdout: TextIO) -> CheckTCPOptions | None:
    """
    Parse C{argv}; on a mistake print the UNKNOWN line.

    @return: The options, or L{None} after the line.
    """
    config = CheckTCPOptions()
    try:
        config.parseOptions(list(argv))
    except usage.UsageError as e:
        stdout.write(usageLine(f"{e} (see --help)") + "\n")
        return None
    return config


def checkEndpoint(
    reactor: ConnectingReactor, config: CheckTCPOptions
) -> IStreamClientEndpoint:
    """
    The endpoint C{config} asks for: a UNIX socket for a path, otherwise
    the host name's addresses (TLS if asked); wrapped to send C{-s} and
    C{-q}.
    """
    connector = Connector.fromOptions(reactor, config)
    endpoint: IStreamClientEndpoint
    if config["unix"]:
        endpoint = connector.toUNIX(config["hostname"])
    else:
        endpoint = connector.toHost(config["hostname"], config["port"])
    if config["send"] or config["quit"]:
        endpoint = ConversationEndpoint(endpoint, config["send"], config["quit"])
    return endpoint


def check(
    clock: IReactorTime,
    config: CheckTCPOptions,
    stdout: TextIO,
    endpoint: IStreamClientEndpoint,
) -> Deferred[int]:
    """
    Probe C{endpoint} once and print the line.

    @param clock: Times the probe out.
    @param endpoint: Where to connect: L{checkEndpoint}'s, in the program.
    @return: Fires with the plugin's state.
    """
    host: str = config["hostname"]
    port: int = config["port"]
    where = Where(host, port, not config["positional"], config["unix"])
    spec = CheckSpec(
        label=host if config["unix"] else describeTarget(host, port),
        timeout=config["timeout"],
        maxBytes=config["maxbytes"],
        expectations=config["expectations"],
        certificateDays=config["certificate"],
    )
    policy = NagiosPolicy(
        warning=config["warning"],
        critical=config["critical"],
        mismatch=config["mismatch"],
        refused=config["refuse"],
        timeout=config["timeout"],
    )
    conversation = endpoint if isinstance(endpoint, ConversationEndpoint) else None

    def report(result: ProbeResult) -> int:
        state, line = checkLine(where, result, policy, config["jail"])
        lines = [line]
        if config["verbose"]:
            lines += verboseLines(where, result, config["send"])
        stdout.write("\n".join(lines) + "\n")
        stdout.flush()
        return state

    def closed(state: int) -> Deferred[int] | int:
        # Let -q's string go out before the process exits, within -t.
        if conversation is None:
            return state
        waiting = conversation.whenClosed().addTimeout(config["timeout"], clock)
        return waiting.addBoth(lambda _: state)

    return checkOnce(clock, endpoint, spec).addCallback(report).addCallback(closed)


def main(argv: Sequence[str] | None = None) -> None:
    """
    Run the plugin; the process exits with its state.
    """
    # Imported here for start-up time: --help and usage errors need no
    # reactor.
    from twisted.internet import task

    args = sys.argv[1:] if argv is None else list(argv)
    config = parseCheckArguments(args, sys.stdout)
    if config is None:
        sys.exit(UNKNOWN)

    def runAndExit(reactor: RunningReactor) -> Deferred[None]:
        installResolver(reactor)

        def exitWith(state: int) -> None:
            if state:
                raise SystemExit(state)

        endpoint = checkEndpoint(reactor, config)
        return check(reactor, config, sys.stdout, endpoint).addCallback(exitWith)

    task.react(runAndExit)
