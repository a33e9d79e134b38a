"""
Tests for L{welcome_protocol.client.probe}: reading a welcome, timing it, and
saying why not; and L{welcome_protocol.client.script.run} in the default mode.
"""

from __future__ import annotations

import io
import socket
import threading

from twisted.internet import reactor as globalReactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.error import (
    ConnectingCancelledError,
    ConnectionDone,
    ConnectionRefusedError,
    DNSLookupError,
)
from twisted.internet.interfaces import (
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.client.options import EXIT_FAILED, EXIT_OK
from welcome_protocol.client.probe import (
    CLOSED_WITHOUT_WELCOME,
    DNS,
    REFUSED,
    TIMEOUT,
    ProbeResult,
    WelcomeClientProtocol,
    probe,
)
from welcome_protocol.client.script import ClientRun, parseArguments
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.server import WelcomeFactory

SERVER = IPv4Address("TCP", "127.0.0.1", 12000)


@implementer(IStreamClientEndpoint)
class StringEndpoint:
    """
    A client endpoint that connects its protocol to a L{StringTransport}, or
    never connects (C{connectNow=False}), or fails with C{error}.
    """

    def __init__(self, connectNow: bool = True, error: Exception | None = None):
        self.connectNow = connectNow
        self.error = error
        self.transport = StringTransport(peerAddress=SERVER)
        self.protocol: Protocol | None = None
        self.factory: IProtocolFactory | None = None
        self.result: Deferred[IProtocol] | None = None
        self.cancelled = False

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect in memory, or pretend to take forever, or fail.
        """
        self.factory = factory
        if self.error is not None:
            return fail(self.error)

        def cancel(d: Deferred[IProtocol]) -> None:
            self.cancelled = True

        result: Deferred[IProtocol] = Deferred(cancel)
        self.result = result
        if self.connectNow:
            proto = factory.buildProtocol(SERVER)
            assert isinstance(proto, Protocol)
            self.protocol = proto
            proto.makeConnection(self.transport)
            result.callback(proto)
        return result

    def finishConnecting(self) -> None:
        """
        Complete a connection that did not connect at once.
        """
        assert self.factory is not None and self.result is not None
        proto = self.factory.buildProtocol(SERVER)
        assert isinstance(proto, Protocol)
        self.protocol = proto
        proto.makeConnection(self.transport)
        self.result.callback(proto)


@implementer(IStreamClientEndpoint)
class HostnameLikeEndpoint:
    """
    A client endpoint that never connects and, like L{HostnameEndpoint},
    fails a cancelled attempt with L{ConnectingCancelledError}.
    """

    def __init__(self) -> None:
        self.cancelled = False

    def connect(self, factory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Wait forever; on cancel, fail as L{HostnameEndpoint} does.
        """

        def cancel(d: Deferred[IProtocol]) -> None:
            self.cancelled = True
            d.errback(ConnectingCancelledError(SERVER))

        return Deferred(cancel)


def serverFactoryFor(protocol: type[Protocol]) -> ServerFactory:
    """
    A plain server factory building C{protocol}.
    """
    factory = ServerFactory()
    factory.protocol = protocol
    return factory


class FetchWelcomeTests(TestCase):
    """
    L{probe} over an in-memory transport, with a fake clock.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.endpoint = StringEndpoint()

    def fetch(
        self, timeout: float = 10, maxBytes: int = 65536, quietPeriod: float = 0.25
    ) -> Deferred[ProbeResult]:
        """
        Start fetching from C{self.endpoint} with the fake clock.
        """
        return probe(
            self.endpoint,
            self.clock,
            "127.0.0.1:12000",
            timeout=timeout,
            maxBytes=maxBytes,
            quietPeriod=quietPeriod,
            now=self.clock.seconds,
        )

    def protocol(self) -> WelcomeClientProtocol:
        """
        The connected client protocol.
        """
        assert isinstance(self.endpoint.protocol, WelcomeClientProtocol)
        return self.endpoint.protocol

    def test_welcomeUntilClose(self) -> None:
        """
        Everything the server sends before closing is the welcome.
        """
        d = self.fetch()
        self.protocol().dataReceived(b"Wel")
        self.protocol().dataReceived(b"come!")
        self.protocol().connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(d).welcome, b"Welcome!")

    def test_expectedTextEndsWelcome(self) -> None:
        """
        With C{complete}, a pause does not end the welcome: the bytes are
        read until they are complete.
        """
        d = probe(
            self.endpoint,
            self.clock,
            "127.0.0.1:12000",
            now=self.clock.seconds,
            complete=lambda received: b"WW" in received,
        )
        self.protocol().dataReceived(b"W")
        self.clock.advance(5)
        self.assertNoResult(d)
        self.protocol().dataReceived(b"W")
        self.assertEqual(self.successResultOf(d).welcome, b"WW")

    def test_incompleteWelcomeAtDeadline(self) -> None:
        """
        A welcome never complete is taken as it is at the deadline.
        """
        d = probe(
            self.endpoint,
            self.clock,
            "127.0.0.1:12000",
            timeout=3,
            now=self.clock.seconds,
            complete=lambda received: False,
        )
        self.protocol().dataReceived(b"W")
        self.clock.advance(3)
        self.assertEqual(self.successResultOf(d).welcome, b"W")

    def test_connectOnly(self) -> None:
        """
        With C{connectOnly}, the connection is the answer: ok, no welcome,
        and the connection is closed.
        """
        d = probe(
            self.endpoint,
            self.clock,
            "127.0.0.1:12000",
            now=self.clock.seconds,
            connectOnly=True,
        )
        result = self.successResultOf(d)
        self.assertEqual((result.ok, result.welcome), (True, b""))
        self.assertTrue(self.endpoint.transport.disconnecting)

    def test_quietServerEndsWelcome(self) -> None:
        """
        A server that greets and keeps the connection open: after the quiet
        period the welcome is complete and the client closes.
        """
        d = self.fetch(quietPeriod=0.25)
        self.protocol().dataReceived(b"Welcome!")
        self.clock.advance(0.2)
        self.assertNoResult(d)
        self.protocol().dataReceived(b" Again")
        self.clock.advance(0.2)
        self.assertNoResult(d)
        self.clock.advance(0.05)
        self.assertEqual(self.successResultOf(d).welcome, b"Welcome! Again")
        self.assertTrue(self.endpoint.transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_capEndsWelcome(self) -> None:
        """
        The welcome is cut at C{maxBytes}; the client stops there and closes.
        """
        d = self.fetch(maxBytes=5)
        self.protocol().dataReceived(b"Wel")
        self.protocol().dataReceived(b"come!")
        self.assertEqual(self.successResultOf(d).welcome, b"Welco")
        self.assertTrue(self.endpoint.transport.disconnecting)

    def test_closedWithoutWelcome(self) -> None:
        """
        A server that closes without a byte is a failure that says so.
        """
        d = self.fetch()
        self.protocol().connectionLost(Failure(Exception("closed")))
        failure = self.successResultOf(d)
        self.assertEqual(failure.kind, CLOSED_WITHOUT_WELCOME)
        self.assertEqual(
            failure.message,
            "127.0.0.1:12000 closed the connection without sending anything",
        )

    def test_timeoutConnecting(self) -> None:
        """
        Not connected within the timeout: the attempt is cancelled and the
        failure names the phase.
        """
        self.endpoint = StringEndpoint(connectNow=False)
        d = self.fetch(timeout=3)
        self.clock.advance(2.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertTrue(self.endpoint.cancelled)
        self.assertEqual(
            self.successResultOf(d).message,
            "timed out after 3 s connecting to 127.0.0.1:12000",
        )

    def test_hostnameEndpointCancelledIsTimeout(self) -> None:
        """
        L{HostnameEndpoint} fails a cancelled connection attempt with
        L{ConnectingCancelledError} naming its address: when the probe's
        timeout cancelled it, that is a C{timeout} with a readable reason.
        """
        d = probe(HostnameLikeEndpoint(), self.clock, "127.0.0.1:12000", timeout=2)
        self.clock.advance(2)
        result = self.successResultOf(d)
        self.assertEqual(
            (result.kind, result.reason), (TIMEOUT, "timed out after 2 s connecting")
        )

    def test_timeoutWaitingForWelcome(self) -> None:
        """
        Connected, but no byte within the timeout: the connection is aborted
        and the failure says no welcome came.
        """
        d = self.fetch(timeout=10)
        self.clock.advance(10)
        self.assertEqual(
            self.successResultOf(d).message,
            "no welcome from 127.0.0.1:12000 within 10 s",
        )
        self.assertTrue(self.endpoint.transport.disconnecting)

    def test_timeoutKeepsTricklingWelcome(self) -> None:
        """
        A welcome that began but never goes quiet is taken as it stands when
        the timeout comes, so the client never hangs.
        """
        d = self.fetch(timeout=1, quietPeriod=0.25)
        for _ in range(10):
            self.assertNoResult(d)
            self.protocol().dataReceived(b".")
            self.clock.advance(0.1)
        self.clock.advance(0.05)  # 1.05 s in; the last byte came 0.15 s ago
        self.assertEqual(self.successResultOf(d).welcome, b"." * 10)

    def test_connectionRefused(self) -> None:
        """
        A refused connection is a one-line failure naming the server.
        """
        self.endpoint = StringEndpoint(error=ConnectionRefusedError())
        self.assertEqual(
            self.successResultOf(self.fetch()).message,
            "cannot connect to 127.0.0.1:12000: connection refused",
        )

    def test_dnsFailure(self) -> None:
        """
        A host name that does not resolve is named as such.
        """
        self.endpoint = StringEndpoint(error=DNSLookupError("nope"))
        self.assertEqual(
            self.successResultOf(self.fetch()).message,
            "cannot connect to 127.0.0.1:12000: host name does not resolve",
        )

    def test_phasesTimedApart(self) -> None:
        """
        The connect time runs to the connection, the welcome time from there
        to the last byte; the quiet period that ended it is not counted.
        The peer that answered is named.
        """
        self.endpoint = StringEndpoint(connectNow=False)
        d = self.fetch(quietPeriod=0.25)
        self.clock.advance(0.5)
        self.endpoint.finishConnecting()
        proto = self.protocol()
        self.clock.advance(0.125)
        proto.dataReceived(b"Wel")
        self.clock.advance(0.125)
        proto.dataReceived(b"come!")
        self.clock.advance(0.25)
        result = self.successResultOf(d)
        self.assertEqual(
            (result.connectSeconds, result.welcomeSeconds, result.totalSeconds),
            (0.5, 0.25, 0.75),
        )
        self.assertEqual(
            (result.address, result.kind, result.ok), ("127.0.0.1", None, True)
        )

    def test_failureKinds(self) -> None:
        """
        Each failure has its kind and a short reason without the target.
        """
        self.endpoint = StringEndpoint(error=ConnectionRefusedError())
        refused = self.successResultOf(self.fetch())
        self.assertEqual(
            (refused.kind, refused.reason, refused.address, refused.connectSeconds),
            (REFUSED, "connection refused", None, None),
        )
        self.endpoint = StringEndpoint(error=DNSLookupError("nope"))
        self.assertEqual(self.successResultOf(self.fetch()).kind, DNS)
        self.endpoint = StringEndpoint(connectNow=False)
        d = self.fetch(timeout=2)
        self.clock.advance(2)
        timedOut = self.successResultOf(d)
        self.assertEqual(
            (timedOut.kind, timedOut.reason),
            (TIMEOUT, "timed out after 2 s connecting"),
        )

    def test_cancelAbandons(self) -> None:
        """
        Cancelling a probe (Ctrl-C) aborts the connection and clears timers.
        """
        d = self.fetch()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertTrue(self.endpoint.transport.disconnecting)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancelWhileConnectingIsCancelledError(self) -> None:
        """
        Cancelling a probe still connecting errbacks with L{CancelledError},
        even when the endpoint reports its own cancellation as
        L{ConnectingCancelledError} (as L{HostnameEndpoint} does); the
        deadline is cleared.
        """
        endpoint = HostnameLikeEndpoint()
        d = probe(endpoint, self.clock, "127.0.0.1:12000", timeout=2)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertTrue(endpoint.cancelled)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_cancelAfterWelcomeBegan(self) -> None:
        """
        Cancelling a probe whose welcome has begun errbacks with
        L{CancelledError} too: what arrived is not delivered.
        """
        d = self.fetch()
        proto = self.endpoint.protocol
        assert proto is not None
        proto.dataReceived(b"Wel")
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_failuresAreResults(self) -> None:
        """
        A probe that ends on its own never errbacks: a refusal, a DNS
        failure, an unknown error and a timeout all fire with a result.
        """
        for error in (
            ConnectionRefusedError(),
            DNSLookupError("nope"),
            OSError("something else"),
        ):
            self.endpoint = StringEndpoint(error=error)
            self.assertFalse(self.successResultOf(self.fetch()).ok)
        self.endpoint = StringEndpoint(connectNow=False)
        d = self.fetch(timeout=1)
        self.clock.advance(1)
        self.assertEqual(self.successResultOf(d).kind, TIMEOUT)

    def test_successCancelsTimeout(self) -> None:
        """
        Once the welcome is in, no timer is left behind.
        """
        d = self.fetch()
        self.protocol().dataReceived(b"hi")
        self.protocol().finish()
        self.successResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class OptionsTests(TestCase):
    """
    The client's options: one line and status 2 for anything wrong.
    """

    def parseFails(self, *argv: str) -> str:
        """
        Parse C{argv}, expecting failure; return what was written.
        """
        stderr = io.StringIO()
        self.assertIsNone(parseArguments(argv, stderr))
        return stderr.getvalue()

    def test_defaults(self) -> None:
        """
        Defaults: this host's name, port 12000, 10 s, 64 KiB.
        """
        config = parseArguments([], io.StringIO())
        assert config is not None
        self.assertEqual(config["host"], socket.gethostname())
        self.assertEqual(
            (config["port"], config["timeout"], config["max-bytes"]),
            (12000, 10.0, 65536),
        )

    def test_badValues(self) -> None:
        """
        Each bad value is named in one line that points at C{--help}.
        """
        self.assertEqual(
            self.parseFails("--port", "0"),
            "welcome-client: --port must be an integer from 1 to 65535, not '0' "
            "(see --help)\n",
        )
        self.assertEqual(
            self.parseFails("--timeout", "soon"),
            "welcome-client: --timeout must be a number from 0.001 to 86400, "
            "not 'soon' (see --help)\n",
        )
        for bad in ["0", "-1", "nan", "inf"]:
            self.assertIn("--timeout must be", self.parseFails("--timeout", bad))
        self.assertIn("--max-bytes must be", self.parseFails("--max-bytes", "1.5"))
        self.assertIn("--host must not be empty", self.parseFails("--host", " "))
        self.assertIn("option --bogus not recognized", self.parseFails("--bogus"))


class RunTests(TestCase):
    """
    L{run} prints the welcome or the reason, and gives the exit status.
    """

    def runWith(
        self, endpoint: StringEndpoint, clock: Clock
    ) -> tuple[Deferred[int], io.StringIO, io.StringIO]:
        """
        Run the client against an in-memory endpoint.
        """
        config = parseArguments(["--host", "127.0.0.1"], io.StringIO())
        assert config is not None
        out, err = io.StringIO(), io.StringIO()
        d = ClientRun.overEndpoint(clock, config, out, err, endpoint).start()
        return d, out, err

    def test_printsDecodedWelcome(self) -> None:
        """
        The welcome is printed decoded as UTF-8 with a newline, status 0.
        """
        endpoint, clock = StringEndpoint(), Clock()
        d, out, err = self.runWith(endpoint, clock)
        assert isinstance(endpoint.protocol, WelcomeClientProtocol)
        endpoint.protocol.dataReceived("Café!".encode())
        clock.advance(1)
        self.assertEqual(self.successResultOf(d), EXIT_OK)
        self.assertEqual((out.getvalue(), err.getvalue()), ("Café!\n", ""))

    def test_existingNewlineKept(self) -> None:
        """
        A welcome that ends in a newline is not given another.
        """
        endpoint, clock = StringEndpoint(), Clock()
        _d, out, _ = self.runWith(endpoint, clock)
        assert isinstance(endpoint.protocol, WelcomeClientProtocol)
        endpoint.protocol.dataReceived(b"hello\n")
        clock.advance(1)
        self.assertEqual(out.getvalue(), "hello\n")

    def test_undecodableBytesReplaced(self) -> None:
        """
        Bytes that are not UTF-8 print as replacement characters.
        """
        endpoint, clock = StringEndpoint(), Clock()
        d, out, _ = self.runWith(endpoint, clock)
        assert isinstance(endpoint.protocol, WelcomeClientProtocol)
        endpoint.protocol.dataReceived(b"caf\xe9 \xff")
        clock.advance(1)
        self.assertEqual(self.successResultOf(d), EXIT_OK)
        self.assertEqual(out.getvalue(), "caf\ufffd \ufffd\n")

    def test_failurePrintsOneLine(self) -> None:
        """
        A failure prints one line on stderr, nothing on stdout, status 1.
        """
        endpoint = StringEndpoint(error=ConnectionRefusedError())
        d, out, err = self.runWith(endpoint, Clock())
        self.assertEqual(self.successResultOf(d), EXIT_FAILED)
        self.assertEqual(out.getvalue(), "")
        self.assertEqual(
            err.getvalue(),
            "welcome-client: cannot connect to 127.0.0.1:12000: connection refused\n",
        )


class LoopbackTests(TestCase):
    """
    The client against real servers on loopback.
    """

    def listen(self, factory: ServerFactory) -> int:
        """
        Listen on a free loopback port for the test's duration.
        """
        port = globalReactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        address = port.getHost()
        assert isinstance(address, IPv4Address)
        return address.port

    def fetch(
        self, port: int, timeout: float = 10, quietPeriod: float = 0.25
    ) -> Deferred[ProbeResult]:
        """
        Fetch a welcome from loopback C{port} with the real reactor.
        """
        endpoint = TCP4ClientEndpoint(globalReactor, "127.0.0.1", port)
        return probe(
            endpoint,
            globalReactor,
            f"127.0.0.1:{port}",
            timeout=timeout,
            quietPeriod=quietPeriod,
        )

    async def test_againstWelcomeServer(self) -> None:
        """
        Our server and client, over a real socket: C{Welcome!}.
        """
        port = self.listen(WelcomeFactory(ServerSettings(logConnections=False)))
        welcome = await self.fetch(port)
        self.assertEqual(welcome.welcome, b"Welcome!")

    async def test_againstTutorialServer(self) -> None:
        """
        The tutorial's blocking server sends the welcome and never closes;
        the client still completes, soon after the quiet period.
        """
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted: list[socket.socket] = []

        def serve() -> None:
            conn, _ = listener.accept()
            accepted.append(conn)
            conn.send(b"Welcome!")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        welcome = await self.fetch(listener.getsockname()[1], quietPeriod=0.1)
        thread.join(5)
        for conn in accepted:
            conn.close()
        self.assertEqual(welcome.welcome, b"Welcome!")

    async def test_serverThatSaysNothing(self) -> None:
        """
        A server that accepts and closes at once: a failure saying so.
        """

        class Hangup(Protocol):
            def connectionMade(self) -> None:
                assert self.transport is not None
                self.transport.loseConnection()

        port = self.listen(serverFactoryFor(Hangup))
        result = await self.fetch(port)
        self.assertEqual(
            result.message,
            f"127.0.0.1:{port} closed the connection without sending anything",
        )

    async def test_silentServerTimesOut(self) -> None:
        """
        A server that accepts and stays silent: the timeout ends the wait.
        """
        port = self.listen(serverFactoryFor(Protocol))
        result = await self.fetch(port, timeout=0.3)
        self.assertEqual(result.kind, TIMEOUT)
        self.assertEqual(
            result.message, f"no welcome from 127.0.0.1:{port} within 0.3 s"
        )
