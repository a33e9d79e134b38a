# -*- test-case-name: tests.test_client_timestamps -*-
"""
The time on every record: RFC 3339, UTC, with milliseconds
(C{2026-12-08T00:58:46.123Z}), as C{ping -D} and tcping put one on each
line, so that records appended to a file (C{--json --count ... >>
probes.jsonl}) can be placed in time.
"""

from __future__ import annotations

import datetime


def rfc3339(when: datetime.datetime) -> str:
    """
    @param when: An aware time (a naive one is taken as UTC).
    @return: C{when} in UTC, to the millisecond, with a C{Z}.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    utc = when.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"
