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
from typing import Any, Protocol, TextIO

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.interfaces import IStreamClientEndpoint

from welcome_protocol.client.checks import assess
from welcome_protocol.client.judge import NagiosPolicy
from welcome_protocol.client.options import EXIT_FAILED, EXIT_OK
from welcome_protocol.client.probe import ProbeResult, probe
from welcome_protocol.client.scan.jsonlines import ScanJSONOutput
from welcome_protocol.client.scan.nagios import ScanNagiosOutput
from welcome_protocol.client.scan.plan import ScanPlan
from welcome_protocol.client.scan.resolve import resolveHost
from welcome_protocol.client.scan.scanner import PortResult, Scanner
from welcome_protocol.client.scan.summary import ScanSummary
from welcome_protocol.client.scan.table import TableOutput
from welcome_protocol.client.target import addressFamily, describeTarget
from welcome_protocol.client.tls import clientTLSOptions


class _ScanOutput(Protocol):
    def report(self, results: list[PortResult], summary: ScanSummary) -> None: ...


def addressEndpoint(
    reactor: Any, address: str, port: int, timeout: float, tlsOptions: Any = None
) -> IStreamClientEndpoint:
    """
    The endpoint for one port of an address already resolved.

    @param tlsOptions: A connection creator to speak TLS, or L{None}.
    """
    endpoint: IStreamClientEndpoint
    if addressFamily(address) == 6:
        endpoint = TCP6ClientEndpoint(reactor, address, port, timeout=timeout)
    else:
        endpoint = TCP4ClientEndpoint(reactor, address, port, timeout=timeout)
    if tlsOptions is not None:
        endpoint = wrapClientTLS(tlsOptions, endpoint)
    return endpoint


class ScanRun:
    """
    Check every port of the plan and print the result in the mode's form.
    """

    repeating = True

    def __init__(
        self,
        reactor: Any,
        config: Any,
        stdout: TextIO,
        utcNow: Callable[[], datetime.datetime],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        @param config: The parsed L{welcome_protocol.client.options.Options},
            with its C{scan} plan.
        """
        plan: ScanPlan = config["scan"]
        self._config = config
        self._now = now
        self._tls: dict[str, Any] = {}
        self._utcNow = utcNow

        def resolve(host: str) -> Deferred[str | None]:
            return resolveHost(reactor, host, config["family"])

        def probeOne(host: str, address: str, port: int) -> Deferred[ProbeResult]:
            endpoint = addressEndpoint(
                reactor, address, port, config["timeout"], self._tlsFor(host)
            )
            target = describeTarget(host, port)
            return probe(
                endpoint,
                reactor,
                target,
                config["timeout"],
                config["max-bytes"],
                now=now,
            ).addCallback(
                assess,
                target,
                config["expectations"],
                config["certificate-days"],
                utcNow(),
            )

        self._scanner = Scanner(
            reactor, plan, resolve, probeOne, config["parallel"], now
        )
        self._nagios: ScanNagiosOutput | None = None
        self._output: _ScanOutput
        if config["nagios"]:
            self._output = self._nagios = ScanNagiosOutput(
                stdout,
                NagiosPolicy.fromOptions(config),
            )
        elif config["json"]:
            self._output = ScanJSONOutput(stdout, utcNow)
        else:
            self._output = TableOutput(stdout)

    def _tlsFor(self, host: str) -> Any:
        if not self._config["tls"]:
            return None
        if host not in self._tls:
            self._tls[host] = clientTLSOptions(
                self._config["sni"] or host, self._config["ca-file"]
            )
        return self._tls[host]

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
