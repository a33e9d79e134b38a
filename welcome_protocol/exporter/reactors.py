# -*- test-case-name: tests.test_exporter_tap -*-
"""
What the exporter needs of a reactor, as an intersection of Twisted's
C{IReactor*} interfaces (L{twisted.internet.interfaces} has no single one).
"""

from __future__ import annotations

from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.listening.builder import ListenerReactor


class ExporterReactor(ClientReactor, ListenerReactor):
    """
    What a running exporter needs: to probe as the client does (connect
    over TCP, send UDP probes, resolve names, keep time) and to listen for
    scrapes through the one builder.
    """
