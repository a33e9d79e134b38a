"""
Loopback clients that behave like the hostile ones of issue 4, for the
integration tests and C{benchmarks/soak.py}.

Each function talks only to 127.0.0.x, is bounded in count and time, and
returns a tally of what happened rather than asserting, so the soak script
can print it and the tests can check it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import ssl
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from attrs import define, field


@define
class Tally:
    """
    What happened to a group of connections.

    @ivar outcomes: Connections by outcome: C{greeted} (exactly the expected
        bytes, then the end), C{wrong} (other bytes), C{refused}, C{reset},
        C{timeout}, or an errno name.
    @ivar received: Bytes received in all.
    @ivar seconds: How long it took.
    """

    outcomes: Counter[str] = field(factory=Counter)
    received: int = 0
    seconds: float = 0.0

    @property
    def greeted(self) -> int:
        """
        @return: The connections that got exactly the expected welcome.
        """
        return self.outcomes["greeted"]

    def failures(self) -> dict[str, int]:
        """
        @return: Every outcome other than C{greeted}, with its count.
        """
        return {k: v for k, v in self.outcomes.items() if k != "greeted"}


WELCOME = b"Welcome!"
"""
The service's default welcome.
"""

PATTERN = bytes(range(32, 123)) * 2 + bytes(range(32, 106))
"""
256 bytes of text without placeholders, to build long welcomes from.
"""


def _nonblockingConnect(port: int, host: str = "127.0.0.1") -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    code = s.connect_ex((host, port))
    if code not in (0, errno.EINPROGRESS):
        s.close()
        raise OSError(code, f"connect: {errno.errorcode.get(code, code)}")
    return s


def _errorName(e: OSError) -> str:
    if e.errno == errno.ECONNREFUSED:
        return "refused"
    if e.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    return errno.errorcode.get(e.errno or 0, str(e))


def greetMany(
    port: int,
    count: int,
    expected: bytes,
    concurrency: int | None = None,
    seconds: float = 30.0,
    host: str = "127.0.0.1",
    untilClosed: bool = True,
) -> Tally:
    """
    Connect C{count} clients, each reading until the end, C{concurrency} at
    a time (all at once, a burst, if L{None}).

    @param untilClosed: Whether a client waits for the server to close;
        if not (for C{--keep-open}), it closes once it has as many bytes as
        it expects.

    @return: The tally; connections still unfinished after C{seconds} are
        C{timeout}s.
    """
    tally = Tally()
    started = time.monotonic()
    deadline = started + seconds
    limit = count if concurrency is None else concurrency
    buffers: dict[socket.socket, bytearray] = {}
    opened = 0
    with selectors.DefaultSelector() as selector:
        while opened < count or buffers:
            while opened < count and len(buffers) < limit:
                s = _nonblockingConnect(port, host)
                selector.register(s, selectors.EVENT_READ)
                buffers[s] = bytearray()
                opened += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                for s in buffers:
                    tally.outcomes["timeout"] += 1
                    selector.unregister(s)
                    s.close()
                break
            for key, _ in selector.select(min(remaining, 0.5)):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                s = ready
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    outcome = _errorName(e)
                else:
                    if data:
                        buffers[s] += data
                        tally.received += len(data)
                        if untilClosed or len(buffers[s]) < len(expected):
                            continue
                    outcome = "greeted" if buffers[s] == expected else "wrong"
                tally.outcomes[outcome] += 1
                selector.unregister(s)
                del buffers[s]
                closeAll([s])
    tally.seconds = time.monotonic() - started
    return tally


def resetAfterConnect(port: int, count: int, host: str = "127.0.0.1") -> int:
    """
    Open C{count} connections and reset each as soon as it is established
    (C{SO_LINGER} 0, then close): the server sees an RST, not a FIN.

    @return: How many were reset.
    """
    linger = struct.pack("ii", 1, 0)
    done = 0
    for _ in range(count):
        s = socket.create_connection((host, port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.close()
        done += 1
    return done


def holdOpen(
    port: int, count: int, receiveBuffer: int | None = None, host: str = "127.0.0.1"
) -> list[socket.socket]:
    """
    Open C{count} connections that never read.

    @param receiveBuffer: C{SO_RCVBUF} for each, to make the kernel hold
        less of what the server sends.
    @return: The sockets; the caller closes them.
    """
    sockets = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receiveBuffer is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receiveBuffer)
        s.settimeout(10)
        s.connect((host, port))
        sockets.append(s)
    return sockets


def closeAll(sockets: Iterable[socket.socket]) -> None:
    """
    Close every socket, resetting (no lingering) so no TIME_WAIT is left.
    """
    linger = struct.pack("ii", 1, 0)
    for s in sockets:
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.close()


def waitClosedByServer(sockets: Iterable[socket.socket], seconds: float) -> int:
    """
    Wait until the server has closed each connection (end of file or reset),
    draining what it sent.

    @return: How many it closed within C{seconds}.
    """
    pending = set(sockets)
    closed = 0
    deadline = time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        for s in pending:
            s.setblocking(False)
            selector.register(s, selectors.EVENT_READ)
        while pending and time.monotonic() < deadline:
            for key, _ in selector.select(0.2):
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                s = ready
                try:
                    if s.recv(1 << 20):
                        continue
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                closed += 1
                pending.discard(s)
                selector.unregister(s)
    return closed


def flood(port: int, megabytes: int, seconds: float = 60.0) -> int:
    """
    Send C{megabytes} of junk to the server on one connection, ignoring
    what it sends back.

    @return: Bytes sent before the server closed or the data ran out.
    """
    block = b"\xa5" * 65536
    sent = 0
    deadline = time.monotonic() + seconds
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as s:
        while sent < megabytes * 1048576 and time.monotonic() < deadline:
            try:
                sent += s.send(block)
            except OSError:
                break
    return sent


def rssKiB(pid: int) -> int:
    """
    @return: The resident set size of process C{pid}, in KiB.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for {pid}")


