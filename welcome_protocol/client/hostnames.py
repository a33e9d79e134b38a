# -*- test-case-name: tests.test_client_hostnames -*-
"""
Check host names and TLS server names before anything is connected.

A name that IDNA cannot encode (an empty label as in C{a..b} or C{.a}, a
label over 63 characters, a byte that is not text) would otherwise raise
deep inside the endpoint or the TLS options; here it is a usage error
naming the option and the reason, checked with the same encoder that will
be used.
"""

from __future__ import annotations

from ipaddress import ip_network

from welcome_protocol.client.target import addressFamily


def _reason(error: Exception) -> str:
    """
    The encoder's complaint without the codec's wrapping, e.g. C{label empty
    or too long}.
    """
    text = str(error)
    marker = "(UnicodeError: "
    if marker in text and text.endswith(")"):
        text = text[text.index(marker) + len(marker) : -1]
    return text or type(error).__name__


def checkHostName(host: str) -> str | None:
    """
    Check a host name as L{welcome_protocol.client.connecting.Connector.toHost}
    will encode it (Python's C{idna} codec); IP addresses always pass.

    @return: L{None} if C{host} can be used, otherwise why not.
    """
    if addressFamily(host) is not None:
        return None
    if not host.strip():
        return "it is empty"
    if "/" in host and _isNetwork(host):
        # Refused rather than expanded: the client checks the hosts it is
        # given, and one address range times --ports could be millions of
        # probes from a typo.
        return "it is a network (CIDR), not a host: name each host to check"
    if host.startswith("-"):
        # No label starts with a hyphen; this is an option given after "--".
        return "it starts with '-'"
    try:
        host.encode("idna")
    except UnicodeError as e:
        return _reason(e)
    return None


def _isNetwork(text: str) -> bool:
    try:
        ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def checkServerName(name: str) -> str | None:
    """
    Check a TLS server name (C{--sni}) as Twisted's
    L{twisted.internet.ssl.optionsForClientTLS} will encode it (the C{idna}
    package, which also refuses characters such as C{_}); IP addresses pass.

    @return: L{None} if C{name} can be used, otherwise why not.
    """
    if addressFamily(name) is not None:
        return None
    # Imported here for start-up time: only host names need IDNA's tables.
    import idna

    try:
        idna.encode(name)
    except (idna.IDNAError, UnicodeError) as e:
        return _reason(e)
    return None


def _problem(option: str, name: str, reason: str | None) -> str | None:
    if reason is None:
        return None
    return f"{option} {name!r} is not a valid host name: {reason}"


def hostNameProblem(option: str, host: str) -> str | None:
    """
    @param option: How the user gave the name (C{--host}, C{-H}).
    @return: The one-line usage error for a host name L{checkHostName}
        refuses, e.g. C{--host 'a..b' is not a valid host name: label empty
        or too long}, or L{None}.
    """
    return _problem(option, host, checkHostName(host))


def serverNameProblem(option: str, name: str) -> str | None:
    """
    @param option: How the user gave the name (C{--sni}).
    @return: The one-line usage error for a TLS server name
        L{checkServerName} refuses, or L{None}.
    """
    return _problem(option, name, checkServerName(name))
