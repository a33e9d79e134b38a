# -*- test-case-name: tests.test_client_scan_progress -*-
"""
The progress of a long scan, on a terminal: ports done out of the total,
the states so far, and the time left, on one line of stderr rewritten in
place.

Twenty silent ports at C{--parallel 2 -t 1} left the terminal blank for
ten seconds; ten thousand filtered ports at C{-t 10} would leave it blank
for minutes.  The line is written only when stderr is a terminal, so pipes
and logs get nothing but the results; stdout is never touched.  No
progress-bar library fits here (they draw from loops or threads; the scan
reports results from the reactor), and the line is a few lines of code.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from welcome_protocol.client.scan.scanner import PortResult

MIN_INTERVAL = 0.2
"""
The fewest seconds between two redraws: a fast scan does not spend its time
writing to the terminal.
"""


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """
    Redraw one line on a terminal as each port's result comes.
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        now: Callable[[], float] = time.monotonic,
        interval: float = MIN_INTERVAL,
    ) -> None:
        """
        @param stream: The terminal (stderr).
        @param total: How many port checks the scan makes.
        @param now: A monotonic clock.
        @param interval: The fewest seconds between redraws.
        """
        self._stream = stream
        self._total = total
        self._now = now
        self._interval = interval
        self._started = now()
        self._drawnAt: float | None = None
        self._states: Counter[str] = Counter()
        self._done = 0
        self._shown = False

    @classmethod
    def onTerminal(cls, stream: TextIO, total: int) -> Progress | None:
        """
        @return: A L{Progress} on C{stream} if it is a terminal, else
            L{None}: nothing is drawn into pipes and files.
        """
        isatty = getattr(stream, "isatty", None)
        if isatty is None or not isatty():
            return None
        return cls(stream, total)

    def line(self) -> str:
        """
        @return: The progress line, e.g. C{12/300 ports: 10 welcomed, 2
            timeout; about 1 min 05 s left}.
        """
        states = ", ".join(f"{n} {state}" for state, n in self._states.most_common())
        text = f"{self._done}/{self._total} ports"
        if states:
            text += f": {states}"
        if 0 < self._done < self._total:
            elapsed = self._now() - self._started
            left = elapsed / self._done * (self._total - self._done)
            text += f"; about {_duration(left)} left"
        return text

    def port(self, result: PortResult) -> None:
        """
        Count C{result}; redraw if the last redraw is old enough.
        """
        self._done += 1
        self._states[result.state] += 1
        now = self._now()
        if (
            self._drawnAt is not None
            and now - self._drawnAt < self._interval
            and self._done < self._total
        ):
            return
        self._drawnAt = now
        self._stream.write("\r\x1b[K" + self.line())
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        """
        Erase the line, so the results start on a clean one.
        """
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False
