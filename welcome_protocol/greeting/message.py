# -*- test-case-name: tests.test_message -*-
"""
The welcome message: loaded from an option or a file, templated per connection.

A message is text with optional placeholders in C{str.format} syntax, from a
fixed list (L{PLACEHOLDERS}); C{{{} and C{}}} are literal braces.  Everything
that can be wrong with a message (an unknown placeholder, a stray brace, bytes
that do not decode, an unknown encoding) is found when it is loaded, so that
sending it can never fail.  A message without placeholders is encoded once and
costs nothing per connection.
"""

from __future__ import annotations

import codecs
import socket
from datetime import datetime, timezone
from ipaddress import ip_address
from string import Formatter

from attrs import frozen
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress

from welcome_protocol.addresses import printable

PLACEHOLDERS = (
    "peer_host",
    "peer_port",
    "server_host",
    "server_port",
    "hostname",
    "time",
)
"""
The names a message may use, each filled in for every connection.
"""

_KNOWN = ", ".join("{" + name + "}" for name in PLACEHOLDERS)


class MessageError(Exception):
    """
    A message cannot be used; C{str()} of this says why, in one line.
    """


@frozen
class Message:
    """
    A welcome ready to send: constant bytes, or a template to fill in.

    @ivar constant: The bytes to send when there are no placeholders, else
        L{None}.
    @ivar parts: The template as pairs of literal text and the placeholder
        that follows it (L{None} after the last literal).
    @ivar encoding: How the filled-in text is encoded on the wire.
    @ivar hostname: The value of C{{hostname}}.
    """

    constant: bytes | None
    parts: tuple[tuple[str, str | None], ...] = ()
    encoding: str = "utf-8"
    hostname: str = ""

    @property
    def placeholders(self) -> frozenset[str]:
        """
        The placeholders this message uses.
        """
        return frozenset(name for _, name in self.parts if name is not None)

    def render(self, peer: IAddress, host: IAddress, now: float) -> bytes:
        """
        The bytes to send on one connection.

        @param peer: The client's address (behind a PROXY-protocol endpoint,
            the client named in the header).
        @param host: The server's own address for this connection.
        @param now: The time, in seconds since the epoch.
        @return: The message with every placeholder filled in, encoded.
        """
        if self.constant is not None:
            return self.constant
        values = {
            "peer_host": _hostOf(peer),
            "peer_port": _portOf(peer),
            "server_host": _hostOf(host),
            "server_port": _portOf(host),
            "hostname": self.hostname,
        }
        pieces: list[str] = []
        for literal, name in self.parts:
            pieces.append(literal)
            if name == "time":
                pieces.append(formatTime(now))
            elif name is not None:
                pieces.append(values[name])
        # Addresses are ASCII except UNIX paths; never fail a connection on one.
        return "".join(pieces).encode(self.encoding, "replace")


def formatTime(now: float) -> str:
    """
    Format C{now} as C{{time}} shows it: UTC, ISO 8601, to the second.

    @param now: Seconds since the epoch.
    @return: E.g. C{2026-11-29T01:10:42Z}.
    """
    return datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hostOf(address: IAddress) -> str:
    if isinstance(address, IPv6Address):
        # A PROXY v2 header gives IPv6 addresses in full; write them short.
        try:
            return ip_address(address.host).compressed
        except ValueError:
            return printable(address.host)
    if isinstance(address, IPv4Address):
        return printable(address.host)
    if isinstance(address, UNIXAddress):
        name = address.name
        if isinstance(name, bytes):
            return printable(name.decode("utf-8", "replace"))
        return printable(name or "")
    return printable(str(address))


def _portOf(address: IAddress) -> str:
    if isinstance(address, (IPv4Address, IPv6Address)):
        return str(address.port)
    return ""


def checkEncoding(name: str) -> str:
    """
    Check that C{name} is a text encoding Python knows.

    @return: The canonical name, e.g. C{iso8859-1} for C{latin-1}.
    @raise MessageError: If it is not.
    """
    try:
        "".encode(name)
        return codecs.lookup(name).name
    except LookupError:
        raise MessageError(f"unknown text encoding {name!r}") from None


def parseMessage(
    text: str, encoding: str, source: str, hostname: str | None = None
) -> Message:
    """
    Check a message's placeholders and prepare it for sending.

    @param text: The message, decoded.
    @param encoding: How to encode it on the wire.
    @param source: How to name the message in errors: C{--message} or the
        file's path.
    @param hostname: The value of C{{hostname}}; this host's name by default.
    @raise MessageError: For an unknown placeholder or a stray brace, or text
        the encoding cannot represent.
    """
    parts: list[tuple[str, str | None]] = []
    try:
        parsed = list(Formatter().parse(text))
    except ValueError as e:
        raise MessageError(
            f"{source}: {str(e).lower()} (write {{{{ and }}}} for literal braces)"
        ) from None
    for literal, name, spec, conversion in parsed:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            written = "{" + name
            written += f"!{conversion}" if conversion else ""
            written += f":{spec}" if spec else ""
            raise MessageError(
                f"{source}: unknown placeholder {written}}}; the placeholders are "
                f"{_KNOWN} (write {{{{ and }}}} for literal braces)"
            )
        parts.append((literal, name))
    try:
        plain = "".join(literal for literal, _ in parts).encode(encoding)
    except UnicodeEncodeError as e:
        raise MessageError(
            f"{source}: {text[e.start : e.end]!r} cannot be encoded as {encoding}"
        ) from None
    if any(name is not None for _, name in parts):
        if hostname is None:
            hostname = socket.gethostname()
        return Message(None, tuple(parts), encoding, hostname)
    return Message(plain, (), encoding)


def decodeMessage(raw: bytes, encoding: str, source: str) -> Message:
    """
    Prepare a message given as bytes, as read from a file.

    Without any brace in it, the bytes are sent exactly as they are.

    @raise MessageError: If the bytes do not decode, or for the reasons
        L{parseMessage} gives.
    """
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise MessageError(
            f"cannot decode {source} as {encoding}: byte "
            f"0x{raw[e.start]:02x} at offset {e.start} ({e.reason})"
        ) from None
    message = parseMessage(text, encoding, source)
    if message.constant is not None and "{" not in text and "}" not in text:
        return Message(raw, (), encoding)
    return message


def readMessageFile(path: str, encoding: str) -> Message:
    """
    Read and prepare the message in file C{path}.

    This blocks while reading; call it before the reactor runs, or in a
    thread.

    @raise MessageError: Naming the path, if the file cannot be read or
        does not make a message.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        why = (e.strerror or str(e)).lower()
        raise MessageError(f"cannot read message file {path}: {why}") from None
    return decodeMessage(raw, encoding, f"message file {path}")
