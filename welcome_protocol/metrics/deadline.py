# -*- test-case-name: tests.test_metrics_deadline -*-
"""
C{--metrics-deadline SECONDS}: how long a connection to the metrics port
may last, from accept to its end.

Kept apart from L{welcome_protocol.metrics.boundedhttp}, which imports
twisted.web: the option is parsed by every C{twistd welcome}, with
C{--metrics} or without, and a service without it loads neither
twisted.web nor prometheus_client.
"""

from __future__ import annotations

from welcome_protocol.shared.commandline import parsePositive

REQUEST_DEADLINE = 5.0
"""
Seconds from accept to the end of a scraper's connection, at most, by
default.  Prometheus on loopback or a LAN needs milliseconds; its default
scrape timeout is 10 s.
"""

MAX_REQUEST_DEADLINE = 60.0
"""
The longest C{--metrics-deadline}: a deadline is always there (there is no
"never"), and one longer than Prometheus's longest sensible scrape timeout
bounds nothing.
"""


def parseMetricsDeadline(text: object) -> float:
    """
    Read C{--metrics-deadline}.

    @param text: What the user wrote.
    @return: The seconds, from 0.001 to L{MAX_REQUEST_DEADLINE}.
    @raise usage.UsageError: Naming the option, the range and the bad value.
    """
    return parsePositive("--metrics-deadline", text, float, MAX_REQUEST_DEADLINE)
