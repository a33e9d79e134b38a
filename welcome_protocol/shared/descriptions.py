# -*- test-case-name: tests.test_descriptions -*-
"""
Endpoint descriptions: checked when options are parsed, built at start.

Twisted parses a description (C{tcp:12000}, C{unix:/run/welcome.sock}, ...)
into an endpoint without touching the network, so each one is parsed once
against a throwaway reactor to report mistakes as usage errors, then again
with the real reactor when the service is made.  Parsing is not always free
of side effects: C{ssl:} reads its key and certificate, C{systemd:} looks up
the inherited descriptor; both are what we want checked early.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IReactorPluggableNameResolver,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.python.filepath import UnlistableError
from zope.interface import implementer

_PROXY_PREFIX = "haproxy:"


class DescriptionError(Exception):
    """
    A description does not name a usable endpoint; C{str()} says why.
    """


def explainParseError(reason: BaseException) -> str:
    """
    Turn what Twisted raised while parsing a description into a short reason.

    @param reason: The exception from C{serverFromString}/C{clientFromString}.
    @return: Lower-case text such as C{unknown parameter 'bogus'}.
    """
    text = str(reason)
    if isinstance(reason, DescriptionError):
        return text
    if isinstance(reason, UnlistableError):
        return explainParseError(reason.originalException)
    if isinstance(reason, OSError) and reason.strerror:
        why = reason.strerror.lower()
        return f"{reason.filename}: {why}" if reason.filename else why
    if isinstance(reason, AttributeError) and "AF_" in text:
        return "unknown socket domain (use INET, INET6 or UNIX)"
    if reason.args and isinstance(reason.args[0], list) and reason.args[0]:
        # OpenSSL's error queue: [(library, function, reason), ...]
        details = ", ".join(str(item[-1]) for item in reason.args[0])
        return f"bad certificate or key file ({details.lower()})"
    found = re.search(r"unexpected keyword argument '([^']*)'", text)
    if found:
        return f"unknown parameter {found.group(1)!r}"
    found = re.search(r"missing \d+ required positional arguments?: (.*)", text)
    if found:
        return f"missing {found.group(1).replace(' and ', ', ')}"
    found = re.search(r"invalid literal for int\(\) with base 10: (.*)", text)
    if found:
        return f"{found.group(1)} is not a whole number"
    found = re.match(r"Unknown endpoint type: (.*)", text)
    if found:
        return f"unknown endpoint type {found.group(1)}"
    return text.lower() if text else type(reason).__name__


def withoutProxy(description: str) -> str:
    """
    @return: The description of the socket itself: C{description} without
        a leading C{haproxy:}.
    """
    if description[: len(_PROXY_PREFIX)].lower() == _PROXY_PREFIX:
        return description[len(_PROXY_PREFIX) :]
    return description


def endpointType(description: str) -> str:
    """
    @return: The endpoint type a description starts with, in lower case
        (C{tcp}, C{unix}, C{ssl}, C{haproxy}, ...).
    """
    return re.split(r"(?<!\\):", description, maxsplit=1)[0].lower()


def checkTLSPort(description: str) -> None:
    """
    Refuse a C{tls:} description without C{port=}.

    Twisted's C{tls:} takes the certificates directory first and the port
    as C{port=}, defaulting to 443: C{tls:24073} would quietly mean "the
    certificates in directory C{24073}, on port 443, every interface".

    @raise DescriptionError: If C{description} is such a C{tls:} one.
    """
    inner = withoutProxy(description)
    if endpointType(inner) != "tls":
        return
    parts = re.split(r"(?<!\\):", inner)[1:]
    if not any(part.startswith("port=") for part in parts):
        raise DescriptionError(
            "tls: needs port=N after the certificates directory, as in "
            "tls:/etc/welcome/pem:port=24073"
        )


def clientEndpoint(reactor: object, description: str) -> IStreamClientEndpoint:
    """
    Build the client endpoint C{description} names.

    @param reactor: The reactor the endpoint connects with: whatever the
        description's kind needs (C{IReactorTCP} for C{tcp:}, ...), which
        only Twisted's parser knows, so any object is taken here.
    @raise DescriptionError: If the description is bad, saying why.
    """
    try:
        endpoint: IStreamClientEndpoint = clientFromString(reactor, description)
        return endpoint
    except Exception as e:
        raise DescriptionError(explainParseError(e)) from None


@implementer(IHostnameResolver)
class _NoResolution:
    """
    A name resolver for endpoints that are built only to be thrown away.
    """

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        Refuse: an endpoint built to check its description never connects.
        """
        raise RuntimeError("an endpoint built only to check a description")


@implementer(IReactorPluggableNameResolver)
class _ParsingOnlyReactor:
    """
    The reactor a description is checked against: enough for Twisted to
    build a client endpoint, nothing to connect with.

    Twisted's endpoints only store the reactor when they are made, except
    L{twisted.internet.endpoints.HostnameEndpoint} (C{tls:}), which reads
    C{nameResolver} and warns about a reactor without one.  Unlike
    L{twisted.internet.testing.MemoryReactor}, this loads neither
    C{twisted.trial} nor C{unittest} into a command-line program.

    @ivar nameResolver: A resolver that refuses to resolve.
    """

    def __init__(self) -> None:
        self.nameResolver: IHostnameResolver = _NoResolution()

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        """
        Keep C{resolver}; nothing resolves through it.

        @return: The resolver replaced.
        """
        previous, self.nameResolver = self.nameResolver, resolver
        return previous


def checkClientDescription(description: str) -> None:
    """
    Check a client endpoint description without connecting.

    The endpoint is built against a reactor stand-in that cannot connect,
    then thrown away.

    @raise DescriptionError: If it is bad, saying why.
    """
    clientEndpoint(_ParsingOnlyReactor(), description)
