# -*- test-case-name: tests.test_message -*-
"""
The welcome message: loaded from an option or a file, templated per connection.

A message is text with optional placeholders in C{str.format} syntax, from a
fixed list (L{PLACEHOLDERS}); C{{{} and C{}}} are literal braces.  Everything
that can be wrong with the message itself (an unknown placeholder, a stray
brace, bytes that do not decode, an unknown encoding) is found when it is
loaded, and the template is tried with the most unlikely addresses then.  What
a connection brings is still the network's to choose, so filling in a
template can fail for one client: the listeners contain that failure to the
connection or datagram, count it and log it rate-limited.  A message without
placeholders is encoded once, costs nothing per connection, and cannot fail.
"""

from __future__ import annotations

import codecs
import os
import socket
import stat
import time
from datetime import datetime, timezone
from ipaddress import ip_address
from string import Formatter

from attrs import frozen
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress

from welcome_protocol.shared.addresses import printable

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
    Check that C{name} is a text encoding Python knows and can use.

    @return: The canonical name, e.g. C{iso8859-1} for C{latin-1}.
    @raise MessageError: If it is not: unknown, not a text encoding
        (C{base64}), or one that encodes nothing (C{undefined}).
    """
    shown = printable(name)
    try:
        "".encode(name)
        b"".decode(name)
        return codecs.lookup(name).name
    except LookupError:
        raise MessageError(f"unknown text encoding {name!r}") from None
    except (UnicodeError, ValueError) as e:
        if any("\udc80" <= c <= "\udcff" for c in name):
            # Bytes the locale could not decode: no codec has such a name.
            raise MessageError(f"unknown text encoding {name!r}") from None
        why = printable(str(e))
        raise MessageError(f"text encoding {shown!r} cannot be used: {why}") from None


_SAMPLE_ADDRESSES = (
    ("an IPv4 address", IPv4Address("TCP", "255.255.255.255", 65535)),
    ("an IPv6 address", IPv6Address("TCP", ":".join(["ffff"] * 8), 65535)),
    ("an IPv4-mapped IPv6 address", IPv6Address("TCP", "::ffff:255.255.255.255", 0)),
    ("a scoped IPv6 address", IPv6Address("TCP", "fe80::1%" + "e" * 15, 1)),
    ("an unnamed UNIX socket", UNIXAddress(None)),
    # Non-ASCII, undecodable and unprintable bytes, as long as a path gets.
    (
        "a UNIX socket path",
        UNIXAddress("/run/w\xe9lcome/\u2603".encode() + b"\xff\x1b" * 45),
    ),
)
"""
Addresses a connection may have, as unlike each other as they get: a
template is filled in with each when it is loaded, so that what a connection
brings can never fail to encode, nor make a welcome longer than checked.
"""

TEMPLATE_LIMIT = 65536
"""
The longest a message with placeholders may be once filled in, in bytes.  It
is rendered anew for each connection (a message without placeholders is
shared by all), so this bounds the memory each connection costs.
"""


def _checkRendering(message: Message, source: str) -> None:
    """
    Fill C{message} in with every sample address, as a connection would.

    @raise MessageError: If that fails, or makes more than
        L{TEMPLATE_LIMIT} bytes.
    """
    longest = 0
    for kind, address in _SAMPLE_ADDRESSES:
        try:
            rendered = message.render(address, address, time.time())
        except (UnicodeError, ValueError, LookupError, TypeError) as e:
            why = printable(str(e))
            raise MessageError(
                f"{source}: cannot be encoded as {message.encoding} once filled "
                f"in for {kind} ({why})"
            ) from None
        longest = max(longest, len(rendered))
    if longest > TEMPLATE_LIMIT:
        raise MessageError(
            f"{source}: a message with placeholders can be {longest} bytes once "
            f"filled in, more than the limit of {TEMPLATE_LIMIT}"
        )


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
    plain = "".join(literal for literal, _ in parts)
    try:
        encoded = plain.encode(encoding)
    except UnicodeEncodeError as e:
        raise MessageError(
            f"{source}: {plain[e.start : e.end]!r} cannot be encoded as {encoding}"
        ) from None
    except (UnicodeError, ValueError) as e:
        raise MessageError(
            f"{source}: cannot be encoded as {encoding} ({printable(str(e))})"
        ) from None
    if any(name is not None for _, name in parts):
        if hostname is None:
            hostname = socket.gethostname()
        message = Message(None, tuple(parts), encoding, hostname)
        _checkRendering(message, source)
        return message
    return Message(encoded, (), encoding)


def _decode(raw: bytes, encoding: str, source: str) -> str:
    """
    @raise MessageError: If C{raw} does not decode, naming the first bad
        byte and where it is.
    """
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise MessageError(
            f"cannot decode {source} as {encoding}: byte "
            f"0x{raw[e.start]:02x} at offset {e.start} ({e.reason})"
        ) from None


def decodeMessage(raw: bytes, encoding: str, source: str) -> Message:
    """
    Prepare a message given as bytes, as read from a file.

    Without any brace in it, the bytes are sent exactly as they are.

    @raise MessageError: If the bytes do not decode, or for the reasons
        L{parseMessage} gives.
    """
    text = _decode(raw, encoding, source)
    message = parseMessage(text, encoding, source)
    if message.constant is not None and "{" not in text and "}" not in text:
        return Message(raw, (), encoding)
    return message


def encodeText(text: str, encoding: str, source: str) -> bytes:
    """
    Encode text given on the command line and sent as it is, without
    placeholders, such as C{--busy-message}.

    Argument bytes the locale could not decode reach Python as surrogates:
    then the bytes the user typed are sent, if they are text in
    C{encoding}.

    @param source: How to name the text in errors: its option.
    @raise MessageError: If C{encoding} cannot represent the text.
    """
    if any("\udc80" <= c <= "\udcff" for c in text):
        raw = os.fsencode(text)
        _decode(raw, encoding, source)
        return raw
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as e:
        raise MessageError(
            f"{source}: {printable(text[e.start : e.end])!r} cannot be encoded "
            f"as {encoding}"
        ) from None
    except (UnicodeError, ValueError) as e:
        raise MessageError(
            f"{source}: cannot be encoded as {encoding} ({printable(str(e))})"
        ) from None


MESSAGE_FILE_LIMIT = 64 * 1024 * 1024
"""
The largest message file, in bytes: 64 MiB.  A welcome is held in memory
once (and re-read whole on SIGHUP), so the limit bounds what a wrong path or
a runaway file can cost; it is four times the largest welcome the soak test
sends.
"""

READ_ATTEMPTS = 5
"""
How many times a message file is read, at most, while it keeps changing,
before it is refused.
"""

SETTLE_SECONDS = 0.25
"""
How long a message file must have been left alone to be read: one modified
more recently may be in the middle of a rewrite in place that its size and
times do not show yet (a writer can be descheduled between two writes, and
file times tick coarsely), so it is read once it has settled.
"""

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a FIFO, not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def _notRegular(mode: int) -> str | None:
    """
    @return: Why a file of C{mode} cannot be a message file, or L{None}.
    """
    if stat.S_ISREG(mode):
        return None
    for test, why in _KINDS:
        if test(mode):
            return why
    return "is not a regular file"


def _version(info: os.stat_result) -> tuple[int, ...]:
    """
    @return: What changes when a file is replaced or written to.
    """
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _readOnce(path: str, limit: int, settle: float) -> bytes | float:
    """
    Read regular file C{path} whole, if it has settled and does not change
    meanwhile.

    @return: Its bytes, or how many seconds to wait before trying again.
    @raise MessageError: If it is not a regular file, is larger than
        C{limit} bytes, or cannot be opened or read.
    """
    source = f"message file {path}"
    # Look before opening: opening a FIFO for reading waits for a writer.
    why = _notRegular(os.stat(path).st_mode)
    if why is not None:
        raise MessageError(f"cannot read {source}: {why}")
    # Non-blocking, in case it became a FIFO since: then fstat refuses it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        before = os.fstat(fd)
        why = _notRegular(before.st_mode)
        if why is not None:
            raise MessageError(f"cannot read {source}: {why}")
        if before.st_size > limit:
            raise MessageError(_tooLarge(source, before.st_size, limit))
        chunks: list[bytes] = []
        size = 0
        # One byte past the size it had: a file that grew is read again.
        while size <= before.st_size:
            chunk = os.read(fd, before.st_size + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if size != before.st_size or _version(after) != _version(before):
        return settle
    age = (time.time_ns() - after.st_mtime_ns) / 1e9
    if 0 <= age < settle:
        return settle - age
    return b"".join(chunks)


def _tooLarge(source: str, size: int, limit: int) -> str:
    return (
        f"cannot read {source}: it is {size} bytes, more than the limit of "
        f"{limit} ({limit >> 20} MiB)"
    )


def readMessageBytes(
    path: str,
    limit: int = MESSAGE_FILE_LIMIT,
    attempts: int = READ_ATTEMPTS,
    settle: float = SETTLE_SECONDS,
) -> bytes:
    """
    Read a message file whole, never a torn or unbounded copy of it.

    The file must be a regular file of at most C{limit} bytes: a FIFO, a
    device such as C{/dev/zero} or a directory is refused without reading
    (and without waiting for a FIFO's writer).  A file modified less than
    C{settle} seconds ago is read once it is that old; one whose size,
    modification time or identity differs after reading from before, or
    that gives fewer or more bytes than its size, is read again C{settle}
    seconds later; after C{attempts} reads it is refused.  Only replacing
    the file with a rename keeps every reader's view whole whatever the
    timing: a rewrite in place stalled for longer than C{settle} looks
    settled.

    This blocks while reading; call it before the reactor runs, or in a
    thread.

    @raise MessageError: Naming the path and the reason, in one line.
    """
    try:
        for attempt in range(attempts):
            result = _readOnce(path, limit, settle)
            if isinstance(result, bytes):
                return result
            if attempt + 1 < attempts:
                time.sleep(result)
    except OSError as e:
        why = (e.strerror or str(e)).lower()
        raise MessageError(f"cannot read message file {path}: {why}") from None
    raise MessageError(
        f"cannot read message file {path}: it kept changing while it was read "
        f"({attempts} tries); update it by renaming a complete file over it"
    )


def readMessageFile(path: str, encoding: str) -> Message:
    """
    Read and prepare the message in file C{path}, as L{readMessageBytes}
    reads it.

    This blocks while reading; call it before the reactor runs, or in a
    thread.

    @raise MessageError: Naming the path, if the file cannot be read or
        does not make a message.
    """
    return decodeMessage(readMessageBytes(path), encoding, f"message file {path}")
