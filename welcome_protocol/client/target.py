# -*- test-case-name: tests.test_client_target -*-
"""
Where to connect: C{HOST:PORT} arguments, C{-4}/C{-6}, and the endpoint.

L{HostnameEndpoint} resolves without blocking and tries every address a
name has; to keep it to one address family, it is given a reactor whose
name resolver asks only for that family.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

import attrs
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from zope.interface import implementer

FAMILIES: dict[int, type[IAddress]] = {4: IPv4Address, 6: IPv6Address}


def splitHostPort(text: str) -> tuple[str, str | None]:
    """
    Split a positional C{HOST:PORT}, C{[::1]:12000}, C{[::1]} or C{HOST}.

    A bare IPv6 address (more than one colon, no brackets) is a host.

    @return: The host and the port's text (L{None} if not given).
    @raise ValueError: For an unclosed bracket or text after it.
    """
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not HOST, HOST:PORT or [ADDRESS]:PORT")
        return host, rest[1:] if rest else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, port
    return text, None


def addressFamily(host: str) -> int | None:
    """
    @return: 4 or 6 if C{host} is an IP address of that version, else L{None}.
    """
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return None


@attrs.frozen
class Target:
    """
    The server, as the output names it.

    @ivar label: C{host:port}, or the C{--connect} description.
    @ivar host: The host name or address, or L{None} with C{--connect}.
    @ivar port: The port, or L{None} with C{--connect}.
    @ivar transport: C{tcp}, or C{udp} with C{--udp}.
    """

    label: str
    host: str | None = None
    port: int | None = None
    transport: str = "tcp"


def describeTarget(host: str, port: int) -> str:
    """
    @return: C{host:port}, with an IPv6 address in brackets.
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@implementer(IHostnameResolver)
class _OneFamilyResolver:
    """
    Ask the real resolver for addresses of one family only.
    """

    def __init__(self, resolver: IHostnameResolver, family: type[IAddress]) -> None:
        self._resolver = resolver
        self._family = family

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        Resolve C{hostName} to addresses of the chosen family.
        """
        return self._resolver.resolveHostName(
            resolutionReceiver,
            hostName,
            portNumber,
            [self._family],
            transportSemantics,
        )


@implementer(IReactorPluggableNameResolver)
class _OneFamilyReactor:
    """
    The reactor, as a L{HostnameEndpoint} sees it, with a name resolver
    limited to one family; everything else is the real reactor's.
    """

    def __init__(self, reactor: Any, family: type[IAddress]) -> None:
        self._reactor = reactor
        self.nameResolver = _OneFamilyResolver(reactor.nameResolver, family)

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """
        Not used: the endpoint only reads C{nameResolver}.
        """
        raise NotImplementedError("installNameResolver")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)


def hostEndpoint(
    reactor: Any,
    host: str,
    port: int,
    timeout: float,
    family: int | None = None,
    tlsOptions: Any = None,
) -> IStreamClientEndpoint:
    """
    The endpoint for C{--host}/C{--port}.

    @param family: 4 or 6 to use only that address family.
    @param tlsOptions: A connection creator (L{tls.clientTLSOptions}) to
        speak TLS over the connection, or L{None}.
    """
    if family is not None:
        reactor = _OneFamilyReactor(reactor, FAMILIES[family])
    endpoint: IStreamClientEndpoint = HostnameEndpoint(
        reactor, host.encode("idna"), port, timeout=timeout
    )
    if tlsOptions is not None:
        endpoint = wrapClientTLS(tlsOptions, endpoint)
    return endpoint
