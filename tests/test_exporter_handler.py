"""
Tests for L{welcome_protocol.exporter.handler}: a scrape's parameters, its
deadline and its metrics, with a fake clock and fake probers.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import cast

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, LogEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.exporter.counters import ExporterCounters
from welcome_protocol.exporter.handler import (
    BadRequest,
    Scrape,
    ScrapeRequest,
    parseRequest,
    scrapeTimeout,
)
from welcome_protocol.exporter.modules import Module
from welcome_protocol.exporter.outcome import PortOutcome, ProbeContext
from welcome_protocol.exporter.portlist import ProbeSlots
from welcome_protocol.exporter.probing import ProbeResult
from welcome_protocol.exporter.targets import AllowedTargets

MODULES = {
    "fast": Module("fast", "tcp", 2.0),
    "open": Module("open", "tcp"),
}


def args(**values: str) -> dict[bytes, list[bytes]]:
    """
    @return: A query's parameters as twisted.web gives them.
    """
    return {k.encode(): [v.encode()] for k, v in values.items()}


class ScrapeTimeoutTests(TestCase):
    """
    blackbox_exporter's C{getTimeout}.
    """

    def test_moduleShorter(self) -> None:
        """
        The module's timeout, when shorter than the scrape's less the offset.
        """
        self.assertEqual(scrapeTimeout("10", MODULES["fast"], 0.5), 2.0)

    def test_scrapeShorter(self) -> None:
        """
        The scrape's timeout less the offset, when shorter.
        """
        self.assertEqual(scrapeTimeout("1.5", MODULES["fast"], 0.5), 1.0)

    def test_noModuleTimeout(self) -> None:
        """
        A module without a timeout takes the scrape's (120 s if not sent).
        """
        self.assertEqual(scrapeTimeout(None, MODULES["open"], 0.5), 119.5)
        self.assertEqual(scrapeTimeout("3", MODULES["open"], 0.5), 2.5)

    def test_longScrapeCapped(self) -> None:
        """
        A scrape timeout above 120 s counts as 120 s: the site keeps a
        connection no longer for a module without a timeout.
        """
        self.assertEqual(scrapeTimeout("600", MODULES["open"], 0.5), 119.5)
        self.assertEqual(scrapeTimeout("600", MODULES["fast"], 0.5), 2.0)

    def test_badHeader(self) -> None:
        """
        A header that is not a positive number is a 400, quoted escaped.
        """
        for text in ("soon", "-1", "0", "nan", "inf", "\x1b[31m"):
            with self.assertRaises(BadRequest, msg=text) as caught:
                scrapeTimeout(text, MODULES["fast"], 0.5)
            self.assertEqual(caught.exception.code, 400)
            self.assertTrue(str(caught.exception).isprintable())


class ParseRequestTests(TestCase):
    """
    A C{/probe} request's parameters.
    """

    def parse(self, **values: str) -> ScrapeRequest:
        """
        Parse C{values} as a query.
        """
        return parseRequest(args(**values), None, MODULES, None, 10)

    def assertRefused(self, code: int, words: str, **values: str) -> None:
        """
        Assert the query is refused with C{code}, in one printable line.
        """
        with self.assertRaises(BadRequest) as caught:
            self.parse(**values)
        self.assertEqual(caught.exception.code, code)
        self.assertIn(words, str(caught.exception))
        self.assertTrue(str(caught.exception).isprintable())

    def test_good(self) -> None:
        """
        A target and a module make a one-port scrape.
        """
        request = self.parse(target="127.0.0.1:22", module="fast", debug="true")
        self.assertEqual((request.host, request.ports), ("127.0.0.1", (22,)))
        self.assertTrue(request.debug)
        self.assertFalse(request.portList)

    def test_bad(self) -> None:
        """
        A missing or unknown module, a missing or bad target: 400.
        """
        self.assertRefused(400, "module parameter is missing", target="h:1")
        self.assertRefused(400, "unknown module '<b>\\n'", target="h:1", module="<b>\n")
        self.assertRefused(400, "target parameter is missing", module="fast")
        self.assertRefused(400, "has no port", target="h", module="fast")

    def test_portList(self) -> None:
        """
        C{ports=} and C{expect_closed=}: every port, in order, once.
        """
        request = self.parse(
            target="h", module="fast", ports="22,80-81", expect_closed="23,80"
        )
        self.assertEqual(request.ports, (22, 80, 81, 23))
        self.assertEqual(request.expectClosed, frozenset({23, 80}))
        self.assertTrue(request.portList)

    def test_portListOverCap(self) -> None:
        """
        More ports than the cap: 400, naming both numbers.
        """
        self.assertRefused(
            400,
            "11 ports asked for; at most 10",
            target="h",
            module="fast",
            ports="1-11",
        )
        self.assertRefused(400, "bad port list", target="h", module="fast", ports="1-x")
        self.assertRefused(400, "not both", target="h:1", module="fast", ports="2")

    def test_forbidden(self) -> None:
        """
        A target outside C{--allow-targets}: 403.
        """
        allowed = AllowedTargets.parse(["127.0.0.0/8"])
        parseRequest(
            args(target="127.0.0.1:1", module="fast"), None, MODULES, allowed, 10
        )
        with self.assertRaises(BadRequest) as caught:
            parseRequest(
                args(target="10.0.0.1:1", module="fast"), None, MODULES, allowed, 10
            )
        self.assertEqual(caught.exception.code, 403)


class _FakeProbers:
    """
    Probers whose outcomes the test decides, by port.
    """

    def __init__(self) -> None:
        self.pending: dict[int, Deferred[PortOutcome]] = {}
        self.contexts: list[ProbeContext] = []

    async def probe(
        self, context: ProbeContext, host: str, address: str, port: int
    ) -> PortOutcome:
        self.contexts.append(context)
        waiting: Deferred[PortOutcome] = Deferred()
        self.pending[port] = waiting
        return await waiting

    def answer(self, port: int, success: bool, state: str = "welcomed") -> None:
        self.pending.pop(port).callback(
            PortOutcome(success, state, ProbeResult(None if success else "refused"))
        )


def metrics(scrape: Scrape) -> Mapping[str, float]:
    """
    @return: The scrape's samples, by name and labels.
    """
    samples = {}
    for family in text_string_to_metric_families(
        generate_latest(scrape.registry).decode()
    ):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = (
                sample.value
            )
    return samples


class ScrapeTests(TestCase):
    """
    A scrape's probes, deadline and metrics.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.probers = _FakeProbers()
        self.slots = ProbeSlots(2)
        self.counters = ExporterCounters()

    def scrape(self, **values: str) -> Scrape:
        request = parseRequest(args(**values), None, MODULES, None, 100)
        return Scrape(
            cast(ClientReactor, self.clock),
            request,
            self.slots,
            self.counters,
            self.clock.seconds,
            {"tcp": self.probers.probe},
        )

    def test_success(self) -> None:
        """
        A port that answers: C{probe_success} 1, the duration by the clock.
        """
        scrape = self.scrape(target="127.0.0.1:22", module="fast")
        done = scrape.run()
        self.clock.advance(0.25)
        self.probers.answer(22, True)
        self.successResultOf(done)
        found = metrics(scrape)
        self.assertEqual(found["probe_success"], 1)
        self.assertEqual(found["probe_duration_seconds"], 0.25)
        self.assertEqual(found["probe_ip_protocol"], 4)
        self.assertEqual(found["probe_failed_due_to_regex"], 0)
        self.assertEqual(self.counters.scrapes["fast", "success"], 1)

    def test_deadline(self) -> None:
        """
        A probe that never ends is cancelled at the deadline, and the scrape
        answered as failed then, not later.
        """
        scrape = self.scrape(target="127.0.0.1:22", module="fast")
        done = scrape.run()
        self.clock.advance(1.999)
        self.assertNoResult(done)
        self.clock.advance(0.001)
        self.successResultOf(done)
        self.assertEqual(metrics(scrape)["probe_success"], 0)
        self.assertIn("Timed out", scrape.log.text())
        self.assertEqual(self.slots.inFlight, 0)

    def test_probeGivenWhatIsLeft(self) -> None:
        """
        A probe that waited for a slot is given what is left of the
        deadline (less the margin), not the whole timeout.
        """
        first = self.scrape(target="127.0.0.1", module="fast", ports="1-3")
        first.run()
        self.assertEqual(sorted(self.probers.pending), [1])
        self.clock.advance(0.5)
        self.probers.answer(1, True)
        self.assertEqual(self.probers.contexts[-1].timeout, 1.5 - 0.05)

    def test_portList(self) -> None:
        """
        One series per port; C{probe_success} only if every port is as
        expected (a refused port expected closed is).
        """
        scrape = self.scrape(
            target="127.0.0.1", module="fast", ports="22", expect_closed="23"
        )
        done = scrape.run()
        self.probers.answer(22, True)
        self.probers.answer(23, False, "refused")
        self.successResultOf(done)
        found = metrics(scrape)
        self.assertEqual(found["probe_success"], 1)
        self.assertEqual(found["probe_port_success{port=22}"], 1)
        self.assertEqual(found["probe_port_success{port=23}"], 1)
        self.assertEqual(
            found["probe_port_state_info{expected=closed,port=23,state=refused}"], 1
        )

    def test_portListOneWrong(self) -> None:
        """
        One port not as expected fails the scrape.
        """
        scrape = self.scrape(target="127.0.0.1", module="fast", ports="22,80")
        done = scrape.run()
        self.probers.answer(22, True)
        self.probers.answer(80, False, "refused")
        self.successResultOf(done)
        found = metrics(scrape)
        self.assertEqual(found["probe_success"], 0)
        self.assertEqual(found["probe_port_success{port=80}"], 0)

    def test_slotsSharedAndReleased(self) -> None:
        """
        Scrapes share the cap, a port list taking at most half of it: a
        single-port scrape starts at once beside a port list, a third scrape
        waits until a slot is free, and every slot comes back.
        """
        one = self.scrape(target="127.0.0.1", module="fast", ports="1,2").run()
        self.assertEqual(sorted(self.probers.pending), [1])
        two = self.scrape(target="127.0.0.1:3", module="fast").run()
        three = self.scrape(target="127.0.0.1:4", module="fast").run()
        self.assertEqual(sorted(self.probers.pending), [1, 3])
        self.assertEqual((self.slots.inFlight, self.slots.waiting), (2, 1))
        self.probers.answer(3, True)
        self.assertEqual(sorted(self.probers.pending), [1, 4])
        for port in (1, 4, 2):
            self.probers.answer(port, True)
        for done in (one, two, three):
            self.successResultOf(done)
        self.assertEqual(self.slots.inFlight, 0)

    def test_waitingForSlotTimesOut(self) -> None:
        """
        A scrape whose probe waits for a slot past its deadline is answered
        at its deadline, and leaves the slots as they were.
        """
        self.scrape(target="127.0.0.1:1", module="fast").run()
        self.scrape(target="127.0.0.1:2", module="fast").run()
        waiting = self.scrape(target="127.0.0.1:3", module="fast")
        done = waiting.run()
        self.clock.advance(2)
        self.successResultOf(done)
        self.assertEqual(metrics(waiting)["probe_success"], 0)
        self.assertEqual(self.slots.waiting, 0)

    def test_portListDeadline(self) -> None:
        """
        At the deadline, a port list's unfinished ports are cancelled and
        shown as C{unfinished}; the finished ones keep their result.
        """
        scrape = self.scrape(target="127.0.0.1", module="fast", ports="1,2")
        done = scrape.run()
        self.probers.answer(1, True)
        self.clock.advance(2)
        self.successResultOf(done)
        found = metrics(scrape)
        self.assertEqual(found["probe_success"], 0)
        self.assertEqual(found["probe_port_success{port=1}"], 1)
        self.assertEqual(found["probe_port_success{port=2}"], 0)
        self.assertEqual(
            found["probe_port_state_info{expected=open,port=2,state=unfinished}"], 1
        )
        self.assertIn("Timed out", scrape.log.text())
        self.assertEqual(self.slots.inFlight, 0)

    def test_abandonedScrapesCollectedQuietly(self) -> None:
        """
        Scrapes dropped while their probes wait for a slot or an answer (a
        test's clock thrown away, a service stopped mid-scrape) are garbage
        collected without resuming one another: a slot given back from a
        coroutine's C{finally} block, which the collector runs, used to
        resume another scrape's coroutine that it had closed already, and
        the scrape logged "a probe failed with an error: cannot reuse
        already awaited coroutine" during whatever ran next.
        """
        errors: list[LogEvent] = []

        def onError(event: LogEvent) -> None:
            if event.get("isError") or "log_failure" in event:
                errors.append(event)

        observer = cast(ILogObserver, onError)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)

        def abandon() -> None:
            # Everything made here is garbage once this returns.
            slots = ProbeSlots(1)
            probers = _FakeProbers()
            clock = Clock()
            request = parseRequest(
                args(target="127.0.0.1", module="fast", ports="1,2,3,4,5,6"),
                None,
                MODULES,
                None,
                100,
            )
            for _ in range(3):
                Scrape(
                    cast(ClientReactor, clock),
                    request,
                    slots,
                    ExporterCounters(),
                    clock.seconds,
                    {"tcp": probers.probe},
                ).run()

        abandon()
        gc.collect()
        self.assertEqual(errors, [])

    def test_proberErrorLogged(self) -> None:
        """
        A prober that raises (a bug) fails the scrape, which is answered,
        and the error is logged.
        """

        async def broken(*args: object) -> PortOutcome:
            raise ZeroDivisionError("bug")

        request = parseRequest(
            args(target="127.0.0.1:1", module="fast"), None, MODULES, None, 10
        )
        scrape = Scrape(
            cast(ClientReactor, self.clock),
            request,
            self.slots,
            self.counters,
            self.clock.seconds,
            {"tcp": broken},
        )
        self.successResultOf(scrape.run())
        self.assertEqual(metrics(scrape)["probe_success"], 0)
        self.assertIn("err=bug", scrape.log.text())
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
