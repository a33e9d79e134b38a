# -*- test-case-name: tests.test_exporter_expecting -*-
"""
C{query_response}'s C{expect}, as blackbox_exporter applies it: the reply
is read line by line, and each expectation in turn consumes lines until
one matches; one that no remaining line matches fails the probe
(C{probe_failed_due_to_regex} 1).  An expectation's C{labels} become
C{probe_expect_info}'s, their values filled from the match's groups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from welcome_protocol.exporter.modules import Expect

_GROUP = re.compile(rb"\$(?:\{(\w+)\}|(\d+))")


@attrs.frozen
class ExpectOutcome:
    """
    @ivar met: Whether every expectation matched.
    @ivar failed: The pattern that did not match, if one did not.
    @ivar labels: C{probe_expect_info}'s labels.
    """

    met: bool
    failed: str | None = None
    labels: tuple[tuple[str, str], ...] = ()


def replyLines(reply: bytes) -> list[bytes]:
    """
    @return: The lines of C{reply}, without their C{\\n} or C{\\r\\n} (as
        Go's C{bufio.ScanLines} gives them).
    """
    lines = reply.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def _expand(template: str, match: re.Match[bytes]) -> str:
    def group(found: re.Match[bytes]) -> bytes:
        name = (found.group(1) or found.group(2)).decode("ascii")
        try:
            value = match.group(int(name) if name.isdigit() else name)
        except IndexError:
            return b""
        return value or b""

    expanded = _GROUP.sub(group, template.encode("utf-8"))
    return expanded.decode("utf-8", "replace")


def checkExpects(reply: bytes, expects: Sequence[Expect]) -> ExpectOutcome:
    """
    Apply C{expects} to C{reply}, in order, each on the lines after the
    previous one's match.
    """
    lines = replyLines(reply)
    position = 0
    labels: list[tuple[str, str]] = []
    for expect in expects:
        match = None
        while position < len(lines) and match is None:
            match = expect.pattern.search(lines[position])
            position += 1
        if match is None:
            return ExpectOutcome(
                False, expect.pattern.pattern.decode("utf-8", "replace")
            )
        labels.extend((name, _expand(value, match)) for name, value in expect.labels)
    return ExpectOutcome(True, None, tuple(labels))
