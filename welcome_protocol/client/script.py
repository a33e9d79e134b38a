# -*- test-case-name: tests.test_client_script -*-
"""
C{welcome-client}'s C{main}: parse the options, probe, print, exit.

The modes differ only in how often they probe and how they print: the
default prints the welcome once; C{--count} and C{--json} print a line or
an object per attempt and a summary; C{--nagios} prints a plugin's line.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.python import usage

from welcome_protocol.client.checks import assess
from welcome_protocol.client.judge import UNKNOWN, NagiosPolicy, usageLine
from welcome_protocol.client.options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Options
from welcome_protocol.client.output.jsonlines import JSONLinesOutput, usageErrorObject
from welcome_protocol.client.output.nagios import NagiosOutput
from welcome_protocol.client.output.plain import (
    PROGRAM,
    PlainRepeatOutput,
    printWelcome,
)
from welcome_protocol.client.probe import ProbeResult, probe
from welcome_protocol.client.repeat import Repeater, Summary
from welcome_protocol.client.scan.run import ScanRun
from welcome_protocol.client.target import Target, describeTarget, hostEndpoint
from welcome_protocol.client.tls import clientTLSOptions
from welcome_protocol.client.udpprobe import udpProbe
from welcome_protocol.shared.descriptions import clientEndpoint


def utcNow() -> datetime.datetime:
    """
    @return: The current time, in UTC.
    """
    return datetime.datetime.now(datetime.timezone.utc)


class _AttemptOutput(Protocol):
    def attempt(self, number: int, result: ProbeResult) -> None: ...


def _target(config: Options) -> Target:
    if config["connect"] is not None:
        return Target(config["connect"])
    host: str = config["host"]
    port: int = config["port"]
    if config["udp"]:
        return Target(f"{describeTarget(host, port)}/udp", host, port, "udp")
    return Target(describeTarget(host, port), host, port)


def _endpoint(reactor: Any, config: Options) -> IStreamClientEndpoint:
    if config["connect"] is not None:
        return clientEndpoint(reactor, config["connect"])
    tlsOptions = None
    if config["tls"]:
        tlsOptions = clientTLSOptions(
            config["sni"] or config["host"], config["ca-file"]
        )
    return hostEndpoint(
        reactor,
        config["host"],
        config["port"],
        config["timeout"],
        config["family"],
        tlsOptions,
    )


class ClientRun:
    """
    One run of the client, as the options say.

    @ivar summary: The attempts' statistics.
    """

    def __init__(
        self,
        reactor: IReactorTime,
        config: Options,
        stdout: TextIO,
        stderr: TextIO,
        endpoint: IStreamClientEndpoint | None = None,
        now: Callable[[], float] = time.monotonic,
        utcNow: Callable[[], datetime.datetime] = utcNow,
    ) -> None:
        """
        @param reactor: Connects and keeps time.
        @param endpoint: Where to connect; by default the C{--connect}
            description's endpoint, or a
            L{twisted.internet.endpoints.HostnameEndpoint} for C{--host} and
            C{--port} (resolving names without blocking, trying each address
            the name has).
        @param now: The monotonic clock the probes are timed with.
        @param utcNow: The wall clock certificate expiry is judged by.
        """
        self._config = config
        self._stdout = stdout
        self._stderr = stderr
        self._target = _target(config)
        self._utcNow = utcNow
        if endpoint is None and not config["udp"]:
            endpoint = _endpoint(reactor, config)

        def fetch() -> Deferred[ProbeResult]:
            if config["udp"]:
                return udpProbe(
                    reactor,
                    config["host"],
                    config["port"],
                    self._target.label,
                    config["timeout"],
                    config["retries"],
                    config["pad"],
                    config["max-bytes"],
                    config["family"],
                    now,
                )
            assert endpoint is not None
            return probe(
                endpoint,
                reactor,
                self._target.label,
                config["timeout"],
                config["max-bytes"],
                now=now,
            )

        def attempt() -> Deferred[ProbeResult]:
            return fetch().addCallback(
                assess,
                self._target.label,
                config["expectations"],
                config["certificate-days"],
                utcNow(),
            )

        self._nagios: NagiosOutput | None = None
        self._repeating = config["count"] is not None or bool(config["json"])
        output: _AttemptOutput
        self._lines: JSONLinesOutput | PlainRepeatOutput | None = None
        if config["nagios"]:
            output = self._nagios = NagiosOutput(
                self._target,
                stdout,
                NagiosPolicy.fromOptions(config),
            )
        elif config["json"]:
            output = self._lines = JSONLinesOutput(self._target, stdout, utcNow)
        elif config["count"] is not None:
            output = self._lines = PlainRepeatOutput(self._target, stdout)
        else:
            output = self
        count = 1 if config["count"] is None else config["count"]
        self._repeater = Repeater(
            attempt, reactor, count, config["interval"], output.attempt
        )
        self.summary = self._repeater.summary

    @property
    def repeating(self) -> bool:
        """
        Whether the run prints a summary (and so handles Ctrl-C by printing
        it).
        """
        return self._repeating

    def attempt(self, number: int, result: ProbeResult) -> None:
        """
        The default mode's output: the welcome, or the one-line reason.
        """
        printWelcome(result, self._stdout, self._stderr)

    def start(self) -> Deferred[int]:
        """
        Start probing.

        @return: Fires with the exit status once the run is over.
        """
        return self._repeater.start().addCallback(self._finished)

    def interrupt(self) -> None:
        """
        Ctrl-C: abandon the attempt in progress; the run ends now, with the
        summary of the attempts made.
        """
        self._repeater.interrupt()

    def _finished(self, summary: Summary) -> int:
        if self._nagios is not None:
            return self._nagios.state
        if self._lines is not None:
            self._lines.summary(summary)
        return EXIT_OK if summary.allWelcomed else EXIT_FAILED


def run(
    reactor: IReactorTime,
    config: Options,
    stdout: TextIO,
    stderr: TextIO,
    endpoint: IStreamClientEndpoint | None = None,
) -> Deferred[int]:
    """
    Run the client as C{config} says.

    @return: A L{Deferred} firing with the process's exit status.
    """
    if config["scan"] is not None:
        return ScanRun(reactor, config, stdout, utcNow).start()
    return ClientRun(reactor, config, stdout, stderr, endpoint).start()


def parseArguments(
    argv: Sequence[str], stderr: TextIO, stdout: TextIO | None = None
) -> Options | None:
    """
    Parse C{argv} (without the program name).

    @param stdout: Where a usage error goes in C{--nagios} mode (a plugin's
        one line is read from stdout); L{sys.stdout} by default.
    @return: The parsed options, or L{None} after writing one line naming the
        problem.
    """
    config = Options()
    try:
        config.parseOptions(list(argv))
    except usage.UsageError as e:
        if "--nagios" in argv:
            out = sys.stdout if stdout is None else stdout
            out.write(usageLine(f"{e} (see --help)") + "\n")
        else:
            stderr.write(f"{PROGRAM}: {e} (see --help)\n")
            if "--json" in argv:
                out = sys.stdout if stdout is None else stdout
                line = json.dumps(usageErrorObject(str(e), EXIT_USAGE))
                out.write(line + "\n")
        return None
    return config


def usageStatus(argv: Sequence[str]) -> int:
    """
    @return: The exit status of a usage error: 3 (UNKNOWN) with
        C{--nagios}, 2 otherwise.
    """
    return UNKNOWN if "--nagios" in argv else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> None:
    """
    Run the client as a reactor script; the process exits with its status.
    """
    from twisted.internet import reactor, task

    args = sys.argv[1:] if argv is None else list(argv)
    config = parseArguments(args, sys.stderr)
    if config is None:
        sys.exit(usageStatus(args))

    def runAndExit(reactor: Any) -> Deferred[None]:
        clientRun: ClientRun | ScanRun
        if config["scan"] is not None:
            clientRun = ScanRun(reactor, config, sys.stdout, utcNow)
        else:
            clientRun = ClientRun(reactor, config, sys.stdout, sys.stderr)
        if clientRun.repeating:
            # Registered once running, so after react's own trigger: the
            # summary is printed and the status kept when Ctrl-C stops it.
            reactor.callWhenRunning(
                reactor.addSystemEventTrigger,
                "before",
                "shutdown",
                clientRun.interrupt,
            )

        def exitWith(status: int) -> None:
            if status:
                raise SystemExit(status)

        return clientRun.start().addCallback(exitWith)

    task.react(runAndExit)
    del reactor
