"""
Tests for L{welcome_protocol.client.thresholds}: the monitoring-plugins
developer guidelines' range syntax.
"""

from __future__ import annotations

import math

from twisted.trial.unittest import TestCase

from welcome_protocol.client.thresholds import Range


class RangeTests(TestCase):
    """
    Each form of the guidelines' table alerts where they say it does.
    """

    def assertAlerts(
        self, text: str, alerting: list[float], quiet: list[float]
    ) -> None:
        """
        C{text} alerts for every value of C{alerting} and none of C{quiet}.
        """
        parsed = Range.parse(text)
        self.assertEqual([parsed.alerts(v) for v in alerting], [True] * len(alerting))
        self.assertEqual([parsed.alerts(v) for v in quiet], [False] * len(quiet))

    def test_plainEnd(self) -> None:
        """
        C{10}: alert below 0 or above 10; both ends are inside.
        """
        self.assertAlerts("10", [-0.1, 10.001], [0, 5, 10])

    def test_openEnd(self) -> None:
        """
        C{10:}: alert below 10.
        """
        self.assertAlerts("10:", [9.99, 0], [10, 1e9])

    def test_negativeInfinity(self) -> None:
        """
        C{~:10}: alert above 10.
        """
        self.assertAlerts("~:10", [10.5], [-1e9, 10])

    def test_bothEnds(self) -> None:
        """
        C{10:20}: alert outside 10..20.
        """
        self.assertAlerts("10:20", [9, 21], [10, 15, 20])

    def test_inside(self) -> None:
        """
        C{@10:20}: alert inside 10..20, ends included.
        """
        self.assertAlerts("@10:20", [10, 15, 20], [9.9, 20.1])

    def test_fractions(self) -> None:
        """
        Response times are fractions of a second: C{0.5} and C{.25} work.
        """
        self.assertEqual(Range.parse("0.5"), Range(0, 0.5))
        self.assertEqual(Range.parse(".25:"), Range(0.25, math.inf))

    def test_badRanges(self) -> None:
        """
        Anything else, and a start above the end, raise L{ValueError}.
        """
        for bad in ["", "x", "@", ":", "1:2:3", "~", "10:5", "1,2", "@:"]:
            self.assertRaises(ValueError, Range.parse, bad)

    def test_performanceDataForm(self) -> None:
        """
        In performance data a plain end is a number as C{check_tcp} prints
        it; other forms keep their syntax.
        """
        self.assertEqual(str(Range.parse("1")), "1.000000")
        self.assertEqual(str(Range.parse("10:")), "10.000000:")
        self.assertEqual(str(Range.parse("~:2")), "~:2.000000")
        self.assertEqual(str(Range.parse("@1:2")), "@1.000000:2.000000")
        self.assertEqual(str(Range.parse("@2")), "@0.000000:2.000000")
