"""
What the client needs of a reactor, as intersections of Twisted's
C{IReactor*} interfaces (as L{twisted.internet.interfaces} has no single
one): each function takes the narrowest that says what it does.
"""

from __future__ import annotations

from twisted.internet.interfaces import (
    IReactorCore,
    IReactorFromThreads,
    IReactorPluggableNameResolver,
    IReactorTCP,
    IReactorTime,
    IReactorUDP,
    IReactorUNIX,
)


class ConnectingReactor(
    IReactorTCP, IReactorUNIX, IReactorTime, IReactorPluggableNameResolver
):
    """
    What the client's stream endpoints need: to connect over TCP or a UNIX
    socket, to time the connection out, and to resolve names without
    blocking (L{twisted.internet.endpoints.HostnameEndpoint}).
    """


class UDPProbeReactor(IReactorUDP, IReactorTime, IReactorPluggableNameResolver):
    """
    What a UDP probe needs: a UDP port, timers, and a name resolver.
    """


class ClientReactor(ConnectingReactor, UDPProbeReactor, IReactorCore):
    """
    What a whole run of C{welcome-client} or C{check_welcome} needs: to
    connect, to probe UDP, and to run (its shutdown trigger prints the
    summary on Ctrl-C).
    """


class RunningReactor(ClientReactor, IReactorFromThreads):
    """
    The reactor a command runs on: a L{ClientReactor} that also takes calls
    from threads, as the name resolver's lookups answer
    (L{welcome_protocol.client.resolving}).
    """
