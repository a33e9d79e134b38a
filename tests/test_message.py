"""
Tests for L{welcome_protocol.greeting.message}: loading, checking and filling in.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.greeting.message import (
    PLACEHOLDERS,
    MessageError,
    checkEncoding,
    decodeMessage,
    formatTime,
    parseMessage,
    readMessageFile,
)

PEER = IPv4Address("TCP", "192.0.2.7", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 12000)
# 2026-11-29T01:10:42Z
NOW = 1795914642.75


class ParseMessageTests(TestCase):
    """
    L{parseMessage} checks placeholders once and prepares the bytes.
    """

    def test_plainTextIsConstant(self) -> None:
        """
        A message without placeholders is encoded once, as it is.
        """
        message = parseMessage("Welcome!\r\n", "utf-8", "--message")
        self.assertEqual(message.constant, b"Welcome!\r\n")
        self.assertEqual(message.render(PEER, HOST, NOW), b"Welcome!\r\n")

    def test_literalBracesAreConstant(self) -> None:
        """
        C{{{} and C{}}} are literal braces and need no work per connection.
        """
        message = parseMessage("{{json}}", "utf-8", "--message")
        self.assertEqual(message.constant, b"{json}")

    def test_everyPlaceholder(self) -> None:
        """
        Every placeholder is filled in from the addresses, the host name
        and the time.
        """
        text = " ".join("{" + name + "}" for name in PLACEHOLDERS)
        message = parseMessage(text, "utf-8", "--message", hostname="box")
        self.assertIsNone(message.constant)
        self.assertEqual(message.placeholders, frozenset(PLACEHOLDERS))
        self.assertEqual(
            message.render(PEER, HOST, NOW),
            b"192.0.2.7 40000 127.0.0.1 12000 box 2026-11-29T01:10:42Z",
        )

    def test_ipv6AddressesWithoutBrackets(self) -> None:
        """
        IPv6 hosts are filled in bare, so a template decides on brackets.
        """
        message = parseMessage("[{peer_host}]:{peer_port}", "utf-8", "m")
        peer = IPv6Address("TCP", "::1", 5)
        self.assertEqual(message.render(peer, HOST, NOW), b"[::1]:5")

    def test_unixAddresses(self) -> None:
        """
        On a UNIX socket the host is the socket's path (empty for an unnamed
        client socket) and the port is empty.
        """
        message = parseMessage("<{peer_host}|{peer_port}|{server_host}>", "utf-8", "m")
        peer = UNIXAddress(None)
        host = UNIXAddress(b"/run/welcome.sock")
        self.assertEqual(message.render(peer, host, NOW), b"<||/run/welcome.sock>")

    def test_unknownPlaceholder(self) -> None:
        """
        An unknown placeholder is an error naming it and listing the known
        ones.
        """
        e = self.assertRaises(
            MessageError, parseMessage, "Hi {user}", "utf-8", "--message"
        )
        self.assertEqual(
            str(e),
            "--message: unknown placeholder {user}; the placeholders are "
            "{peer_host}, {peer_port}, {server_host}, {server_port}, {hostname}, "
            "{time} (write {{ and }} for literal braces)",
        )

    def test_formatSpecIsUnknown(self) -> None:
        """
        Conversions, format specifications, indexes and positional fields
        are not placeholders.
        """
        for text in ["{peer_port:>8}", "{peer_host!r}", "{time.year}", "{0}", "{}"]:
            e = self.assertRaises(MessageError, parseMessage, text, "utf-8", "m")
            self.assertIn(f"unknown placeholder {text};", str(e))

    def test_strayBrace(self) -> None:
        """
        A lone brace is an error that says how to write a literal one.
        """
        for text in ["a { b", "a } b", "{peer_host"]:
            e = self.assertRaises(MessageError, parseMessage, text, "utf-8", "m")
            self.assertTrue(str(e).startswith("m: "), str(e))
            self.assertTrue(str(e).endswith("(write {{ and }} for literal braces)"))

    def test_unencodableText(self) -> None:
        """
        Text the encoding cannot represent is an error at load time.
        """
        e = self.assertRaises(MessageError, parseMessage, "Caf\xe9", "ascii", "m")
        self.assertEqual(str(e), "m: '\xe9' cannot be encoded as ascii")

    def test_encodingApplied(self) -> None:
        """
        The filled-in text is encoded with the message's encoding.
        """
        message = parseMessage("Caf\xe9 {peer_port}", "latin-1", "m")
        self.assertEqual(message.render(PEER, HOST, NOW), b"Caf\xe9 40000")

    @given(
        st.lists(
            st.one_of(
                st.sampled_from(PLACEHOLDERS).map(
                    lambda name: ("{" + name + "}", name)
                ),
                st.text().map(
                    lambda t: (t.replace("{", "{{").replace("}", "}}"), None)
                ),
            )
        )
    )
    def test_anyTemplateOfKnownPlaceholders(
        self, pieces: list[tuple[str, str | None]]
    ) -> None:
        """
        Any text with escaped braces and known placeholders is accepted and
        renders to the text with each placeholder replaced.
        """
        values = {
            "peer_host": "192.0.2.7",
            "peer_port": "40000",
            "server_host": "127.0.0.1",
            "server_port": "12000",
            "hostname": "box",
            "time": formatTime(NOW),
        }
        template = "".join(written for written, _ in pieces)
        expected = "".join(
            values[name] if name else written.replace("{{", "{").replace("}}", "}")
            for written, name in pieces
        )
        message = parseMessage(template, "utf-8", "m", hostname="box")
        rendered = message.render(PEER, HOST, NOW)
        self.assertEqual(rendered, expected.encode("utf-8", "replace"))

    @given(st.from_regex(r"\A[a-z_][a-z0-9_]{0,12}\Z"))
    def test_anyOtherNameIsUnknown(self, name: str) -> None:
        """
        Any name not in L{PLACEHOLDERS} is refused, naming it.
        """
        if name in PLACEHOLDERS:
            return
        e = self.assertRaises(
            MessageError, parseMessage, f"x {{{name}}} y", "utf-8", "m"
        )
        self.assertIn(f"unknown placeholder {{{name}}};", str(e))


class DecodeMessageTests(TestCase):
    """
    L{decodeMessage} prepares a message given as bytes.
    """

    def test_bytesSentAsTheyAre(self) -> None:
        """
        Bytes without braces are sent exactly as given, even where decoding
        and encoding again would change them (a byte-order mark).
        """
        raw = "\ufeffhello".encode("utf-16-be")
        message = decodeMessage(raw, "utf-16-be", "f")
        self.assertEqual(message.constant, raw)

    def test_undecodable(self) -> None:
        """
        Bytes that do not decode are an error naming the source, the byte
        and where it is.
        """
        e = self.assertRaises(
            MessageError, decodeMessage, b"Caf\xe9!", "utf-8", "message file x"
        )
        self.assertEqual(
            str(e),
            "cannot decode message file x as utf-8: byte 0xe9 at offset 3 "
            "(invalid continuation byte)",
        )

    def test_latin1(self) -> None:
        """
        Under latin-1, every byte is text, and placeholders work.
        """
        message = decodeMessage(b"Caf\xe9 {peer_host}", "latin-1", "f")
        self.assertEqual(message.render(PEER, HOST, NOW), b"Caf\xe9 192.0.2.7")


class ReadMessageFileTests(TestCase):
    """
    L{readMessageFile} reads a file and names it in every error.
    """

    def test_read(self) -> None:
        """
        The file's bytes are the message.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"Hello\n")
        self.assertEqual(readMessageFile(str(path), "utf-8").constant, b"Hello\n")

    def test_empty(self) -> None:
        """
        An empty file is an empty message.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"")
        self.assertEqual(readMessageFile(str(path), "utf-8").constant, b"")

    def test_missing(self) -> None:
        """
        A missing file is an error naming it.
        """
        path = temporaryPath(self)
        e = self.assertRaises(MessageError, readMessageFile, path, "utf-8")
        self.assertEqual(
            str(e), f"cannot read message file {path}: no such file or directory"
        )

    def test_directory(self) -> None:
        """
        A directory is not a message file.
        """
        path = temporaryPath(self)
        os.mkdir(path)
        e = self.assertRaises(MessageError, readMessageFile, path, "utf-8")
        self.assertEqual(str(e), f"cannot read message file {path}: is a directory")

    def test_badPlaceholderNamesFile(self) -> None:
        """
        A bad placeholder in a file is reported with the file's path.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"{nope}")
        e = self.assertRaises(MessageError, readMessageFile, str(path), "utf-8")
        self.assertTrue(
            str(e).startswith(f"message file {path}: unknown placeholder {{nope}};")
        )


class CheckEncodingTests(TestCase):
    """
    L{checkEncoding} accepts text encodings only.
    """

    def test_known(self) -> None:
        """
        Known encodings are accepted under their canonical names.
        """
        self.assertEqual(checkEncoding("latin-1"), "iso8859-1")
        self.assertEqual(checkEncoding("UTF8"), "utf-8")

    def test_unknown(self) -> None:
        """
        Unknown names and codecs that are not text encodings are refused.
        """
        for name in ["klingon", "base64", "rot13", ""]:
            e = self.assertRaises(MessageError, checkEncoding, name)
            self.assertEqual(str(e), f"unknown text encoding {name!r}")


class FormatTimeTests(TestCase):
    """
    L{formatTime} writes UTC in ISO 8601.
    """

    def test_format(self) -> None:
        """
        Seconds are truncated and the zone is written C{Z}.
        """
        self.assertEqual(formatTime(NOW), "2026-11-29T01:10:42Z")
        self.assertEqual(formatTime(0), "1970-01-01T00:00:00Z")
