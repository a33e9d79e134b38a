"""
End-to-end tests of the installed C{twistd welcome}'s message options:
templates, message files and their edge cases, and SIGHUP reloads.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import ServerProcess, installedScript, readAll, runClient
from tests.test_endtoend_listen import EndToEndCase
from welcome_protocol.configuration.groups import PORT_ERROR
from welcome_protocol.greeting.message import MESSAGE_FILE_LIMIT

MIB = 1024 * 1024


def connect(port: int, receiveBuffer: int | None = None) -> socket.socket:
    """
    Connect a raw TCP socket to the server on loopback.

    @param receiveBuffer: A small C{SO_RCVBUF} makes a slow reader whose
        window fills up, so the server has to wait for it.
    """
    sock = socket.socket()
    if receiveBuffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receiveBuffer)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    return sock


def readSlowly(sock: socket.socket, pauses: int = 8) -> bytes:
    """
    Read everything from C{sock}, pausing between the first reads so the
    server's writes back up.
    """
    chunks: list[bytes] = []
    for _ in range(pauses):
        time.sleep(0.05)
        chunk = sock.recv(4096)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    return b"".join(chunks) + readAll(sock)


class MessageCase(EndToEndCase):
    """
    Start servers with message files.
    """

    def messageFile(self, content: bytes) -> Path:
        """
        Write C{content} to a new file.
        """
        path = self.scratch() / "message.txt"
        path.write_bytes(content)
        return path

    def startWith(self, *args: str) -> tuple[ServerProcess, int]:
        """
        Start a server on a free loopback port with C{args}.

        @return: The server and its port.
        """
        server = self.startServer("--listen", "tcp:0:interface=127.0.0.1", *args)
        return server, server.tcpPort()


class MessageTests(MessageCase):
    """
    C{--message} and C{--message-file}, sent exactly as given.
    """

    def test_everyPlaceholder(self) -> None:
        """
        Every placeholder is filled in for the connecting client.
        """
        _server, port = self.startWith(
            "--message",
            "{peer_host} {peer_port} {server_host} {server_port} {hostname} "
            "{time} {{literal}}\n",
        )
        before = int(time.time())
        with connect(port) as sock:
            clientPort = sock.getsockname()[1]
            fields = readAll(sock).decode("utf-8").split(" ")
        after = time.time()
        self.assertEqual(
            fields[:5] + fields[6:],
            [
                "127.0.0.1",
                str(clientPort),
                "127.0.0.1",
                str(port),
                socket.gethostname(),
                "{literal}\n",
            ],
        )
        sent = datetime.strptime(fields[5], "%Y-%m-%dT%H:%M:%SZ")
        sentSeconds = sent.replace(tzinfo=timezone.utc).timestamp()
        self.assertTrue(before <= sentSeconds <= after, (before, fields[5], after))

    def test_unknownPlaceholder(self) -> None:
        """
        An unknown placeholder stops the server at start, naming it.
        """
        server = self.startServer("--message", "Hi {name}")
        self.assertEqual(server.wait(), 1)
        self.assertIn(
            "--message: unknown placeholder {name}; the placeholders are ",
            server.output[-1],
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_emptyFile(self) -> None:
        """
        An empty file sends nothing: the connection closes at once, and the
        client says so (exit 1).
        """
        _server, port = self.startWith("--message-file", str(self.messageFile(b"")))
        with connect(port) as sock:
            self.assertEqual(readAll(sock), b"")
        result = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(
            result.stderr,
            f"welcome-client: 127.0.0.1:{port} closed the connection without "
            "sending anything\n",
        )

    def test_largeFileToSlowReader(self) -> None:
        """
        A 1 MiB file reaches a slow reader whole, byte for byte, while the
        server goes on greeting others.
        """
        rng = random.Random(3)
        content = bytes(rng.choice(b"abcdefghij\n") for _ in range(MIB - 1)) + b"\n"
        _server, port = self.startWith("--message-file", str(self.messageFile(content)))
        with connect(port, receiveBuffer=4096) as slow:
            time.sleep(0.2)
            other = runClient(
                [
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--max-bytes",
                    str(2 * MIB),
                ]
            )
            self.assertEqual(other.stdout.encode("ascii"), content)
            received = readSlowly(slow)
        self.assertEqual(len(received), MIB)
        self.assertEqual(received, content)

    def test_latin1File(self) -> None:
        """
        With C{--encoding latin-1}, bytes that are not UTF-8 are sent as
        they are, around a filled-in placeholder.
        """
        path = self.messageFile(b"Caf\xe9 {peer_host} \xff\n")
        _server, port = self.startWith(
            "--message-file", str(path), "--encoding", "latin-1"
        )
        with connect(port) as sock:
            self.assertEqual(readAll(sock), b"Caf\xe9 127.0.0.1 \xff\n")

    def test_undecodableFile(self) -> None:
        """
        Under the default UTF-8, the same file stops the server at start
        with a line naming the file, the byte and its offset.
        """
        path = self.messageFile(b"Caf\xe9 {peer_host}\n")
        server = self.startServer("--message-file", str(path))
        self.assertEqual(server.wait(), 1)
        self.assertTrue(
            server.output[-1].endswith(
                f": cannot decode message file {path} as utf-8: byte 0xe9 at "
                "offset 3 (invalid continuation byte)"
            ),
            server.output[-1],
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_missingFile(self) -> None:
        """
        A missing file stops the server at start, naming the file.
        """
        path = self.scratch() / "missing.txt"
        server = self.startServer("--message-file", str(path))
        self.assertEqual(server.wait(), 1)
        self.assertTrue(
            server.output[-1].endswith(
                f": cannot read message file {path}: no such file or directory"
            ),
            server.output[-1],
        )


class HangupTests(MessageCase):
    """
    SIGHUP re-reads the message file, keeping connections and listeners.
    """

    def test_reload(self) -> None:
        """
        After SIGHUP, new clients get the file's new content; a client being
        sent the old message still gets all of it; the listener stays.  A
        file that went bad keeps the last good message, with one log line.
        """
        old = b"old " * (MIB // 4)
        path = self.messageFile(old)
        server, port = self.startWith("--message-file", str(path))
        server.waitRunning()
        with connect(port, receiveBuffer=4096) as inFlight:
            time.sleep(0.1)
            path.write_bytes(b"new for {peer_host}\n")
            server.process.send_signal(signal.SIGHUP)
            server.waitForLine(rf"Now sending the message from message file {path}$")
            self.assertEqual(readSlowly(inFlight), old)
        self.assertEqual(
            runClient(["--host", "127.0.0.1", "--port", str(port)]).stdout,
            "new for 127.0.0.1\n",
        )

        path.write_bytes(b"bad {placeholder}\n")
        server.process.send_signal(signal.SIGHUP)
        line = server.waitForLine(r"Kept the previous message")
        self.assertTrue(
            line.endswith(
                f"Kept the previous message: message file {path}: unknown "
                "placeholder {placeholder}; the placeholders are {peer_host}, "
                "{peer_port}, {server_host}, {server_port}, {hostname}, {time} "
                "(write {{ and }} for literal braces)"
            ),
            line,
        )
        path.unlink()
        server.process.send_signal(signal.SIGHUP)
        server.waitForLine(
            rf"Kept the previous message: cannot read message file {path}: "
            "no such file or directory$"
        )
        self.assertEqual(
            runClient(["--host", "127.0.0.1", "--port", str(port)]).stdout,
            "new for 127.0.0.1\n",
        )
        self.assertEqual(server.addresses, [f"127.0.0.1:{port}"])
        self.assertEqual(server.stop(), -signal.SIGTERM)
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_hangupWithoutFile(self) -> None:
        """
        Without a message file, SIGHUP does not stop the server; it says
        there is nothing to re-read.
        """
        server, port = self.startWith()
        server.waitRunning()
        server.process.send_signal(signal.SIGHUP)
        server.waitForLine(r"Received SIGHUP; no --message-file to re-read")
        self.assertEqual(
            runClient(["--host", "127.0.0.1", "--port", str(port)]).stdout,
            "Welcome!\n",
        )


def newLine(server: ServerProcess, after: int, pattern: str) -> str:
    """
    Wait for a line matching C{pattern} among those logged after the first
    C{after}.

    @return: The line.
    """
    compiled = re.compile(pattern)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for line in server.output[after:]:
            if compiled.search(line):
                return line
        server._readFor(0.1)
    raise AssertionError(f"no new line matching {pattern!r}: {server.output}")


def assertRefusedAtStart(
    case: MessageCase, runs: list[tuple[ServerProcess, str]]
) -> None:
    """
    Each server stopped at start with twistd's usage status, 1, its last
    line ending in the expected one-line reason, and no traceback.

    @param runs: The servers, started together, each with the end of its
        last line.
    """
    for server, reason in runs:
        status = server.wait(30)
        output = "\n".join(server.output)
        case.assertEqual(status, 1, output)
        case.assertTrue(server.output[-1].endswith(reason), (server.output[-1], reason))
        case.assertNotIn("Traceback", output)


class MessageFileBoundsTests(MessageCase):
    """
    Only a regular file within the size limit is a message file; anything
    else is refused in one line, at start or on SIGHUP, without blocking or
    reading it.
    """

    def badFiles(self) -> list[tuple[str, str]]:
        """
        @return: Paths that are no message file, each with the reason.
        """
        base = self.scratch()
        fifo = base / "fifo"
        os.mkfifo(fifo)
        large = base / "large"
        with large.open("wb") as f:
            f.truncate(MESSAGE_FILE_LIMIT + 1)
        directory = base / "directory"
        directory.mkdir()
        return [
            (str(fifo), "is a FIFO, not a regular file"),
            ("/dev/zero", "is a character device, not a regular file"),
            (str(directory), "is a directory"),
            (
                str(large),
                f"it is {MESSAGE_FILE_LIMIT + 1} bytes, more than the limit of "
                f"{MESSAGE_FILE_LIMIT} (64 MiB)",
            ),
        ]

    def test_refusedAtStart(self) -> None:
        """
        A FIFO (with no writer), C{/dev/zero}, a directory and a file past
        the limit each stop the server at once with a line naming the file
        and the reason.
        """
        runs = [
            (
                self.startServer("--message-file", path),
                f": cannot read message file {path}: {why}",
            )
            for path, why in self.badFiles()
        ]
        assertRefusedAtStart(self, runs)

    def test_largestAllowedServed(self) -> None:
        """
        A file of the largest size allowed, above the 16 MiB welcome of the
        soak test, is served whole.
        """
        self.assertGreater(MESSAGE_FILE_LIMIT, 16 * MIB)
        path = self.scratch() / "message.txt"
        with path.open("wb") as f:
            f.truncate(MESSAGE_FILE_LIMIT - 1)
            f.seek(MESSAGE_FILE_LIMIT - 1)
            f.write(b"\n")
        _server, port = self.startWith("--message-file", str(path))
        with connect(port) as sock:
            received = readAll(sock, 60)
        self.assertEqual(len(received), MESSAGE_FILE_LIMIT)
        self.assertEqual(received[-2:], b"\0\n")

    def test_refusedOnHangup(self) -> None:
        """
        Renamed over the message file, each of them is refused on SIGHUP
        with one line, and the previous message stays in service.
        """
        path = self.messageFile(b"kept\n")
        server, port = self.startWith("--message-file", str(path))
        server.waitRunning()
        for bad, why in self.badFiles():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            if bad == "/dev/zero":
                path.symlink_to(bad)
            else:
                os.replace(bad, path)
            server.process.send_signal(signal.SIGHUP)
            server.waitForLine(
                rf"Kept the previous message: cannot read message file "
                rf"{re.escape(str(path))}: {re.escape(why)}$"
            )
            with connect(port) as sock:
                self.assertEqual(readAll(sock), b"kept\n")
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_rewrittenInPlaceNeverTorn(self) -> None:
        """
        A SIGHUP that comes while the file is being rewritten in place
        (truncated, then written in 4 KiB pieces, as C{cat > FILE} does)
        never serves it torn: the reload waits until the file has settled,
        and every welcome is one version whole.
        """
        versions = [bytes([letter]) * 16384 for letter in b"AB"]
        path = self.messageFile(versions[0])
        server, port = self.startWith("--message-file", str(path))
        server.waitRunning()
        for turn in range(1, 6):
            content = versions[turn % 2]
            seen = len(server.output)
            with path.open("r+b", buffering=0) as f:
                f.truncate(0)
                f.write(content[:8192])
                server.process.send_signal(signal.SIGHUP)
                newLine(server, seen, r"Re-reading message file")
                time.sleep(0.03)
                f.write(content[8192:])
            line = newLine(server, seen, r"Now sending the message|Kept the previous")
            self.assertIn("Now sending the message", line)
            # No signal in flight while a welcome is written: see the
            # report on connections held open by a storm of signals.
            with connect(port) as sock:
                self.assertEqual(readAll(sock), content, turn)
        self.assertNotIn("Traceback", "\n".join(server.output))


class EncodingTests(MessageCase):
    """
    An encoding that cannot send the welcome, the busy message or a
    filled-in template stops the server at start, in one line.
    """

    def test_refusedAtStart(self) -> None:
        """
        Each bad combination ends the start with twistd's usage status and
        one line naming what is wrong; none starts, none a traceback.
        """
        cases = [
            (
                ["--encoding", "undefined"],
                ": text encoding 'undefined' cannot be used: encoding with "
                "'undefined' codec failed (UnicodeError: undefined encoding)",
            ),
            # The byte 0xff, as the shell's $'\xff' passes it.
            (["--encoding", "\udcff"], ": unknown text encoding '\\udcff'"),
            (["--encoding", "base64"], ": unknown text encoding 'base64'"),
            (
                ["--busy-message", "\udcff"],
                ": cannot decode --busy-message as utf-8: byte 0xff at offset 0 "
                "(invalid start byte)",
            ),
            (
                ["--busy-message", "Caf\xe9", "--encoding", "ascii"],
                ": --busy-message: '\xe9' cannot be encoded as ascii",
            ),
            (
                ["--message", "hi {peer_host}", "--encoding", "idna"],
                ": --message: cannot be encoded as idna once filled in for an "
                "IPv4 address (encoding with 'idna' codec failed (UnicodeError: "
                "unsupported error handling replace))",
            ),
        ]
        runs = [(self.startServer(*args), reason) for args, reason in cases]
        assertRefusedAtStart(self, runs)

    def test_busyMessageInEncoding(self) -> None:
        """
        The busy message is sent in C{--encoding}, as the welcome is.
        """
        _server, port = self.startWith(
            "--encoding",
            "latin-1",
            "--max-connections",
            "1",
            "--keep-open",
            "--message",
            "Caf\xe9",
            "--busy-message",
            "Occup\xe9",
        )
        with connect(port) as first, connect(port) as second:
            self.assertEqual(first.recv(100), b"Caf\xe9")
            self.assertEqual(readAll(second), b"Occup\xe9")


class StartupErrorStreamTests(TestCase):
    """
    A start-up error that is no usage error (a message file, an encoding)
    is one line on stderr and exit status 1, with nothing on stdout; a real
    usage error keeps twistd's usage text.
    """

    def twistd(self, *args: str) -> subprocess.CompletedProcess[str]:
        """
        Run the installed C{twistd welcome} with C{args} (each case ends
        while the options are parsed, before anything listens).
        """
        return subprocess.run(
            [installedScript("twistd"), "-n", "welcome", *args],
            cwd=tempfile.gettempdir(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_oneLineOnStderr(self) -> None:
        """
        Each documented start-up error: status 1, stdout empty, stderr one
        line C{twistd welcome: REASON}.
        """
        base = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, base)
        missing = base / "missing.txt"
        undecodable = base / "latin1.txt"
        undecodable.write_bytes(b"Caf\xe9\n")
        fifo = base / "fifo"
        os.mkfifo(fifo)
        large = base / "large"
        with large.open("wb") as f:
            f.truncate(MESSAGE_FILE_LIMIT + 1)
        cases = [
            (
                ["--message-file", str(fifo)],
                f"cannot read message file {fifo}: is a FIFO, not a regular file",
            ),
            (
                ["--message-file", "/dev/zero"],
                "cannot read message file /dev/zero: is a character device, not a "
                "regular file",
            ),
            (
                ["--message-file", str(large)],
                f"cannot read message file {large}: it is {MESSAGE_FILE_LIMIT + 1} "
                f"bytes, more than the limit of {MESSAGE_FILE_LIMIT} (64 MiB)",
            ),
            (
                ["--message", "{nope}"],
                "--message: unknown placeholder {nope}; the placeholders are "
                "{peer_host}, {peer_port}, {server_host}, {server_port}, "
                "{hostname}, {time} (write {{ and }} for literal braces)",
            ),
            (
                ["--encoding", "undefined"],
                "text encoding 'undefined' cannot be used: encoding with "
                "'undefined' codec failed (UnicodeError: undefined encoding)",
            ),
            (
                ["--message-file", str(missing)],
                f"cannot read message file {missing}: no such file or directory",
            ),
            (
                ["--message-file", str(undecodable)],
                f"cannot decode message file {undecodable} as utf-8: byte 0xe9 "
                "at offset 3 (invalid continuation byte)",
            ),
            (
                ["--message-file", str(base)],
                f"cannot read message file {base}: is a directory",
            ),
            (["--encoding", "klingon"], "unknown text encoding 'klingon'"),
            (["--encoding", "base64"], "unknown text encoding 'base64'"),
            (
                ["--busy-message", "Caf\xe9", "--encoding", "ascii"],
                "--busy-message: '\xe9' cannot be encoded as ascii",
            ),
        ]
        for args, reason in cases:
            result = self.twistd(*args)
            self.assertEqual(
                (result.returncode, result.stdout, result.stderr),
                (1, "", f"twistd welcome: {reason}\n"),
                args,
            )

    def test_usageErrorKeepsUsage(self) -> None:
        """
        A value twistd cannot read (C{--port http}) is still a usage error:
        twistd's usage text on stdout, then the line naming it.
        """
        result = self.twistd("--port", "http")
        self.assertEqual(result.returncode, 1)
        lines = result.stdout.splitlines()
        self.assertGreater(len(lines), 20)
        self.assertIn("--message-file=", result.stdout)
        self.assertTrue(lines[-1].endswith(f": {PORT_ERROR.format('http')}"), lines[-1])
