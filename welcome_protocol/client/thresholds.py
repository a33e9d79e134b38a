# -*- test-case-name: tests.test_client_thresholds -*-
"""
Threshold ranges as the monitoring-plugins developer guidelines define them.

C{10} alerts outside 0..10, C{10:} below 10, C{~:10} above 10, C{10:20}
outside 10..20, and C{@10:20} inside 10..20; the end points are always
inside the range.
"""

from __future__ import annotations

import math
import re

import attrs

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)"
_RANGE = re.compile(
    rf"\A(?P<inside>@)?(?:(?P<start>~|{_NUMBER})?:)?(?P<end>{_NUMBER})?\Z"
)


@attrs.frozen
class Range:
    """
    A threshold range.

    @ivar start: The lowest value that does not alert (C{-inf} for C{~}).
    @ivar end: The highest value that does not alert (C{inf} if open).
    @ivar inside: Alert inside the range instead (the C{@} prefix).
    """

    start: float = 0.0
    end: float = math.inf
    inside: bool = False

    @classmethod
    def parse(cls, text: str) -> Range:
        """
        Read a range in the guidelines' syntax.

        @raise ValueError: For anything else, or a start above the end.
        """
        found = _RANGE.match(text.strip())
        if not text.strip() or found is None or text.strip() in ("@", ":", "@:"):
            raise ValueError(f"{text!r} is not a range such as 10, 10:, ~:10 or @10:20")
        startText, endText = found.group("start"), found.group("end")
        if startText is None and endText is None:
            raise ValueError(f"{text!r} is not a range such as 10, 10:, ~:10 or @10:20")
        start = -math.inf if startText == "~" else float(startText or 0)
        end = math.inf if endText is None else float(endText)
        if start > end:
            raise ValueError(f"{text!r}: the start is above the end")
        return cls(start, end, bool(found.group("inside")))

    def alerts(self, value: float) -> bool:
        """
        @return: Whether C{value} raises the alert.
        """
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        """
        The range for performance data: C{10.000000} for a plain end, the
        full syntax otherwise (the number format C{check_tcp} uses).
        """
        prefix = "@" if self.inside else ""
        end = "" if math.isinf(self.end) else f"{self.end:f}"
        if self.start == 0 and not self.inside:
            return f"{end}" if end else "0.000000:"
        start = "~" if math.isinf(self.start) else f"{self.start:f}"
        return f"{prefix}{start}:{end}"
