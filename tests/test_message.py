"""
Tests for L{welcome_protocol.greeting.message}: loading, checking and filling in.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.greeting.message import (
    MESSAGE_FILE_LIMIT,
    PLACEHOLDERS,
    READ_ATTEMPTS,
    TEMPLATE_LIMIT,
    MessageError,
    checkEncoding,
    decodeMessage,
    encodeText,
    formatTime,
    parseMessage,
    readMessageBytes,
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

    def test_notRegularFilesRefusedUnread(self) -> None:
        """
        A FIFO (with no writer: reading it would wait for ever), a character
        device that never ends (C{/dev/zero}), a directory and a socket are
        refused at once, naming the file and what it is.
        """
        base = temporaryPath(self)
        os.mkdir(base)
        fifo = os.path.join(base, "fifo")
        os.mkfifo(fifo)
        sock = socket.socket(socket.AF_UNIX)
        self.addCleanup(sock.close)
        sockPath = os.path.join(base, "sock")
        sock.bind(sockPath)
        for path, why in [
            (fifo, "is a FIFO, not a regular file"),
            ("/dev/zero", "is a character device, not a regular file"),
            (base, "is a directory"),
            (sockPath, "is a socket, not a regular file"),
        ]:
            e = self.assertRaises(MessageError, readMessageFile, path, "utf-8")
            self.assertEqual(str(e), f"cannot read message file {path}: {why}")

    def test_sizeLimit(self) -> None:
        """
        A file of L{MESSAGE_FILE_LIMIT} bytes is read; one byte more is
        refused before anything is read, naming the size and the limit.
        """
        self.assertEqual(MESSAGE_FILE_LIMIT, 64 * 1024 * 1024)
        path = Path(temporaryPath(self))
        with path.open("wb") as f:
            f.truncate(MESSAGE_FILE_LIMIT)
        self.assertEqual(len(readMessageBytes(str(path))), MESSAGE_FILE_LIMIT)
        with path.open("ab") as f:
            f.write(b"x")
        self.patch(os, "read", self._readForbidden)
        e = self.assertRaises(MessageError, readMessageBytes, str(path))
        self.assertEqual(
            str(e),
            f"cannot read message file {path}: it is {MESSAGE_FILE_LIMIT + 1} "
            f"bytes, more than the limit of {MESSAGE_FILE_LIMIT} (64 MiB)",
        )

    def _readForbidden(self, fd: int, size: int) -> bytes:
        self.fail("read a file that is refused")

    def _writerDuringReads(self, path: Path, rewrites: int) -> list[int]:
        """
        Rewrite C{path} in place while the first C{rewrites} reads of it
        are under way, as C{cat >} does: truncated, then written again, in
        two sizes by turns.

        @return: A list that counts the reads.
        """
        reads: list[int] = []
        realRead = os.read

        def read(fd: int, size: int) -> bytes:
            reads.append(size)
            if len(reads) <= rewrites:
                with path.open("r+b") as f:
                    f.truncate(0)
                    f.write(b"new " * (1024 + len(reads) % 2))
                return realRead(fd, 4096)
            return realRead(fd, size)

        self.patch(os, "read", read)
        return reads

    def test_changedWhileReadIsReadAgain(self) -> None:
        """
        A file rewritten while it is read is read again: the result is the
        whole new file, never the torn mixture.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"old " * 4096)
        reads = self._writerDuringReads(path, 1)
        self.assertEqual(readMessageBytes(str(path)), b"new " * 1025)
        self.assertGreater(len(reads), 1)

    def test_alwaysChangingRefused(self) -> None:
        """
        A file that changes during every one of L{READ_ATTEMPTS} reads is
        refused, saying how to update it safely.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"old " * 4096)
        reads = self._writerDuringReads(path, 10**6)
        e = self.assertRaises(MessageError, readMessageBytes, str(path))
        self.assertEqual(
            str(e),
            f"cannot read message file {path}: it kept changing while it was "
            f"read ({READ_ATTEMPTS} tries); update it by renaming a complete file "
            "over it",
        )
        self.assertGreaterEqual(len(reads), READ_ATTEMPTS)

    def test_replacedByRenameRead(self) -> None:
        """
        A file replaced by renaming a complete one over it (the documented
        way to update it) is read whole, old or new.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"old\n")
        temporary = path.with_name("message.tmp")
        temporary.write_bytes(b"new\n")
        os.rename(temporary, path)
        self.assertEqual(readMessageBytes(str(path)), b"new\n")

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
        Unknown names, codecs that are not text encodings, and names made of
        bytes the locale could not decode are refused.
        """
        for name in ["klingon", "base64", "rot13", "", "\udcff"]:
            e = self.assertRaises(MessageError, checkEncoding, name)
            self.assertEqual(str(e), f"unknown text encoding {name!r}")

    def test_unusable(self) -> None:
        """
        A codec that exists but encodes nothing (C{undefined}) is refused in
        one line.
        """
        e = self.assertRaises(MessageError, checkEncoding, "undefined")
        self.assertTrue(
            str(e).startswith("text encoding 'undefined' cannot be used: "), str(e)
        )
        self.assertNotIn("\n", str(e))


class EncodeTextTests(TestCase):
    """
    L{encodeText} encodes text sent as it is, such as C{--busy-message}.
    """

    def test_encoded(self) -> None:
        """
        Text is encoded with the encoding.
        """
        self.assertEqual(encodeText("Caf\xe9", "latin-1", "--b"), b"Caf\xe9")
        self.assertEqual(encodeText("", "utf-8", "--b"), b"")

    def test_failures(self) -> None:
        """
        Text the encoding cannot represent, argument bytes that are not
        text in it, and a codec that cannot encode are each one line
        naming the option.
        """
        for text, encoding, message in [
            ("Caf\xe9", "ascii", "--b: '\xe9' cannot be encoded as ascii"),
            (
                "\udcff",
                "utf-8",
                "cannot decode --b as utf-8: byte 0xff at offset 0 "
                "(invalid start byte)",
            ),
            (
                "busy",
                "idna",
                None,
            ),
        ]:
            if encoding == "idna":
                # idna encodes "busy", but not a label over 63 characters.
                text = "b" * 64
            e = self.assertRaises(MessageError, encodeText, text, encoding, "--b")
            if message is not None:
                self.assertEqual(str(e), message)
            else:
                self.assertTrue(str(e).startswith("--b: cannot be encoded as idna ("))

    def test_undecodedArgumentBytes(self) -> None:
        """
        Argument bytes that are text in the encoding are sent as typed.
        """
        self.assertEqual(encodeText("\udce9", "latin-1", "--b"), b"\xe9")


class TemplateCheckTests(TestCase):
    """
    A template is filled in with unlikely addresses when it is loaded, so
    that no connection can make it fail or grow past L{TEMPLATE_LIMIT}.
    """

    def test_encodingThatCannotFillIn(self) -> None:
        """
        An encoding that cannot encode a filled-in template (idna, with its
        strict error handling) is refused at load, in one line.
        """
        e = self.assertRaises(
            MessageError, parseMessage, "hi {peer_host}", "idna", "--message"
        )
        self.assertTrue(
            str(e).startswith(
                "--message: cannot be encoded as idna once filled in for an "
                "IPv4 address ("
            ),
            str(e),
        )
        self.assertNotIn("\n", str(e))

    def test_narrowEncodingReplaces(self) -> None:
        """
        Under ASCII, a UNIX socket path with characters ASCII lacks is
        filled in with replacements, and unprintable ones escaped.
        """
        message = parseMessage("{peer_host}", "ascii", "m")
        peer = UNIXAddress("/run/w\xe9l\x1b".encode())
        self.assertEqual(message.render(peer, HOST, NOW), b"/run/w?l\\x1b")

    def test_growthLimit(self) -> None:
        """
        A template that could fill in to more than L{TEMPLATE_LIMIT} bytes
        (a long UNIX path, escaped, for each placeholder) is refused.
        """
        e = self.assertRaises(
            MessageError, parseMessage, "{peer_host}" * 200, "utf-8", "m"
        )
        self.assertRegex(
            str(e),
            r"^m: a message with placeholders can be \d+ bytes once filled in, "
            rf"more than the limit of {TEMPLATE_LIMIT}$",
        )
        parseMessage("{peer_host}" * 100, "utf-8", "m")


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
