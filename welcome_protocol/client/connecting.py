# -*- test-case-name: tests.test_client_connecting -*-
"""
The one place the client's endpoints and TLS are set up.

A single check connects to C{--host}/C{--port} (or a C{--connect}
description), C{check_welcome} to C{-H}/C{-p} or a UNIX socket, and a scan
to each address it resolved: all three ask a L{Connector}, which applies
C{-4}/C{-6}, the timeout and C{--tls} (with C{--sni} and C{--ca-file}) the
same way for each.

L{HostnameEndpoint} resolves without blocking and tries every address a
name has; to keep it to one address family, it is given a reactor whose
name resolver asks only for that family.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    UNIXClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.python.failure import Failure
from zope.interface import implementer

from welcome_protocol.client.reactors import ConnectingReactor
from welcome_protocol.client.resolving import NameNotResolved, ThreadedResolver
from welcome_protocol.client.target import FAMILIES, addressFamily
from welcome_protocol.client.tls import clientTLSOptions
from welcome_protocol.shared.descriptions import clientEndpoint


@attrs.frozen
class TLSSettings:
    """
    How to speak TLS: always verifying the certificate and the host name.

    @ivar sni: The name to send and verify, or L{None} for the host's.
    @ivar caFile: A PEM file of the certificates to trust, or L{None} for
        the platform's.
    """

    sni: str | None = None
    caFile: str | None = None


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

    def __init__(self, reactor: ConnectingReactor, family: type[IAddress]) -> None:
        self._reactor = reactor
        self.nameResolver = _OneFamilyResolver(reactor.nameResolver, family)

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """
        Not used: the endpoint only reads C{nameResolver}.
        """
        raise NotImplementedError("installNameResolver")

    def __getattr__(self, name: str) -> Any:
        # Any: whatever the wrapped reactor has (connectTCP, callLater, ...),
        # which the endpoint looks up by name.
        return getattr(self._reactor, name)


@implementer(IStreamClientEndpoint)
class _ExplainedEndpoint:
    """
    A L{HostnameEndpoint} whose failure to resolve says why, as the
    resolver noted it (a resolver that did not answer, no address of the
    family asked for), rather than L{HostnameEndpoint}'s "no address".
    """

    def __init__(
        self,
        endpoint: HostnameEndpoint,
        resolver: ThreadedResolver,
        names: tuple[str, ...],
    ) -> None:
        """
        @param names: The forms of the host name the endpoint may ask the
            resolver for (as given, and IDNA-encoded).
        """
        self._endpoint = endpoint
        self._resolver = resolver
        self._names = names

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect as the endpoint does, explaining a failed lookup.
        """

        def explain(reason: Failure) -> Failure:
            if not reason.check(DNSLookupError):
                return reason
            for name in self._names:
                problem = self._resolver.problem(name)
                if problem is not None:
                    return Failure(NameNotResolved(problem))
            return reason

        return self._endpoint.connect(protocolFactory).addErrback(explain)


class Connector:
    """
    Make the endpoints of one run, all with the same timeout, address
    family and TLS settings.

    @ivar timeout: Seconds allowed for connecting.
    """

    def __init__(
        self,
        reactor: ConnectingReactor,
        timeout: float,
        family: int | None = None,
        tls: TLSSettings | None = None,
    ) -> None:
        """
        @param family: 4 or 6 to use only that address family.
        @param tls: Speak TLS as these settings say, or L{None} for plain
            TCP.
        """
        self._reactor = reactor
        self.timeout = timeout
        self._family = family
        self._tls = tls
        self._creators: dict[str, IOpenSSLClientConnectionCreator] = {}

    @classmethod
    def fromOptions(
        cls, reactor: ConnectingReactor, config: Mapping[str, Any]
    ) -> Connector:
        """
        The connector C{welcome-client}'s or C{check_welcome}'s parsed
        options describe: their C{timeout}, C{family}, C{tls}, C{sni} and
        C{ca-file}, which both commands name alike.
        """
        tls = None
        if config["tls"]:
            tls = TLSSettings(sni=config["sni"], caFile=config["ca-file"])
        return cls(reactor, config["timeout"], config["family"], tls)

    def toHost(self, host: str, port: int) -> IStreamClientEndpoint:
        """
        Connect to C{host}'s C{port}, trying each address its name has (of
        the family, if one was chosen).
        """
        if "%" in host and addressFamily(host) == 6:
            # An IPv6 literal with a zone (fe80::1%eth0): HostnameEndpoint
            # would connect to what the resolver gives without its zone
            # (EINVAL); the address endpoint resolves the zone itself.
            return self.toAddress(host, host, port)
        reactor: object = self._reactor
        if self._family is not None:
            reactor = _OneFamilyReactor(self._reactor, FAMILIES[self._family])
        name = host.encode("idna")
        endpoint = HostnameEndpoint(reactor, name, port, timeout=self.timeout)
        resolver = self._reactor.nameResolver
        if isinstance(resolver, ThreadedResolver):
            names = (host, name.decode("ascii"))
            explained = _ExplainedEndpoint(endpoint, resolver, names)
            return self._secured(host, explained)
        return self._secured(host, endpoint)

    def toAddress(self, host: str, address: str, port: int) -> IStreamClientEndpoint:
        """
        Connect to an address already resolved from C{host} (which TLS
        verifies the certificate against).
        """
        endpoint: IStreamClientEndpoint
        if addressFamily(address) == 6:
            endpoint = TCP6ClientEndpoint(
                self._reactor, address, port, timeout=self.timeout
            )
        else:
            endpoint = TCP4ClientEndpoint(
                self._reactor, address, port, timeout=self.timeout
            )
        return self._secured(host, endpoint)

    def toUNIX(self, path: str) -> IStreamClientEndpoint:
        """
        Connect to the UNIX socket at C{path} (never with TLS).
        """
        return UNIXClientEndpoint(self._reactor, path, timeout=self.timeout)

    def toDescription(self, description: str) -> IStreamClientEndpoint:
        """
        Connect as a Twisted client endpoint description says (C{--connect});
        the description carries its own TLS and timeout.

        @raise welcome_protocol.shared.descriptions.DescriptionError: If it
            is bad.
        """
        return clientEndpoint(self._reactor, description)

    def _secured(
        self, host: str, endpoint: IStreamClientEndpoint
    ) -> IStreamClientEndpoint:
        """
        Wrap C{endpoint} in TLS if asked to, verifying C{--sni} or C{host}.

        The connection creator is made once per name: it loads the trust
        roots.
        """
        if self._tls is None:
            return endpoint
        name = self._tls.sni or host
        if name not in self._creators:
            self._creators[name] = clientTLSOptions(name, self._tls.caFile)
        return wrapClientTLS(self._creators[name], endpoint)
