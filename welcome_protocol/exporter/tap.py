# -*- test-case-name: tests.test_exporter_tap -*-
"""
The C{twistd welcome-exporter} command: its options and its service.
"""

from __future__ import annotations

from typing import cast

from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry
from twisted.application.service import IService
from twisted.python import usage

from welcome_protocol.admission.unfinished import HandshakeGuard
from welcome_protocol.exporter.counters import ExporterCounters
from welcome_protocol.exporter.handler import DEFAULT_TIMEOUT_OFFSET
from welcome_protocol.exporter.modules import (
    DEFAULT_SCRAPE_TIMEOUT,
    Module,
    ModuleFileError,
    defaultModules,
    loadModules,
)
from welcome_protocol.exporter.portlist import MAX_PORTS, ProbeSlots
from welcome_protocol.exporter.reactors import ExporterReactor
from welcome_protocol.exporter.service import ExporterService, startupLine
from welcome_protocol.exporter.site import (
    ANSWER_SECONDS,
    IndexPage,
    MetricsPage,
    ProbePage,
    exporterSite,
)
from welcome_protocol.exporter.targets import AllowedTargets
from welcome_protocol.listening.builder import (
    ListenerBuilder,
    checkServerDescription,
)
from welcome_protocol.shared.commandline import parseCount, versionText
from welcome_protocol.shared.descriptions import DescriptionError
from welcome_protocol.shared.stats import ServerStats

DEFAULT_LISTEN = "tcp:9115:interface=127.0.0.1"
DEFAULT_MAX_PROBES = 256
DEFAULT_MAX_SCRAPES = 128


class Options(usage.Options):
    """
    C{twistd welcome-exporter}'s command line.
    """

    synopsis = "[options]"
    longdesc = (
        "A probe exporter for Prometheus: GET /probe?target=HOST:PORT&module=NAME "
        "answers blackbox_exporter's metrics (probe_success, ...) for a tcp, udp "
        "or welcome probe; ports=22,80,8000-8100&expect_closed=23 probes many "
        "ports of one host in one scrape.  /metrics has the exporter's own "
        "metrics; / is an index.  --config reads blackbox_exporter's modules "
        "file (the parts for tcp, plus udp and welcome); an option it does not "
        "support is refused at start."
    )
    optParameters = [
        ["listen", None, DEFAULT_LISTEN, "The endpoint to serve HTTP on."],
        [
            "config",
            None,
            None,
            "The modules file (blackbox_exporter's YAML layout); without it, "
            "the modules tcp_connect, welcome and udp (5 s each).",
        ],
        [
            "max-ports",
            None,
            str(MAX_PORTS),
            "Ports one scrape may probe (ports=), at most; more get a 400.",
        ],
        [
            "max-probes",
            None,
            str(DEFAULT_MAX_PROBES),
            "Probes in flight at once, shared by all scrapes.",
        ],
        [
            "max-scrapes",
            None,
            str(DEFAULT_MAX_SCRAPES),
            "HTTP connections open at once, at most.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # usage.Options is unannotated
        self["allow-targets"] = []

    def opt_version(self) -> None:
        """
        Print the version and exit.
        """
        print(versionText())
        raise SystemExit(0)

    def opt_allow_targets(self, value: str) -> None:
        """
        Networks and host names that may be probed (comma-separated; may be
        given more than once; .example.com allows names under it).  Without
        it, every target may be probed, as with blackbox_exporter.
        """
        self["allow-targets"].append(value)

    def postOptions(self) -> None:
        """
        Check everything once: the endpoint, the modules file, the limits.

        @raise usage.UsageError: In one line, naming the problem.
        """
        try:
            checkServerDescription(self["listen"])
        except DescriptionError as e:
            raise usage.UsageError(f"--listen {self['listen']!r}: {e}") from None
        try:
            modules = (
                defaultModules()
                if self["config"] is None
                else loadModules(self["config"])
            )
        except ModuleFileError as e:
            raise usage.UsageError(f"--config {e}") from None
        self["modules"] = modules
        self["allowed"] = None
        if self["allow-targets"]:
            try:
                self["allowed"] = AllowedTargets.parse(self["allow-targets"])
            except ValueError as e:
                raise usage.UsageError(f"--allow-targets: {e}") from None
        self["max-ports"] = parseCount("max-ports", self["max-ports"], 1, 65535)
        self["max-probes"] = parseCount("max-probes", self["max-probes"], 1, 10_000)
        self["max-scrapes"] = parseCount("max-scrapes", self["max-scrapes"], 1, 10_000)


def longestScrape(modules: dict[str, Module]) -> float:
    """
    @return: The longest a scrape may take with these modules: the longest
        module C{timeout} (a module without one takes the scrape's).
    """
    return max(
        DEFAULT_SCRAPE_TIMEOUT - DEFAULT_TIMEOUT_OFFSET
        if module.timeout is None
        else module.timeout
        for module in modules.values()
    )


def processRegistry(counters: ExporterCounters) -> CollectorRegistry:
    """
    @return: The registry C{/metrics} serves: the exporter's counters and
        prometheus_client's C{process_*} and C{python_*} collectors.
    """
    registry = CollectorRegistry()
    registry.register(counters)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def makeService(config: Options, reactor: ExporterReactor | None = None) -> IService:
    """
    Build the exporter's service from checked options.

    @param reactor: The reactor to listen and probe with; the global one
        by default.
    """
    if reactor is None:
        # The global reactor provides every interface ExporterReactor
        # names, but zope interfaces are nominal to mypy.
        from twisted.internet import reactor as globalReactor

        reactor = cast(ExporterReactor, globalReactor)
    modules: dict[str, Module] = config["modules"]
    allowed: AllowedTargets | None = config["allowed"]
    slots = ProbeSlots(config["max-probes"])
    counters = ExporterCounters(lambda: slots.inFlight)
    deadline = longestScrape(modules) + ANSWER_SECONDS
    site = exporterSite(
        reactor,
        ProbePage(reactor, modules, allowed, slots, counters, config["max-ports"]),
        MetricsPage(processRegistry(counters)),
        IndexPage(modules),
        config["max-scrapes"],
        deadline,
    )
    # Until its TLS handshake or PROXY header is complete, a connection is
    # not yet the site's: the same deadline and cap bound it, as on the
    # server's metrics port.
    unfinished = HandshakeGuard(
        deadline,
        config["max-scrapes"],
        ServerStats(reactor.seconds()),
        reactor,
        deadlineOption="the exporter's scrape deadline",
        capOption="--max-scrapes",
    )
    service = ExporterService(startupLine(allowed, len(modules)))
    # The one builder builds the exporter's listener, as it does every other.
    builder = ListenerBuilder(reactor, site, unfinished=unfinished)
    listener = builder.build(config["listen"], name=f"--listen {config['listen']}")
    service.addService(listener)  # type: ignore[no-untyped-call]  # Twisted's MultiService is unannotated
    return service
