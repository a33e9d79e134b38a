# -*- test-case-name: tests.test_exporter_scrapelog -*-
"""
The log of one probe, as C{?debug=true} shows it.

Each line is a time (seconds since the scrape began), a level and a
message whose values are escaped (L{printable}): a target, a module name or
a reply from the far side can hold a newline or an escape sequence, and
would otherwise forge lines in the page, or drive the reader's terminal.
"""

from __future__ import annotations

from collections.abc import Callable

from welcome_protocol.shared.addresses import printable

MAX_LINES = 200
"""
Lines kept per probe: a port list logs a few lines per port.
"""

MAX_VALUE = 200
"""
Characters kept of one value.
"""


def shown(value: object) -> str:
    """
    @return: C{value} as text for a log line: escaped and cut.
    """
    if isinstance(value, bytes):
        text = repr(value[:MAX_VALUE])
    else:
        text = printable(str(value)[:MAX_VALUE])
    return text


class ScrapeLog:
    """
    Lines about one scrape, kept in memory (at most L{MAX_LINES}).

    @ivar lines: The lines so far.
    """

    def __init__(self, now: Callable[[], float]) -> None:
        """
        @param now: A monotonic clock.
        """
        self._now = now
        self._started = now()
        self.lines: list[str] = []
        self._dropped = 0

    def log(self, level: str, message: str, **values: object) -> None:
        """
        Add a line: C{message}, then C{key=value} for each value, escaped.
        """
        if len(self.lines) >= MAX_LINES:
            self._dropped += 1
            return
        fields = "".join(f" {key}={shown(value)}" for key, value in values.items())
        elapsed = self._now() - self._started
        self.lines.append(f"{elapsed:9.6f}s level={level} msg={shown(message)}{fields}")

    def info(self, message: str, **values: object) -> None:
        """
        Add an informational line.
        """
        self.log("info", message, **values)

    def error(self, message: str, **values: object) -> None:
        """
        Add a line about a failure.
        """
        self.log("error", message, **values)

    def text(self) -> str:
        """
        @return: Every line, and how many more were dropped.
        """
        lines = list(self.lines)
        if self._dropped:
            lines.append(f"({self._dropped} more lines not kept)")
        return "\n".join(lines) + "\n"
