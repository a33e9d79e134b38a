# -*- test-case-name: tests.test_client_scan_run -*-
"""
A scan run, as the options say: the plan, the endpoints, the output, the
exit status.

It has the interface of L{welcome_protocol.client.script.ClientRun}
(C{start}, C{interrupt}, C{repeating}), so C{main} runs either the same
way, Ctrl-C included.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from welcome_protocol.client.checking import CheckSpec, checkOnce
from welcome_protocol.client.connecting import Connector
from welcome_protocol.client.judge import NagiosPolicy
from welcome_protocol.client.options import EXIT_FAILED, EXIT_OK, Options
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.client.resolving import NameNotResolved, ThreadedResolver
from welcome_protocol.client.scan.jsonlines import ScanJSONOutput
from welcome_protocol.client.scan.nagios import ScanNagiosOutput
from welcome_protocol.client.scan.plan import ScanPlan
from welcome_protocol.client.scan.progress import Progress
from welcome_protocol.client.scan.resolve import resolveHost
from welcome_protocol.client.scan.scanner import PortResult, ProbeOne, Scanner
from welcome_protocol.client.scan.summary import ScanSummary
from welcome_protocol.client.scan.table import TableOutput
from welcome_protocol.client.scan.udpscan import udpScanProbe
from welcome_protocol.client.target import describeTarget


class _ScanOutput(Protocol):
    def report(self, results: list[PortResult], summary: ScanSummary) -> None: ...


class ScanRun:
    """
    Check every port of the plan and print the result in the mode's form.
    """

    repeating = True

    def __init__(
        self,
        reactor: ClientReactor,
        config: Options,
        stdout: TextIO,
        utcNow: Callable[[], datetime.datetime],
        now: Callable[[], float] = time.monotonic,
        progress: Progress | None = None,
    ) -> None:
        """
        @param reactor: Resolves each host, connects (or sends datagrams), and
            keeps time.
        @param config: The parsed options, with their C{scan} plan.
        @param progress: Told of each port's result (on a terminal, the
            progress line on stderr).
        """
        plan: ScanPlan = config["scan"]
        self._reactor = reactor
        self._config = config
        self._now = now
        self._utcNow = utcNow
        self._connector = Connector.fromOptions(reactor, config)
        probeOne: ProbeOne = self._probeOne
        if config["udp"]:
            probeOne = udpScanProbe(
                reactor,
                self._spec,
                config["retries"],
                config["pad"],
                config["rate"],
                now,
                utcNow,
            )
        self._scanner = Scanner(
            reactor,
            plan,
            self._resolve,
            probeOne,
            config["parallel"],
            now,
            utcNow,
            self._portDone,
        )
        self._nagios: ScanNagiosOutput | None = None
        self._json: ScanJSONOutput | None = None
        self._progress = progress
        self._output: _ScanOutput
        if config["nagios"]:
            self._output = self._nagios = ScanNagiosOutput(
                stdout, NagiosPolicy.fromOptions(config)
            )
        elif config["json"]:
            self._json = ScanJSONOutput(stdout, utcNow, streamed=not config["sorted"])
            self._output = self._json
        else:
            self._output = TableOutput(stdout)

    def _portDone(self, result: PortResult) -> None:
        if self._json is not None:
            self._json.port(result)
        if self._progress is not None:
            self._progress.port(result)

    def _resolve(self, host: str) -> Deferred[str | None]:
        """
        Resolve C{host} within C{--timeout}, failing with
        L{NameNotResolved} when the resolver says why it gave no address.
        """
        timeout: float = self._config["timeout"]
        resolver = self._reactor.nameResolver

        def explain(address: str | None) -> str | None:
            problem = None
            if address is None and isinstance(resolver, ThreadedResolver):
                problem = resolver.problem(host)
            if problem is not None:
                raise NameNotResolved(problem)
            return address

        def late(reason: Failure) -> Failure:
            if reason.check(defer.TimeoutError):
                why = f"timed out after {timeout:g} s resolving the host name"
                return Failure(NameNotResolved(why))
            return reason

        resolving = resolveHost(self._reactor, host, self._config["family"])
        return (
            resolving.addCallback(explain)
            .addTimeout(timeout, self._reactor)
            .addErrback(late)
        )

    def _spec(self, host: str, port: int) -> CheckSpec:
        return CheckSpec.fromOptions(self._config, describeTarget(host, port))

    def _probeOne(self, host: str, address: str, port: int) -> Deferred[ProbeResult]:
        spec = self._spec(host, port)
        endpoint = self._connector.toAddress(host, address, port)
        return checkOnce(self._reactor, endpoint, spec, self._now, self._utcNow)

    def start(self) -> Deferred[int]:
        """
        Start the scan.

        @return: Fires with the exit status once it is printed.
        """
        started = self._now()

        def finished(results: list[PortResult]) -> int:
            summary = ScanSummary.of(
                results, self._now() - started, self._scanner.interrupted
            )
            if self._progress is not None:
                self._progress.close()
            self._output.report(results, summary)
            if self._nagios is not None:
                return self._nagios.state
            return EXIT_OK if summary.allExpected else EXIT_FAILED

        return self._scanner.start().addCallback(finished)

    def interrupt(self) -> None:
        """
        Ctrl-C: stop, and report the ports checked so far.
        """
        self._scanner.interrupt()
