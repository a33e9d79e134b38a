# -*- test-case-name: tests.test_tap -*-
"""
The C{twistd welcome} command: its options and the service they describe.

The options live in L{welcome_protocol.configuration.options} and the service
tree in L{welcome_protocol.service.tree}; the dropin names this module, so
it keeps both names.
"""

from __future__ import annotations

from typing import cast

from twisted.application.service import IService

from welcome_protocol.configuration.options import Options
from welcome_protocol.configuration.startup import programName
from welcome_protocol.service.tree import ServiceReactor, buildServiceTree

__all__ = ["Options", "makeService"]


def makeService(config: Options, reactor: ServiceReactor | None = None) -> IService:
    """
    Build the welcome service described by parsed C{config}.

    @param config: Parsed L{Options}.
    @param reactor: The reactor to listen with (and to resolve this host's
        name with); the global one by default.
    @return: A service that listens when started and explains in one line
        if it cannot.
    """
    if reactor is None:
        # Imported here, not at the top: importing the global reactor
        # installs it, and twistd installs the one the user chose first.
        from twisted.internet import reactor as globalReactor

        reactor = cast(ServiceReactor, globalReactor)
    return buildServiceTree(config.settings, reactor, program=programName())
