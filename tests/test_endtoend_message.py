"""
End-to-end tests of the installed C{twistd welcome}'s message options:
templates, message files and their edge cases, and SIGHUP reloads.
"""

from __future__ import annotations

import random
import signal
import socket
import time
from datetime import datetime, timezone
from pathlib import Path

from tests.support import ServerProcess, readAll, runClient
from tests.test_endtoend_listen import EndToEndCase

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
