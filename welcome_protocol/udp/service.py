# -*- test-case-name: tests.test_udp_listener -*-
"""
Build the UDP listeners of a service: one port each, one rate limiter for
all of them.

The limiter is shared so that its global bucket bounds the replies of every
UDP listener together, and a source prefix has one budget whichever port
it sends to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from welcome_protocol.stats import ServerStats
from welcome_protocol.udp.description import parseUDPDescription
from welcome_protocol.udp.listener import DatagramListeningService
from welcome_protocol.udp.protocol import WelcomeDatagramProtocol, WelcomeSource
from welcome_protocol.udp.ratelimit import ReplyLimiter
from welcome_protocol.udp.settings import DatagramSettings


def datagramListeners(
    descriptions: Iterable[str],
    settings: DatagramSettings,
    reactor: Any,
    source: WelcomeSource,
    stats: ServerStats,
) -> list[DatagramListeningService]:
    """
    Make a listening service for each C{udp:} description.

    @param descriptions: The C{udp:} descriptions, already checked.
    @param settings: The limits.
    @param reactor: Listens and keeps time.
    @param source: Holds the welcome; the TCP factory, so that a reload of
        the message file reaches UDP too.
    @param stats: The counters the datagrams are counted in.
    @return: The services, not yet started or parented.
    """
    limiter = ReplyLimiter(
        reactor,
        settings.perPrefix,
        settings.overall,
        settings.tableSize,
        settings.ipv4Prefix,
        settings.ipv6Prefix,
    )
    return [
        DatagramListeningService(
            description,
            parseUDPDescription(description),
            reactor,
            WelcomeDatagramProtocol(source, limiter, stats, reactor, settings.perTurn),
            settings.maxDatagram,
        )
        for description in descriptions
    ]
