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
from typing import Protocol, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime, IStreamClientEndpoint
from twisted.python import usage

from welcome_protocol.client.checking import CheckSpec, checkOnce, utcNow
from welcome_protocol.client.checks import assess
from welcome_protocol.client.connecting import Connector
from welcome_protocol.client.judge import UNKNOWN, NagiosPolicy, usageLine
from welcome_protocol.client.options import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Options
from welcome_protocol.client.output.jsonlines import JSONLinesOutput, usageErrorObject
from welcome_protocol.client.output.nagios import NagiosOutput
from welcome_protocol.client.output.plain import (
    PROGRAM,
    PlainRepeatOutput,
    printWelcome,
)
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.reactors import (
    ClientReactor,
    RunningReactor,
    UDPProbeReactor,
)
from welcome_protocol.client.repeat import Repeater, Summary
from welcome_protocol.client.resolving import installResolver
from welcome_protocol.client.scan.progress import Progress
from welcome_protocol.client.scan.run import ScanRun
from welcome_protocol.client.target import Target, describeTarget
from welcome_protocol.client.udpprobe import udpProbe

__all__ = ["ClientRun", "main", "parseArguments", "run", "utcNow"]

Attempt = Callable[[], Deferred[ProbeResult]]
"""
Start one attempt: a probe, the checks applied.
"""


class _AttemptOutput(Protocol):
    def attempt(self, number: int, result: ProbeResult) -> None: ...


def targetOf(config: Options) -> Target:
    """
    @return: The server C{config} names, as the output labels it.
    """
    if config["connect"] is not None:
        return Target(config["connect"])
    host: str = config["host"]
    port: int = config["port"]
    if config["udp"]:
        return Target(f"{describeTarget(host, port)}/udp", host, port, "udp")
    return Target(describeTarget(host, port), host, port)


def streamAttempt(
    clock: IReactorTime,
    endpoint: IStreamClientEndpoint,
    spec: CheckSpec,
    now: Callable[[], float] = time.monotonic,
    wallClock: Callable[[], datetime.datetime] = utcNow,
) -> Attempt:
    """
    @return: A check of C{endpoint} (TCP, TLS or a UNIX socket) per call.
    """
    return lambda: checkOnce(clock, endpoint, spec, now, wallClock)


def datagramAttempt(
    reactor: UDPProbeReactor,
    config: Options,
    spec: CheckSpec,
    now: Callable[[], float] = time.monotonic,
    wallClock: Callable[[], datetime.datetime] = utcNow,
) -> Attempt:
    """
    @return: A C{--udp} probe of C{--host}/C{--port} per call, checked.
    """

    def attempt() -> Deferred[ProbeResult]:
        return udpProbe(
            reactor,
            config["host"],
            config["port"],
            spec.label,
            spec.timeout,
            config["retries"],
            config["pad"],
            spec.maxBytes,
            config["family"],
            now,
        ).addCallback(
            lambda result: assess(
                result,
                spec.label,
                spec.expectations,
                spec.certificateDays,
                wallClock(),
            )
        )

    return attempt