def cpuSeconds(pid: int) -> float:
    """
    @return: The CPU time (user + system) process C{pid} has used.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _greetEach(
    count: int, greetOne: Callable[[int], bytes], expected: bytes, concurrency: int
) -> Tally:
    """
    Run C{greetOne(i)} for each C{i} below C{count}, C{concurrency} at a
    time in threads, and tally what each received.
    """
    tally = Tally()
    started = time.monotonic()

    def one(i: int) -> tuple[str, int]:
        try:
            data = greetOne(i)
        except TimeoutError:
            return "timeout", 0
        except ssl.SSLError as e:
            return f"TLS {e.reason}", 0
        except OSError as e:
            return _errorName(e), 0
        return "greeted" if data == expected else "wrong", len(data)

    with ThreadPoolExecutor(concurrency) as pool:
        for outcome, received in pool.map(one, range(count)):
            tally.outcomes[outcome] += 1
            tally.received += received
    tally.seconds = time.monotonic() - started
    return tally


def _readToEnd(s: socket.socket) -> bytes:
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def greetOverTLS(
    port: int,
    count: int,
    expected: bytes,
    concurrency: int = 20,
    seconds: float = 30.0,
    host: str = "127.0.0.1",
    addresses: list[str] | None = None,
) -> Tally:
    """
    Connect C{count} TLS clients, C{concurrency} at a time, each doing the
    handshake (without checking the certificate) and reading to the end.

    @param addresses: If given, each client's own C{host:port} is added, to
        find it in the server's log.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE

    def greetOne(i: int) -> bytes:
        with socket.create_connection((host, port), timeout=seconds) as raw:
            if addresses is not None:
                local = raw.getsockname()
                addresses.append(f"{local[0]}:{local[1]}")
            with context.wrap_socket(raw) as s:
                data = _readToEnd(s)
                # Answer the server's close_notify, as a TLS client should;
                # without it the server counts the connection as an error.
                with contextlib.suppress(OSError):
                    s.unwrap()
                return data

    return _greetEach(count, greetOne, expected, concurrency)


def proxyHeader(client: str, clientPort: int, serverPort: int = 12000) -> bytes:
    """
    @return: A version 1 PROXY header for a TCP4 client.
    """
    return f"PROXY TCP4 {client} 127.0.0.1 {clientPort} {serverPort}\r\n".encode()


def greetBehindProxy(
    port: int,
    count: int,
    expected: bytes,
    concurrency: int = 20,
    seconds: float = 30.0,
    host: str = "127.0.0.1",
) -> Tally:
    """
    Connect C{count} clients that each send a PROXY header naming client
    C{192.0.2.1:(10000 + i)}, then read to the end.
    """

    def greetOne(i: int) -> bytes:
        with socket.create_connection((host, port), timeout=seconds) as s:
            s.sendall(proxyHeader("192.0.2.1", 10000 + i))
            return _readToEnd(s)

    return _greetEach(count, greetOne, expected, concurrency)


def descriptorCount(pid: int) -> int:
    """
    @return: How many file descriptors process C{pid} has open.
    """
    return len(os.listdir(f"/proc/{pid}/fd"))
