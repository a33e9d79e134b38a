# -*- test-case-name: tests.test_endtoend_checkwelcome -*-
"""
C{check_welcome}'s C{main}: read C{check_tcp}'s options, probe once, print
one line, exit with the plugin's state.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.python import usage

from welcome_protocol.client.checks import assess
from welcome_protocol.client.checktcp.conversation import ConversationEndpoint
from welcome_protocol.client.checktcp.options import CheckTCPOptions
from welcome_protocol.client.checktcp.output import Where, checkLine, verboseLines
from welcome_protocol.client.judge import UNKNOWN, NagiosPolicy, usageLine
from welcome_protocol.client.probe import probe
from welcome_protocol.client.target import describeTarget, hostEndpoint
from welcome_protocol.client.tls import clientTLSOptions


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


def checkEndpoint(reactor: Any, config: CheckTCPOptions) -> IStreamClientEndpoint:
    """
    The endpoint C{config} asks for: a UNIX socket for a path, otherwise
    the host name's addresses (TLS if asked); wrapped to send C{-s} and
    C{-q}.
    """
    endpoint: IStreamClientEndpoint
    if config["unix"]:
        endpoint = UNIXClientEndpoint(
            reactor, config["hostname"], timeout=config["timeout"]
        )
    else:
        tlsOptions = None
        if config["tls"]:
            tlsOptions = clientTLSOptions(
                config["sni"] or config["hostname"], config["ca-file"]
            )
        endpoint = hostEndpoint(
            reactor,
            config["hostname"],
            config["port"],
            config["timeout"],
            config["family"],
            tlsOptions,
        )
    if config["send"] or config["quit"]:
        endpoint = ConversationEndpoint(endpoint, config["send"], config["quit"])
    return endpoint


def check(
    reactor: Any,
    config: CheckTCPOptions,
    stdout: TextIO,
    endpoint: IStreamClientEndpoint | None = None,
) -> Deferred[int]:
    """
    Probe once and print the line.

    @return: Fires with the plugin's state.
    """
    host: str = config["hostname"]
    port: int = config["port"]
    where = Where(host, port, not config["positional"], config["unix"])
    label = host if config["unix"] else describeTarget(host, port)
    policy = NagiosPolicy(
        warning=config["warning"],
        critical=config["critical"],
        mismatch=config["mismatch"],
        refused=config["refuse"],
        timeout=config["timeout"],
    )
    if endpoint is None:
        endpoint = checkEndpoint(reactor, config)
    conversation = endpoint if isinstance(endpoint, ConversationEndpoint) else None

    def report(result: Any) -> int:
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
        waiting = conversation.whenClosed().addTimeout(config["timeout"], reactor)
        return waiting.addBoth(lambda _: state)

    return (
        probe(endpoint, reactor, label, config["timeout"], config["maxbytes"])
        .addCallback(
            assess,
            label,
            config["expectations"],
            config["certificate"],
            datetime.datetime.now(datetime.timezone.utc),
        )
        .addCallback(report)
        .addCallback(closed)
    )


def main(argv: Sequence[str] | None = None) -> None:
    """
    Run the plugin; the process exits with its state.
    """
    from twisted.internet import task

    args = sys.argv[1:] if argv is None else list(argv)
    config = parseCheckArguments(args, sys.stdout)
    if config is None:
        sys.exit(UNKNOWN)

    def runAndExit(reactor: Any) -> Deferred[None]:
        def exitWith(state: int) -> None:
            if state:
                raise SystemExit(state)

        return check(reactor, config, sys.stdout).addCallback(exitWith)

    task.react(runAndExit)