class ClientRun:
    """
    One run of the client (not a scan), as the options say: the attempts,
    their output, and the exit status.

    @ivar summary: The attempts' statistics.
    """

    def __init__(
        self,
        clock: IReactorTime,
        config: Options,
        stdout: TextIO,
        stderr: TextIO,
        attempt: Attempt,
        wallClock: Callable[[], datetime.datetime] = utcNow,
    ) -> None:
        """
        @param clock: Spaces the attempts.
        @param attempt: Starts one attempt (L{streamAttempt},
            L{datagramAttempt}).
        @param wallClock: The UTC clock of the JSON Lines timestamps.
        """
        self._stdout = stdout
        self._stderr = stderr
        self._nagios: NagiosOutput | None = None
        self._lines: JSONLinesOutput | PlainRepeatOutput | None = None
        self._repeating = config["count"] is not None or bool(config["json"])
        output = self._chooseOutput(config, targetOf(config), wallClock)
        count = 1 if config["count"] is None else config["count"]
        self._repeater = Repeater(
            attempt, clock, count, config["interval"], output.attempt
        )
        self.summary = self._repeater.summary

    @classmethod
    def fromOptions(
        cls,
        reactor: ClientReactor,
        config: Options,
        stdout: TextIO,
        stderr: TextIO,
        now: Callable[[], float] = time.monotonic,
        wallClock: Callable[[], datetime.datetime] = utcNow,
    ) -> ClientRun:
        """
        The run C{config} describes, connecting with C{reactor}: to the
        C{--connect} description's endpoint, or to C{--host} and C{--port}
        (every address the name has, TLS with C{--tls}), or over UDP.

        @param now: The monotonic clock the probes are timed with.
        @param wallClock: The clock certificate expiry is judged by.
        """
        if not config["udp"]:
            connector = Connector.fromOptions(reactor, config)
            if config["connect"] is not None:
                endpoint = connector.toDescription(config["connect"])
            else:
                endpoint = connector.toHost(config["host"], config["port"])
            return cls.overEndpoint(
                reactor, config, stdout, stderr, endpoint, now, wallClock
            )
        spec = CheckSpec.fromOptions(config, targetOf(config).label)
        attempt = datagramAttempt(reactor, config, spec, now, wallClock)
        return cls(reactor, config, stdout, stderr, attempt, wallClock)

    @classmethod
    def overEndpoint(
        cls,
        clock: IReactorTime,
        config: Options,
        stdout: TextIO,
        stderr: TextIO,
        endpoint: IStreamClientEndpoint,
        now: Callable[[], float] = time.monotonic,
        wallClock: Callable[[], datetime.datetime] = utcNow,
    ) -> ClientRun:
        """
        The run C{config} describes, over C{endpoint} (TCP, TLS or a UNIX
        socket), whatever C{--host} or C{--connect} say.
        """
        spec = CheckSpec.fromOptions(config, targetOf(config).label)
        attempt = streamAttempt(clock, endpoint, spec, now, wallClock)
        return cls(clock, config, stdout, stderr, attempt, wallClock)

    def _chooseOutput(
        self,
        config: Options,
        target: Target,
        wallClock: Callable[[], datetime.datetime],
    ) -> _AttemptOutput:
        """
        The output the mode asks for: a Nagios line, JSON Lines, a line per
        attempt, or (by default) the welcome itself.
        """
        if config["nagios"]:
            policy = NagiosPolicy.fromOptions(config)
            self._nagios = NagiosOutput(target, self._stdout, policy)
            return self._nagios
        if config["json"]:
            self._lines = JSONLinesOutput(target, self._stdout, wallClock)
            return self._lines
        if config["count"] is not None:
            self._lines = PlainRepeatOutput(target, self._stdout, wallClock)
            return self._lines
        return self

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
        if summary.interrupted:
            # As a scan does: a run cut short did not show that the server
            # welcomes, whatever the attempts it made.
            return EXIT_FAILED
        return EXIT_OK if summary.allWelcomed else EXIT_FAILED


def start(
    reactor: ClientReactor, config: Options, stdout: TextIO, stderr: TextIO
) -> ClientRun | ScanRun:
    """
    Make the run C{config} asks for: a scan, or one target's attempts.
    """
    if config["scan"] is not None:
        progress = Progress.onTerminal(stderr, len(config["scan"]))
        return ScanRun(reactor, config, stdout, utcNow, progress=progress)
    return ClientRun.fromOptions(reactor, config, stdout, stderr)


def run(
    reactor: ClientReactor, config: Options, stdout: TextIO, stderr: TextIO
) -> Deferred[int]:
    """
    Run the client as C{config} says.

    @return: A L{Deferred} firing with the process's exit status.
    """
    return start(reactor, config, stdout, stderr).start()


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
    # Imported here for start-up time: --help and usage errors need no
    # reactor, and react() installs the default one when it runs.
    from twisted.internet import task

    args = sys.argv[1:] if argv is None else list(argv)
    config = parseArguments(args, sys.stderr)
    if config is None:
        sys.exit(usageStatus(args))

    def runAndExit(reactor: RunningReactor) -> Deferred[None]:
        installResolver(reactor)
        clientRun = start(reactor, config, sys.stdout, sys.stderr)
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
