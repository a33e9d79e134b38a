"""
Tests for L{welcome_protocol.client.judge}: one table of cases, judged by
each of the three Nagios modes.

As Twisted's C{ReactorBuilder.makeTestCaseClasses} makes one test class per
reactor from a class written once, L{JudgeTestsBuilder.makeTestCaseClasses}
makes one per mode (C{--nagios}, a scan's C{--nagios}, C{check_welcome}):
every mode must give every case the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
from twisted.trial.unittest import SynchronousTestCase, TestCase

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH
from welcome_protocol.client.checktcp.output import Where, checkLine
from welcome_protocol.client.judge import (
    CRITICAL,
    OK,
    STATE_NAMES,
    WARNING,
    NagiosPolicy,
    oneLine,
    resultState,
    timeState,
)
from welcome_protocol.client.output.nagios import judge
from welcome_protocol.client.probe import (
    CLOSED_WITHOUT_WELCOME,
    DNS,
    REFUSED,
    TIMEOUT,
    TLS,
    UNREACHABLE,
    ProbeResult,
)
from welcome_protocol.client.scan.nagios import judgeScan
from welcome_protocol.client.scan.plan import PortCheck
from welcome_protocol.client.scan.scanner import PortResult
from welcome_protocol.client.scan.summary import ScanSummary
from welcome_protocol.client.target import Target
from welcome_protocol.client.thresholds import Range

SLOW = Range.parse("0.5")
"""
Alerts above half a second: every answered case takes a second.
"""
FAST = Range.parse("5")


def _answered(kind: str | None, welcome: bytes = b"Welcome!|x\n") -> ProbeResult:
    """
    A result with a welcome that took one second, connect included.
    """
    return ProbeResult(
        kind,
        f"{kind} from 127.0.0.1:12000",
        f"{kind} | reason",
        "127.0.0.1",
        connectSeconds=0.5,
        welcomeSeconds=0.5,
        welcome=welcome,
        certificateLevel=None,
    )


def _certificate(level: str) -> ProbeResult:
    return attrs.evolve(_answered(CERTIFICATE), certificateLevel=level)


def _failed(kind: str) -> ProbeResult:
    return ProbeResult(kind, f"{kind}: it\nbroke", f"{kind} | reason")


@attrs.frozen
class Case:
    """
    One row of the table.

    @ivar name: The test's name.
    @ivar result: The checked probe result.
    @ivar policy: The thresholds and states asked for.
    @ivar state: The state every mode must give.
    """

    name: str
    result: ProbeResult
    policy: NagiosPolicy
    state: int


CASES = [
    Case("welcomed", _answered(None), NagiosPolicy(), OK),
    Case("welcomedFastEnough", _answered(None), NagiosPolicy(warning=FAST), OK),
    Case("welcomedSlowWarns", _answered(None), NagiosPolicy(warning=SLOW), WARNING),
    Case(
        "criticalBeforeWarning",
        _answered(None),
        NagiosPolicy(warning=SLOW, critical=SLOW),
        CRITICAL,
    ),
    Case(
        "warningRangeOnly",
        _answered(None),
        NagiosPolicy(warning=SLOW, critical=FAST),
        WARNING,
    ),
    Case("mismatchWarnsByDefault", _answered(MISMATCH), NagiosPolicy(), WARNING),
    Case(
        "mismatchCritical",
        _answered(MISMATCH),
        NagiosPolicy(mismatch=CRITICAL),
        CRITICAL,
    ),
    Case("mismatchOK", _answered(MISMATCH), NagiosPolicy(mismatch=OK), OK),
    Case(
        "mismatchStateReplacesWarningTime",
        _answered(MISMATCH),
        NagiosPolicy(warning=SLOW, mismatch=OK),
        OK,
    ),
    Case(
        "criticalTimeBeatsMismatch",
        _answered(MISMATCH),
        NagiosPolicy(critical=SLOW),
        CRITICAL,
    ),
    Case(
        "criticalTimeBeatsMismatchOK",
        _answered(MISMATCH),
        NagiosPolicy(critical=SLOW, mismatch=OK),
        CRITICAL,
    ),
    Case("certificateWarns", _certificate("warning"), NagiosPolicy(), WARNING),
    Case("certificateCritical", _certificate("critical"), NagiosPolicy(), CRITICAL),
    Case(
        "criticalTimeBeatsCertificateWarning",
        _certificate("warning"),
        NagiosPolicy(critical=SLOW),
        CRITICAL,
    ),
    Case(
        "certificateRaisesAWarningTime",
        _certificate("critical"),
        NagiosPolicy(warning=SLOW),
        CRITICAL,
    ),
    Case("refusedCritical", _failed(REFUSED), NagiosPolicy(), CRITICAL),
    Case("refusedWarn", _failed(REFUSED), NagiosPolicy(refused=WARNING), WARNING),
    Case("refusedOK", _failed(REFUSED), NagiosPolicy(refused=OK), OK),
    Case(
        "refusedIgnoresMismatchState",
        _failed(REFUSED),
        NagiosPolicy(mismatch=OK),
        CRITICAL,
    ),
    Case("timeout", _failed(TIMEOUT), NagiosPolicy(refused=OK, mismatch=OK), CRITICAL),
    Case(
        "closedWithoutWelcome",
        _failed(CLOSED_WITHOUT_WELCOME),
        NagiosPolicy(),
        CRITICAL,
    ),
    Case("dns", _failed(DNS), NagiosPolicy(), CRITICAL),
    Case("tls", _failed(TLS), NagiosPolicy(), CRITICAL),
    Case("unreachable", _failed(UNREACHABLE), NagiosPolicy(), CRITICAL),
]


Judge = Callable[[ProbeResult, NagiosPolicy], "tuple[int, str]"]


def _single(result: ProbeResult, policy: NagiosPolicy) -> tuple[int, str]:
    return judge(Target("127.0.0.1:12000", "127.0.0.1", 12000), result, policy)


def _checkWelcome(result: ProbeResult, policy: NagiosPolicy) -> tuple[int, str]:
    return checkLine(Where("127.0.0.1", 12000), result, policy, False)


def _scan(result: ProbeResult, policy: NagiosPolicy) -> tuple[int, str]:
    port = PortResult(
        PortCheck(0, "127.0.0.1", 12000, False),
        "127.0.0.1",
        result,
        result.totalSeconds or 0.0,
    )
    return judgeScan(ScanSummary.of([port], 1.0, False), policy)


MODES: dict[str, Judge] = {
    "Single": _single,
    "CheckWelcome": _checkWelcome,
    "Scan": _scan,
}


def _caseTest(case: Case) -> Callable[[JudgeTestsBuilder], None]:
    def test(self: JudgeTestsBuilder) -> None:
        state, line = self.judgeOne(case.result, case.policy)
        self.assertEqual(
            (STATE_NAMES[state], line.split(" - ")[0]),
            (STATE_NAMES[case.state], f"WELCOME {STATE_NAMES[case.state]}"),
            line,
        )
        text, _, perfdata = line.partition("|")
        self.assertNotIn("\n", line)
        self.assertNotIn("|", perfdata)
        self.assertEqual(text, oneLine(text))

    test.__name__ = f"test_{case.name}"
    test.__doc__ = (
        f"Case {case.name!r}: the mode gives {STATE_NAMES[case.state]}, on "
        "one line whose text has no pipe."
    )
    return test


if TYPE_CHECKING:
    _Mixin = SynchronousTestCase
else:
    # At run time a plain mixin, so trial does not collect it as a test.
    _Mixin = object


class JudgeTestsBuilder(_Mixin):
    """
    The table's cases, written once; L{makeTestCaseClasses} makes a test
    class of them for each mode.

    @ivar mode: The name of the mode.
    """

    mode = ""

    def judgeOne(self, result: ProbeResult, policy: NagiosPolicy) -> tuple[int, str]:
        """
        Judge C{result} as the mode does.
        """
        return MODES[self.mode](result, policy)

    @classmethod
    def makeTestCaseClasses(cls) -> dict[str, type[SynchronousTestCase]]:
        """
        @return: One L{SynchronousTestCase} class per mode, by name.
        """
        classes: dict[str, type[SynchronousTestCase]] = {}
        for mode in MODES:
            name = f"{mode}JudgeTests"
            testcase = type(
                name,
                (cls, SynchronousTestCase),
                {"mode": mode, "__module__": cls.__module__},
            )
            classes[name] = testcase
        return classes


for _case in CASES:
    setattr(JudgeTestsBuilder, f"test_{_case.name}", _caseTest(_case))

globals().update(JudgeTestsBuilder.makeTestCaseClasses())


class JudgeTableTests(TestCase):
    """
    The table itself, and the judge's parts the modes share.
    """

    def test_everyModeBuilt(self) -> None:
        """
        There is one test class per mode, each with every case.
        """
        for mode in MODES:
            testcase = globals()[f"{mode}JudgeTests"]
            for case in CASES:
                self.assertTrue(callable(getattr(testcase, f"test_{case.name}")))

    def test_timeStateCriticalFirst(self) -> None:
        """
        L{timeState} checks the critical range before the warning one, and
        judges nothing without a time.
        """
        policy = NagiosPolicy(warning=SLOW, critical=SLOW)
        self.assertEqual(timeState(1.0, policy), CRITICAL)
        self.assertEqual(timeState(None, policy), OK)
        self.assertEqual(timeState(0.1, policy), OK)

    def test_resultStateWithoutTime(self) -> None:
        """
        Given no time (a scan judges its welcomes' times together), a
        welcome is OK and a mismatch takes its state.
        """
        policy = NagiosPolicy(critical=SLOW)
        self.assertEqual(resultState(_answered(None), policy, None), OK)
        self.assertEqual(resultState(_answered(MISMATCH), policy, None), WARNING)

    def test_oneLine(self) -> None:
        """
        L{oneLine} joins lines and escapes the pipe.
        """
        self.assertEqual(oneLine("a |b\n c"), "a \\x7cb c")
