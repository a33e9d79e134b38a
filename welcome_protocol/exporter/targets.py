# -*- test-case-name: tests.test_exporter_targets -*-
"""
The C{target} parameter, and C{--allow-targets}: which targets may be
probed.

An exporter that probes whatever it is asked to is a port scanner for
anyone who can reach it, as blackbox_exporter is by default.  With
C{--allow-targets}, a target is probed only if its host is an address in
one of the networks listed, or one of the host names listed (exactly, or a
name under one given as C{.example.com}); any other gets a 403.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import attrs

from welcome_protocol.exporter import probing

MAX_TARGET = 255
"""
Characters of a target, at most (the longest DNS name, and a port).
"""


class TargetError(ValueError):
    """
    The target is not one we can probe; C{str()} says why in one line.
    """


def quoted(text: str, limit: int = 80) -> str:
    """
    @return: C{text} quoted for a one-line answer or log line: escaped
        as Python's C{repr} escapes, and cut to C{limit} characters.
    """
    # repr escapes every character that is not printable (str.isprintable):
    # control characters, escape sequences, bidirectional overrides.
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _checkHost(host: str, text: str) -> None:
    if not host:
        raise TargetError(f"target {quoted(text)} has no host")
    if probing.addressFamily(host) is not None:
        return
    letters = host.replace("-", "").replace("_", "").replace(".", "")
    if not (letters.isascii() and letters.isalnum()):
        raise TargetError(f"target {quoted(text)}: {quoted(host)} is not a host name")
    problem = probing.checkHostName(host)
    if problem is not None:
        raise TargetError(
            f"target {quoted(text)}: {quoted(host)} is not a host name: {problem}"
        )


def parseTarget(text: str, portRequired: bool) -> tuple[str, int | None]:
    """
    Read C{host:port}, C{[::1]:port}, or a bare host when ports are given
    apart (C{ports=}).

    @param portRequired: Whether the target must name its port.
    @return: The host and the port (L{None} if not named).
    @raise TargetError: Saying why, with the target escaped.
    """
    if not text:
        raise TargetError("the target parameter is missing or empty")
    if len(text) > MAX_TARGET:
        raise TargetError(
            f"target {quoted(text)} is longer than {MAX_TARGET} characters"
        )
    try:
        host, portText = probing.splitHostPort(text)
    except ValueError:
        raise TargetError(f"target {quoted(text)} is not HOST:PORT") from None
    _checkHost(host, text)
    if portText is None:
        if portRequired:
            raise TargetError(f"target {quoted(text)} has no port: write HOST:PORT")
        return host, None
    if (
        not (portText.isascii() and portText.isdigit())
        or not 1 <= int(portText) <= 65535
    ):
        raise TargetError(f"target {quoted(text)}: the port must be from 1 to 65535")
    return host, int(portText)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@attrs.frozen
class AllowedTargets:
    """
    C{--allow-targets}: networks and host names.

    @ivar networks: Addresses in these may be probed.
    @ivar names: These host names may be probed; one starting with C{.}
        allows every name under it.
    """

    networks: tuple[Network, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, texts: Sequence[str]) -> AllowedTargets:
        """
        Read C{--allow-targets} values: each a comma-separated list of
        networks (C{10.0.0.0/8}, an address alone) and host names.

        @raise ValueError: Naming an item that is neither.
        """
        networks: list[Network] = []
        names: list[str] = []
        for text in texts:
            for item in filter(None, (part.strip() for part in text.split(","))):
                try:
                    networks.append(ipaddress.ip_network(item))
                    continue
                except ValueError as e:
                    if "host bits" in str(e):
                        raise ValueError(
                            f"{item!r} has host bits set: write "
                            f"{ipaddress.ip_network(item, strict=False)} instead"
                        ) from None
                name = item.lower().rstrip(".")
                try:
                    _checkHost(name.lstrip("."), item)
                except TargetError:
                    raise ValueError(
                        f"{quoted(item)} is neither a network nor a host name"
                    ) from None
                names.append(name)
        if not networks and not names:
            raise ValueError("no network or host name given")
        return cls(tuple(networks), tuple(names))

    def allows(self, host: str) -> bool:
        """
        @return: Whether C{host} (an address or a name) may be probed.
        """
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            name = host.lower().rstrip(".")
            return any(
                name == allowed or (allowed.startswith(".") and name.endswith(allowed))
                for allowed in self.names
            )
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def describe(self) -> str:
        """
        @return: The allowed networks and names, for the start-up line.
        """
        return ", ".join([str(n) for n in self.networks] + list(self.names))
