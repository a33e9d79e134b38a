"""
Every guarantee on every path: the matrix of docs/architecture.md.

Each guarantee is written once, in a mixin, and run on every path it
applies to by one concrete class per path, made by L{makePathTestCases} as
Twisted's C{ReactorBuilder.makeTestCaseClasses} makes one class per reactor.
The cells that run the installed C{twistd} talk to it over real sockets on
loopback; the containment cells run the listener builder in this process,
on the real reactor.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import resource
import shutil
import socket
import ssl
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from twisted.internet import reactor as globalReactor
from twisted.internet import threads
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IAddress, IListeningPort
from twisted.protocols.policies import WrappingFactory
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.hostileclients import closeAll, cpuSeconds, rssKiB, waitClosedByServer
from tests.support import ServerProcess, freePort, temporaryPath
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.listening.builder import buildEndpoint
from welcome_protocol.listening.directtcp.pausing import RETRY_DELAY

_CLIENT_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_CLIENT_TLS.check_hostname = False
_CLIENT_TLS.verify_mode = ssl.CERT_NONE

#: The header every PROXY client sends: the client is 192.0.2.7.
_HEADER = b"PROXY TCP4 192.0.2.7 192.0.2.1 40000 12000\r\n"


@dataclass(frozen=True)
class ListenerPath:
    """
    One way in: a listener kind, with or without PROXY, in one process or
    with workers, behind systemd or not.

    @ivar name: The path's name in the matrix.
    @ivar kind: The socket's description kind: C{tcp}, C{tcp6}, C{unix},
        C{ssl} or C{tls}.
    @ivar proxy: Whether a PROXY header comes first (C{haproxy:}).
    @ivar workers: C{--workers} processes, or 0.
    @ivar systemd: Whether systemd passes the socket.
    """

    name: str
    kind: str
    proxy: bool = False
    workers: int = 0
    systemd: bool = False

    @property
    def tls(self) -> bool:
        """
        Whether a TLS handshake comes before the welcome.
        """
        return self.kind in ("ssl", "tls")

    @property
    def unfinished(self) -> bool:
        """
        Whether anything comes before the welcome (so a deadline applies).
        """
        return self.tls or self.proxy

    @property
    def hasAddress(self) -> bool:
        """
        Whether clients have an address (per-IP limits apply).
        """
        return self.proxy or self.kind != "unix"


PATHS = [
    ListenerPath("tcp", "tcp"),
    ListenerPath("tcp6", "tcp6"),
    ListenerPath("unix", "unix"),
    ListenerPath("ssl", "ssl"),
    ListenerPath("tls", "tls"),
    ListenerPath("haproxy-tcp", "tcp", proxy=True),
    ListenerPath("haproxy-tcp6", "tcp6", proxy=True),
    ListenerPath("haproxy-unix", "unix", proxy=True),
    ListenerPath("haproxy-ssl", "ssl", proxy=True),
    ListenerPath("haproxy-tls", "tls", proxy=True),
    ListenerPath("systemd", "tcp", systemd=True),
    ListenerPath("workers-tcp", "tcp", workers=2),
    ListenerPath("workers-tcp6", "tcp6", workers=2),
    ListenerPath("redirect", "redirect"),
    # IP_TRANSPARENT takes CAP_NET_ADMIN: the path runs as root, and under
    # CI=true, where its absence must fail, not pass unseen.
    *(
        [ListenerPath("tproxy", "tproxy")]
        if os.geteuid() == 0 or os.environ.get("CI") == "true"
        else []
    ),
]


def _ownLoopbackAddress() -> str:
    """
    @return: A random IPv4 loopback address outside 127.0.0.0/16, which
        the other tests use (Linux answers the whole of 127.0.0.0/8).
    """
    second, third, fourth = (random.randrange(1, 255) for _ in range(3))
    return f"127.{second}.{third}.{fourth}"


class _Listener:
    """
    Where a path's listener is, and how to connect to it.
    """

    def __init__(self, case: PathCase) -> None:
        path = case.path
        self.path = path
        scratch = Path(temporaryPath(case))
        scratch.mkdir()
        self.scratch = scratch
        # An IPv4 loopback address of this listener's own: a client of
        # another test that connects to 127.0.0.1 on a port it believes free
        # (a scan of closed ports, say) cannot reach this server and take a
        # place under its limits.
        self.host = "::1" if path.kind == "tcp6" else _ownLoopbackAddress()
        self.port = 0
        self.unixPath = str(scratch / "welcome.sock")
        cert, key = makeCertificate(scratch)
        pemDir = scratch / "pem"
        pemDir.mkdir()
        (pemDir / "localhost.pem").write_bytes(key.read_bytes() + cert.read_bytes())
        self.cert, self.key, self.pemDir = cert, key, pemDir

    def description(self, port: int = 0) -> str:
        """
        @return: The C{--listen} description of this path.
        """
        kind = self.path.kind
        if kind in ("tcp", "redirect", "tproxy"):
            inner = f"{kind}:{port}:interface={self.host}"
        elif kind == "tcp6":
            inner = rf"tcp6:{port}:interface=\:\:1"
        elif kind == "unix":
            inner = f"unix:{self.unixPath}"
        elif kind == "ssl":
            inner = (
                f"ssl:{port}:interface={self.host}:privateKey={self.key}"
                f":certKey={self.cert}"
            )
        else:
            inner = f"tls:{self.pemDir}:port={port}:interface={self.host}"
        return ("haproxy:" if self.path.proxy else "") + inner

    def raw(self) -> socket.socket:
        """
        @return: A connected socket that has sent nothing.
        """
        if self.path.kind == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(self.unixPath)
            return s
        s = socket.create_connection((self.host, self.port), timeout=10)
        return s

    def opened(self) -> tuple[socket.socket, socket.socket]:
        """
        Connect and get through everything before the welcome.

        @return: The socket to read the welcome from (TLS, if any), and the
            raw socket under it.
        """
        raw = self.raw()
        s: socket.socket = raw
        if self.path.tls:
            s = _CLIENT_TLS.wrap_socket(raw, server_hostname="localhost")
        if self.path.proxy:
            s.sendall(_HEADER)
        return s, raw

    def greet(self, until: bytes | None = None) -> bytes:
        """
        Connect, and read what the server sends.

        @param until: Stop reading once this much has come (the welcome of
            a server that keeps connections open); L{None} to read until
            the server closes.
        @return: What the server sent.
        """
        s, _ = self.opened()
        with s:
            received = b""
            with contextlib.suppress(OSError):
                while chunk := s.recv(65536):
                    received += chunk
                    if until is not None and until in received:
                        break
            return received

    def exchange(self, seconds: float) -> tuple[bytes, bool]:
        """
        Connect, and read until the server ends the connection or
        C{seconds} pass, whichever comes first.

        @return: What the server sent, and whether it ended the connection
            (an end of file, a reset, a TLS handshake cut short) within
            C{seconds}: C{False} for a connection still open then.
        """
        deadline = time.monotonic() + seconds
        received = b""
        try:
            s, raw = self.opened()
        except TimeoutError:
            return received, False
        except OSError:
            return received, True
        with s, raw:
            while (remaining := deadline - time.monotonic()) > 0:
                s.settimeout(remaining)
                try:
                    chunk = s.recv(65536)
                except TimeoutError:
                    return received, False
                except OSError:
                    return received, True
                if not chunk:
                    return received, True
                received += chunk
        return received, False


class PathCase(TestCase):
    """
    The base of every matrix class: C{path} says which path it runs on.
    """

    path: ClassVar[ListenerPath]

    def startServer(
        self, *args: str, preexec: Callable[[], None] | None = None
    ) -> tuple[ServerProcess, _Listener]:
        """
        Start the installed C{twistd welcome} on this path.
        """
        listener = _Listener(self)
        options = list(args)
        launcher: tuple[str, ...] = ()
        if self.path.systemd:
            systemdActivate = shutil.which("systemd-socket-activate")
            if systemdActivate is None:
                raise AssertionError("systemd-socket-activate is not installed")
            listener.port = freePort(listener.host)
            launcher = (systemdActivate, f"--listen={listener.host}:{listener.port}")
            options += ["--listen", "systemd:domain=INET:index=0"]
        else:
            options += ["--listen", listener.description()]
        if self.path.workers:
            options += ["--workers", str(self.path.workers)]
        server = ServerProcess(options, launcher=launcher, preexec=preexec)
        self.addCleanup(server.kill)
        if self.path.systemd:
            # The first connection, once systemd-socket-activate listens,
            # starts the service.
            server.waitForLine(
                rf"Listening on {re.escape(listener.host)}:{listener.port} as 3"
            )
            with contextlib.suppress(OSError):
                listener.raw().close()
            server.waitForLine(r"Listening on .*systemd:")
        else:
            address = server.waitListening()[0]
            if self.path.kind != "unix":
                listener.port = int(address.rsplit(":", 1)[1])
        if self.path.workers:
            # Every worker, not the first one N times: a cell that starts
            # with one worker running sends all its clients to it.
            server.waitForLines(r"Worker \d+ serving on", self.path.workers)
        server.waitRunning()
        return server, listener


class BeforeTheWelcomeMixin:
    """
    The deadline and the cap on unfinished connections: on every path where
    something (a TLS handshake, a PROXY header) comes before the welcome.
    """

    path: ClassVar[ListenerPath]
    startServer: Callable[..., tuple[ServerProcess, _Listener]]

    def test_silentClientClosedAtDeadline(self) -> None:
        """
        A client that connects and sends nothing is closed at
        C{--handshake-timeout}, not later.
        """
        case: Any = self
        if not self.path.unfinished:
            case.assertFalse(self.path.unfinished)
            return
        _server, listener = self.startServer("--handshake-timeout", "0.3")
        silent = [listener.raw() for _ in range(5)]
        case.addCleanup(closeAll, silent)
        case.assertEqual(waitClosedByServer(silent, 4.0), 5)

    def test_oldestUnfinishedClosedAtCap(self) -> None:
        """
        With C{--max-handshakes 2}, a third silent client closes the oldest
        at once, long before the deadline.
        """
        case: Any = self
        if not self.path.unfinished:
            case.assertFalse(self.path.unfinished)
            return
        _server, listener = self.startServer(
            "--handshake-timeout", "60", "--max-handshakes", "2"
        )
        oldest = listener.raw()
        time.sleep(0.2)
        newer = [listener.raw(), listener.raw()]
        case.addCleanup(closeAll, [oldest, *newer])
        case.assertEqual(waitClosedByServer([oldest], 5.0), 1)
        case.assertEqual(waitClosedByServer(newer, 0.5), 0)


#: The idle timeout the cells after the welcome run with: small, since
#: the tests wait for it.
_IDLE_SECONDS = 0.3

#: Seconds within which the idle timeout must have closed every silent
#: client (the timeout, and room for a loaded machine).
_CLOSED_SECONDS = 5.0


class AfterTheWelcomeMixin:
    """
    After the welcome: every connection is closed within the idle timeout,
    whatever the welcome's size and even if the client never closes or
    answers a TLS C{close_notify}; the limits hold.
    """

    path: ClassVar[ListenerPath]
    startServer: Callable[..., tuple[ServerProcess, _Listener]]

    def _silentAfterWelcome(self, message: str, keepOpen: bool) -> None:
        case: Any = self
        args = [
            "--message",
            message,
            "--idle-timeout",
            str(_IDLE_SECONDS),
            "--handshake-timeout",
            "5",
        ]
        if keepOpen:
            args.append("--keep-open")
        _server, listener = self.startServer(*args)
        clients = []
        raws = []
        for _ in range(5):
            s, raw = listener.opened()
            clients.append(s)
            raws.append(raw)
        # Read the welcome (the TLS layer decrypts it), then stay silent:
        # never close, never answer the server's close_notify.
        for s in clients:
            s.settimeout(10)
            got = b""
            with contextlib.suppress(OSError):
                while len(got) < len(message):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
            case.assertEqual(got[: len(message)], message.encode())
        started = time.monotonic()
        case.addCleanup(closeAll, raws)
        # The raw sockets see the TCP close (FIN or reset).
        # (A TLS socket took over its raw socket's descriptor.)
        plain = [socket.socket(fileno=os.dup(s.fileno())) for s in clients]
        case.addCleanup(closeAll, plain)
        case.assertEqual(waitClosedByServer(plain, _CLOSED_SECONDS), 5)
        case.assertLess(time.monotonic() - started, _CLOSED_SECONDS)

    def test_silentAfterShortWelcomeClosed(self) -> None:
        """
        Clients silent after a short welcome (at most 4 KiB, one write) are
        closed within the idle timeout, TLS included.
        """
        self._silentAfterWelcome("hi", keepOpen=False)

    def test_silentAfterLongWelcomeClosed(self) -> None:
        """
        The same with an 8 KiB welcome, written through the producer.
        """
        self._silentAfterWelcome("x" * 8192, keepOpen=False)

    def test_keptOpenSilentClosed(self) -> None:
        """
        With C{--keep-open}, silent clients are closed at the idle timeout.
        """
        self._silentAfterWelcome("hi", keepOpen=True)

    def test_limitsHold(self) -> None:
        """
        Over the limit (per address where clients have one, in all where
        they have none), a client gets the busy message and the close.
        """
        case: Any = self
        limit = ["--max-per-ip", "1"] if self.path.hasAddress else []
        if not self.path.hasAddress or self.path.workers:
            # Each worker counts its own connections: --max-connections is
            # per process; the per-address limit as well.
            limit = ["--max-connections", "1"]
        server, listener = self.startServer(
            "--keep-open", "--busy-message", "busy", *limit
        )
        outcomes = []
        for _ in range(max(1, self.path.workers) + 1):
            outcomes.append(_outcome(listener, case))
        # Over TLS the address is known, and the refusal made, before the
        # handshake, so it cannot carry the busy message: the connection is
        # closed.  Behind a PROXY header the refusal comes after it.
        refused = {b"closed"} if self.path.tls and not self.path.proxy else {b"busy"}
        # The log says which process admitted or refused whom.
        server.readAvailable()
        explained = f"{outcomes}; the server's log:\n" + "\n".join(server.output)
        case.assertIn(b"Welcome!", outcomes, explained)
        case.assertTrue(refused & set(outcomes), explained)


def _outcome(listener: _Listener, case: TestCase) -> bytes:
    """
    Connect and keep the connection; return what the server sent first, or
    C{b"closed"} if it closed the connection before sending anything.
    """
    try:
        s, _ = listener.opened()
        s.settimeout(5)
        first = s.recv(100)
    except OSError:
        return b"closed"
    # Kept open, so the limit stays reached, until the test ends.
    case.addCleanup(closeAll, [s])
    return first or b"closed"


class MemoryMixin:
    """
    Bounded memory per connection: held connections cost the process (and
    its workers) a bounded amount each.
    """

    path: ClassVar[ListenerPath]
    startServer: Callable[..., tuple[ServerProcess, _Listener]]

    def test_heldConnectionsCostBoundedMemory(self) -> None:
        """
        300 connections held open after their welcome cost at most 16 KiB
        each, 96 KiB over TLS (OpenSSL's own state).
        """
        case: Any = self
        server, listener = self.startServer("--keep-open", "--idle-timeout", "60")
        # Warm up: the first connections allocate what every later one reuses.
        warm = [listener.opened()[0] for _ in range(20)]
        case.addCleanup(closeAll, warm)
        # Once each has its welcome, the server has done all it does for it.
        for s in warm:
            s.settimeout(10)
            case.assertEqual(s.recv(100), b"Welcome!")
        before = _treeRSS(server.pid)
        held = []
        for _ in range(300):
            s, _ = listener.opened()
            held.append(s)
        case.addCleanup(closeAll, held)
        for s in held:
            s.settimeout(10)
            case.assertEqual(s.recv(100), b"Welcome!")
        perConnection = (_treeRSS(server.pid) - before) / len(held)
        bound = 96 if self.path.tls else 16
        case.assertLess(perConnection, bound, f"{perConnection:.1f} KiB each")


def _treeRSS(pid: int) -> int:
    """
    @return: The resident memory of C{pid} and its children, in KiB.
    """
    total = rssKiB(pid)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError, ValueError):
                total += _treeRSS(int(child))
    return total


#: Seconds over which a paused server's CPU and log lines are counted.
_PAUSED_WINDOW = 1.0


class AcceptMixin:
    """
    The accept stage: out of descriptors, accepting pauses, without spin or
    log flood, and resumes once descriptors free up.
    """

    path: ClassVar[ListenerPath]
    startServer: Callable[..., tuple[ServerProcess, _Listener]]

    def test_outOfDescriptorsPausesWithoutSpin(self) -> None:
        """
        With C{RLIMIT_NOFILE} at 64 and more clients held than that, the
        server uses little CPU and logs a few lines, not one per attempt;
        once the clients go, a new one is greeted.
        """
        case: Any = self

        def lowLimit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        server, listener = self.startServer(
            "--keep-open",
            "--idle-timeout",
            "60",
            "--handshake-timeout",
            "60",
            "--max-handshakes",
            "1000",
            preexec=lowLimit,
        )
        processes = max(1, self.path.workers)
        held = [listener.raw() for _ in range(64 * processes + 40)]
        case.addCleanup(closeAll, held)
        started = time.monotonic()
        # Every process has run out of descriptors and paused accepting.
        server.waitForLines(r"Cannot accept connections: EMFILE", processes)
        before = _treeCPU(server.pid)
        linesBefore = len(server.output)
        # The subject is a rate: what the paused server spends in a window
        # (it retries accepting every 0.1 s).
        time.sleep(_PAUSED_WINDOW)
        server.readAvailable()
        spent = _treeCPU(server.pid) - before
        case.assertLess(
            spent,
            0.2 * _PAUSED_WINDOW,
            f"{spent:.2f} CPU seconds in {_PAUSED_WINDOW} s: spinning",
        )
        # One warning per interval, not one per attempt (the access lines
        # of the clients greeted before the limit do not count): a retry
        # every 0.1 s would log 10 lines a second.
        newLines = [
            line for line in server.output[linesBefore:] if "Welcomed" not in line
        ]
        case.assertLess(len(newLines), 4, "\n".join(newLines))
        case.assertFalse(
            any("Traceback" in line for line in server.output), "\n".join(server.output)
        )
        closeAll(held)
        deadline = time.monotonic() + 10
        greeting = b""
        while time.monotonic() < deadline and b"Welcome!" not in greeting:
            with contextlib.suppress(OSError):
                # --keep-open: the welcome is all that comes.
                greeting = listener.greet(until=b"Welcome!")
            time.sleep(0.05)
        case.assertIn(b"Welcome!", greeting)
        # A few pauses per retry delay in each process (a TLS port counts
        # about two), where a loop that retried at once would count tens of
        # thousands, however little CPU a loaded machine gave it (the CPU
        # bound above needs a spare core).
        pauses = server.reportStats()["accept pauses"]
        retries = (time.monotonic() - started) / RETRY_DELAY
        case.assertGreaterEqual(pauses, 1)
        case.assertLessEqual(pauses, processes * 4 * (retries + 2))


def _treeCPU(pid: int) -> float:
    """
    @return: The CPU seconds of C{pid} and its children (the workers).
    """
    total = cpuSeconds(pid)
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            with contextlib.suppress(OSError, ValueError):
                total += _treeCPU(int(child))
    return total


class _FailingOnce(WelcomeFactory):
    """
    A factory whose first protocol cannot be built, and whose second
    protocol's C{connectionLost} raises.
    """

    built = 0

    def buildProtocol(self, addr: IAddress | None) -> Any:
        self.built += 1
        if self.built == 1:
            raise ZeroDivisionError("building the protocol")
        protocol = super().buildProtocol(addr)
        assert protocol is not None
        if self.built == 2:
            original = protocol.connectionLost

            def connectionLost(reason: Any) -> None:
                original(reason)
                raise ZeroDivisionError("in connectionLost")

            setattr(protocol, "connectionLost", connectionLost)  # noqa: B010
        return protocol


#: Seconds within which a connection whose protocol failed must have ended.
_CONTAINED_SECONDS = 5.0


class ContainmentMixin:
    """
    Per-connection error containment, in the port that the one builder
    makes for this path (in this process, on the real reactor).
    """

    path: ClassVar[ListenerPath]

    @inlineCallbacks
    def test_errorEndsOneConnectionNotTheListener(
        self,
    ) -> Generator[Deferred[Any], Any, None]:
        """
        An exception from C{buildProtocol}, then one from C{connectionLost},
        end their own connections; the listener goes on greeting.
        """
        case: Any = self
        listener = _Listener(case)
        settings = ServerSettings(logConnections=False)
        factory = _FailingOnce(settings, clock=globalReactor)
        endpoint = buildEndpoint(
            globalReactor, listener.description(), factory.admission
        )
        port: IListeningPort = yield endpoint.listen(factory)
        case.addCleanup(port.stopListening)
        case.addCleanup(factory.admission.unfinished.stop)
        host = port.getHost()
        if self.path.kind != "unix":
            listener.port = host.port  # type: ignore[attr-defined]

        # Each connection must end, not hang: a connection left open (its
        # socket leaked by the port) would also never carry the welcome.
        first = yield threads.deferToThread(listener.exchange, _CONTAINED_SECONDS)
        second = yield threads.deferToThread(listener.exchange, _CONTAINED_SECONDS)
        third = yield threads.deferToThread(listener.exchange, _CONTAINED_SECONDS)
        case.assertEqual(first, (b"", True))
        case.assertEqual(second, (b"Welcome!", True))
        case.assertEqual(third, (b"Welcome!", True))
        # Logged with their traceback; the direct port logs the first of an
        # interval and sums up the rest in one line.
        case.assertIn(len(case.flushLoggedErrors(ZeroDivisionError)), (1, 2))
        case.assertEqual(factory.built, 3)


class OneLineErrorsMixin:
    """
    A bad description of this path's kind is one line and exit status 1 or
    2, with no traceback.
    """

    path: ClassVar[ListenerPath]

    _BAD: ClassVar[dict[str, str]] = {
        "tcp": "tcp:99999999",
        "tcp6": "tcp6:port=12000:bogus=1",
        "unix": "unix:/nonexistent-directory/welcome.sock",
        "ssl": "ssl:0:privateKey=/nonexistent.pem",
        "tls": "tls:24073",
        "redirect": "redirect:12000:bogus=1",
        "tproxy": "tproxy:x",
    }

    def test_badDescriptionIsOneLine(self) -> None:
        """
        The server refuses it in one line naming it.
        """
        case: Any = self
        description = ("haproxy:" if self.path.proxy else "") + self._BAD[
            self.path.kind
        ]
        server = ServerProcess(["--listen", description])
        case.addCleanup(server.kill)
        status = server.wait()
        case.assertIn(status, (1, 2))
        text = "\n".join(server.output)
        case.assertNotIn("Traceback", text)
        case.assertTrue(
            any(self._BAD[self.path.kind] in line for line in server.output), text
        )


def makePathTestCases(
    mixin: type,
    paths: list[ListenerPath],
    applies: Callable[[ListenerPath], bool] = lambda p: True,
) -> dict[str, type]:
    """
    Make one concrete C{TestCase} per path from C{mixin}, as
    C{ReactorBuilder.makeTestCaseClasses} makes one per reactor.

    @param applies: Which paths the cells apply to; the others are listed
        with the reason in docs/architecture.md.
    @return: The classes by name, for the module's globals.
    """
    classes = {}
    for path in paths:
        if not applies(path):
            continue
        name = mixin.__name__.removesuffix("Mixin") + "_" + path.name.replace("-", "_")
        attributes: dict[str, object] = {
            "path": path,
            "__module__": __name__,
            "__qualname__": name,
        }
        classes[name] = type(name, (mixin, PathCase), attributes)
    return classes


def _oneProcess(path: ListenerPath) -> bool:
    return not path.workers and not path.systemd


globals().update(
    makePathTestCases(BeforeTheWelcomeMixin, PATHS, lambda p: p.unfinished)
)
globals().update(makePathTestCases(AfterTheWelcomeMixin, PATHS))
globals().update(makePathTestCases(AcceptMixin, PATHS))
globals().update(makePathTestCases(MemoryMixin, PATHS))
globals().update(makePathTestCases(ContainmentMixin, PATHS, _oneProcess))
globals().update(makePathTestCases(OneLineErrorsMixin, PATHS, _oneProcess))


class IPv4MappedLimitsTests(TestCase):
    """
    One host reaching a C{tcp:} listener as 127.0.0.1 and a dual-stack
    C{tcp6:} listener as C{::ffff:127.0.0.1} is one host under
    C{--max-per-ip}.
    """

    def test_mappedAddressCountsAsTheIPv4Host(self) -> None:
        """
        With C{--max-per-ip 1}, a second connection from 127.0.0.1 through
        the IPv6 listener is refused.
        """
        server = ServerProcess(
            [
                "--listen",
                "tcp:0:interface=127.0.0.1",
                "--listen",
                r"tcp6:0:interface=\:\:",
                "--max-per-ip",
                "1",
                "--keep-open",
                "--busy-message",
                "busy",
            ]
        )
        self.addCleanup(server.kill)
        v4, v6 = (int(a.rsplit(":", 1)[1]) for a in server.waitListening(2))
        server.waitRunning()
        first = socket.create_connection(("127.0.0.1", v4), timeout=5)
        self.addCleanup(first.close)
        self.assertEqual(first.recv(100), b"Welcome!")
        second = socket.create_connection(("127.0.0.1", v6), timeout=5)
        self.addCleanup(second.close)
        self.assertEqual(second.recv(100), b"busy")


class MetricsListenerTests(TestCase):
    """
    The metrics port comes from the same builder: the same accept stage.
    """

    @inlineCallbacks
    def test_metricsPortPausesAndContains(self) -> Generator[Deferred[Any], Any, None]:
        """
        The C{--metrics} listener's port pauses on running out of
        descriptors and contains errors like the greeting ports.
        """
        from welcome_protocol.listening.directtcp import DirectPort

        endpoint = buildEndpoint(globalReactor, "tcp:0:interface=127.0.0.1")
        factory = WrappingFactory(WelcomeFactory(ServerSettings(), clock=globalReactor))
        port: IListeningPort = yield endpoint.listen(factory)
        self.addCleanup(port.stopListening)
        self.assertIsInstance(port, DirectPort)
        self.assertIsNotNone(endpoint.pauser)
        assert endpoint.pauser is not None
        endpoint.pauser.outOfResources(24)
        self.assertTrue(endpoint.pauser.paused)
        self.addCleanup(endpoint.pauser.stop)
