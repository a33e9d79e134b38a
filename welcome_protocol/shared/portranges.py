# -*- test-case-name: tests.test_portranges -*-
"""
Port ranges in listener descriptions: C{tcp:20000-20099:interface=ADDR}
stands for one description per port.

Twisted's endpoint descriptions name one port each.  A range is written
where the port is (the first argument, or C{port=}) of the types that take
one (C{tcp}, C{tcp6}, C{ssl}, C{udp}; C{tls} in its C{port=}; also behind
C{haproxy:}), and is
expanded here, before anything is parsed or built, so every port is then
an ordinary description built by the same code as any other.
"""

from __future__ import annotations

import re

from welcome_protocol.shared.portlists import isPortList, parsePorts

PORT_TYPES = frozenset({"tcp", "tcp6", "ssl", "tls", "udp"})
"""
The endpoint types whose port may be a range.
"""
KEYWORD_ONLY = frozenset({"tls"})
"""
Types whose first argument is not the port (C{tls:}'s is a folder): only
their C{port=} may be a range.
"""
MAX_RANGE = 10_000
"""
The most ports one description may stand for.
"""
_PROXY = "haproxy:"
_FIELDS = re.compile(r"(?<!\\):")


class PortRangeError(ValueError):
    """
    A range that cannot be expanded; C{str()} says why.
    """


def _portField(fields: list[str]) -> int | None:
    """
    @return: The index of the field that holds the port: the C{port=} one,
        or else the first one without C{=} after the type.
    """
    for index, field in enumerate(fields[1:], 1):
        if field.lower().startswith("port="):
            return index
    if fields[0].lower() in KEYWORD_ONLY:
        return None
    for index, field in enumerate(fields[1:], 1):
        if "=" not in field:
            return index
    return None


def expandPortRange(description: str) -> tuple[str, ...]:
    """
    Expand a description whose port is a range (or a list,
    C{tcp:20000-20099,22}) into one description per port, in order;
    any other description is returned alone, unchanged.

    @raise PortRangeError: For a bad range or one over L{MAX_RANGE} ports,
        naming it.
    """
    prefix = ""
    inner = description
    if inner[: len(_PROXY)].lower() == _PROXY:
        prefix, inner = inner[: len(_PROXY)], inner[len(_PROXY) :]
    fields = _FIELDS.split(inner)
    if fields[0].lower() not in PORT_TYPES:
        return (description,)
    index = _portField(fields)
    if index is None:
        return (description,)
    name, equals, value = fields[index].rpartition("=")
    keyword = name + equals
    if not isPortList(value):
        return (description,)
    try:
        ports = parsePorts(value)
    except ValueError as e:
        raise PortRangeError(f"port range {value!r}: {e}") from None
    if len(ports) > MAX_RANGE:
        raise PortRangeError(
            f"port range {value!r} has {len(ports)} ports; at most {MAX_RANGE}"
        )
    expanded = []
    for port in ports:
        fields[index] = f"{keyword}{port}"
        expanded.append(prefix + ":".join(fields))
    return tuple(expanded)


def expandPortOption(text: str) -> tuple[str, ...] | None:
    """
    C{--port 20000-20099}: the C{tcp:} descriptions it stands for.

    @return: L{None} if C{text} is not a range (a single port is parsed as
        before).
    @raise PortRangeError: For a bad range.
    """
    if not isPortList(text.strip()):
        return None
    return expandPortRange(f"tcp:{text.strip()}")
