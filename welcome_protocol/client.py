# -*- test-case-name: tests.test_client -*-
"""
The welcome client: connect, print the welcome, exit with a status to script.

The tutorial's client does C{recv(1024)} once and prints it.  This one reads
until the server closes the connection, or until the server has gone quiet
for a moment after greeting (servers that never hang up, like the tutorial's
own), or until it has enough; whatever happens, it finishes within
C{--timeout} seconds and says in one line what went wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from twisted.internet import error
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import (
    IDelayedCall,
    IProtocol,
    IReactorTime,
    IStreamClientEndpoint,
    ITCPTransport,
)
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python import usage
from twisted.python.failure import Failure

from welcome_protocol.commandline import parsePort, parsePositive, versionText
from welcome_protocol.descriptions import (
    DescriptionError,
    checkClientDescription,
    clientEndpoint,
)
from welcome_protocol.hostinfo import thisHostName
from welcome_protocol.settings import DEFAULT_PORT

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 65536
QUIET_PERIOD = 0.25
"""
Seconds of silence after the first bytes that count as the end of the welcome
from a server that keeps the connection open.
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class WelcomeFailed(Exception):
    """
    No welcome could be fetched; C{str()} of this says why, in one line.
    """


_connectionDone = Failure(error.ConnectionDone())


class WelcomeClientProtocol(Protocol):
    """
    Collect what the server sends, up to the factory's cap.

    @ivar received: Fires with the bytes once the welcome is complete: the
        server closed the connection, went quiet after sending something,
        or sent the cap's worth.  Cancelling it aborts the connection.
    """

    factory: WelcomeClientFactory

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._quiet: IDelayedCall | None = None
        self.received: Deferred[bytes] = Deferred(lambda _: self._abort())

    def connectionMade(self) -> None:
        """
        Tell the factory a connection exists, so a timeout can say how far
        the run got.
        """
        self.factory.connected = self

    @property
    def gotAnything(self) -> bool:
        """
        Whether any byte of the welcome has arrived yet.
        """
        return self._size > 0

    def dataReceived(self, data: bytes) -> None:
        """
        Keep C{data} (within the cap) and restart the quiet-period timer.
        """
        if self.received.called:
            return
        room = self.factory.maxBytes - self._size
        self._chunks.append(data[:room])
        self._size += min(len(data), room)
        if self._size >= self.factory.maxBytes:
            self.finish()
            return
        if self._quiet is not None and self._quiet.active():
            self._quiet.reset(self.factory.quietPeriod)
        else:
            self._quiet = self.factory.clock.callLater(
                self.factory.quietPeriod, self.finish
            )

    def connectionLost(self, reason: Failure = _connectionDone) -> None:
        """
        The server hung up: the welcome is whatever arrived.
        """
        self._cancelQuiet()
        if self.received.called:
            return
        tlsProblem = _explainTLSFailure(reason)
        if tlsProblem is not None:
            self.received.errback(
                WelcomeFailed(f"cannot connect to {self.factory.target}: {tlsProblem}")
            )
        elif self._size == 0:
            self.received.errback(
                WelcomeFailed(
                    f"{self.factory.target} closed the connection "
                    "without sending anything"
                )
            )
        else:
            self.received.callback(b"".join(self._chunks))

    def finish(self) -> None:
        """
        Stop reading: deliver what arrived and close the connection.
        """
        self._cancelQuiet()
        if not self.received.called:
            self.received.callback(b"".join(self._chunks))
        if self.transport is not None:
            self.transport.loseConnection()

    def _abort(self) -> None:
        self._cancelQuiet()
        if ITCPTransport.providedBy(self.transport):
            self.transport.abortConnection()
        elif self.transport is not None:
            self.transport.loseConnection()

    def _cancelQuiet(self) -> None:
        if self._quiet is not None and self._quiet.active():
            self._quiet.cancel()
        self._quiet = None


class WelcomeClientFactory(ClientFactory):
    """
    Build the one L{WelcomeClientProtocol} of a client run.

    @ivar target: How the server is named in messages, e.g. C{host:12000}.
    @ivar clock: Schedules the quiet-period timer.
    @ivar maxBytes: The most bytes of welcome accepted.
    @ivar quietPeriod: Seconds of silence that end a welcome.
    @ivar connected: The protocol, once connected.
    """

    protocol = WelcomeClientProtocol  # type: ignore[assignment]

    def __init__(
        self,
        target: str,
        clock: IReactorTime,
        maxBytes: int = DEFAULT_MAX_BYTES,
        quietPeriod: float = QUIET_PERIOD,
    ) -> None:
        self.target = target
        self.clock = clock
        self.maxBytes = maxBytes
        self.quietPeriod = quietPeriod
        self.connected: WelcomeClientProtocol | None = None


def _explainTLSFailure(reason: Failure) -> str | None:
    """
    Say in words why a TLS connection failed, if it did.

    @param reason: Why the connection was lost or not made.
    @return: A sentence, or L{None} if C{reason} is not about TLS.
    """
    # Imported here: only a failed run needs them, and OpenSSL is slow to load.
    from OpenSSL.SSL import Error as TLSError
    from service_identity import VerificationError

    if reason.check(VerificationError):
        return (
            "TLS certificate verification failed: the server's certificate "
            "is not valid for the host name it was reached by"
        )
    if not reason.check(TLSError):
        return None
    args = getattr(reason.value, "args", ())
    details = args[0] if args else []
    texts = [str(item[-1]) for item in details if isinstance(item, tuple) and item[-1]]
    if "certificate verify failed" in texts:
        return (
            "TLS certificate verification failed: the server's certificate is "
            "not signed by a trusted authority (see trustRoots=), or has expired"
        )
    return f"TLS handshake failed: {', '.join(texts) or 'no reason given'}"


def _explainConnectFailure(target: str, reason: Failure) -> str:
    """
    Name why a connection could not be made, in one line.
    """
    tlsProblem = _explainTLSFailure(reason)
    if tlsProblem is not None:
        return f"cannot connect to {target}: {tlsProblem}"
    if reason.check(error.DNSLookupError):
        return f"cannot connect to {target}: host name does not resolve"
    if reason.check(error.ConnectionRefusedError):
        return f"cannot connect to {target}: connection refused"
    if reason.check(error.NoRouteError):
        return f"cannot connect to {target}: no route to host"
    return f"cannot connect to {target}: {reason.getErrorMessage()}"


def fetchWelcome(
    endpoint: IStreamClientEndpoint,
    clock: IReactorTime,
    target: str,
    timeout: float = DEFAULT_TIMEOUT,
    maxBytes: int = DEFAULT_MAX_BYTES,
    quietPeriod: float = QUIET_PERIOD,
) -> Deferred[bytes]:
    """
    Connect with C{endpoint} and collect the welcome.

    @param target: How to name the server in error messages.
    @param timeout: Seconds allowed for connecting and for the welcome to
        begin.  A welcome that began but has not ended by then (a server
        trickling bytes) is taken as it is.
    @return: A L{Deferred} firing with the welcome's bytes, or failing with
        L{WelcomeFailed} whose message says what went wrong.
    """
    factory = WelcomeClientFactory(target, clock, maxBytes, quietPeriod)
    timedOut = False

    def connected(proto: IProtocol) -> Deferred[bytes]:
        assert isinstance(proto, WelcomeClientProtocol)
        return proto.received

    def failed(reason: Failure) -> Failure:
        if reason.check(WelcomeFailed):
            return reason
        if timedOut and reason.check(CancelledError):
            if factory.connected is None:
                why = f"timed out after {timeout:g} s connecting to {target}"
            else:
                why = f"no welcome from {target} within {timeout:g} s"
            raise WelcomeFailed(why)
        raise WelcomeFailed(_explainConnectFailure(target, reason))

    def expire() -> None:
        nonlocal timedOut
        proto = factory.connected
        if proto is not None and proto.gotAnything:
            proto.finish()
        else:
            timedOut = True
            result.cancel()

    def done(outcome: object) -> object:
        if deadline.active():
            deadline.cancel()
        return outcome

    result: Deferred[bytes] = endpoint.connect(factory).addCallback(connected)
    result.addErrback(failed)
    deadline = clock.callLater(timeout, expire)
    result.addBoth(done)
    return result


class Options(usage.Options):
    """
    Command-line options of C{welcome-client}.
    """

    synopsis = "Usage: welcome-client [options]"
    longdesc = (
        "Connect to a welcome server, print the welcome it sends and exit 0. "
        "Exit 1, with one line on stderr, if it cannot connect, times out or "
        "the server sends nothing; exit 2 for bad options."
    )
    optParameters = [
        [
            "host",
            "H",
            None,
            "Server host name or address [default: this host's name, "
            "resolved as the tutorial's client does].",
        ],
        ["port", "p", None, f"Server TCP port [default: {DEFAULT_PORT}]."],
        [
            "timeout",
            "t",
            f"{DEFAULT_TIMEOUT:g}",
            "Seconds allowed for connecting and for the welcome to arrive.",
        ],
        [
            "max-bytes",
            None,
            str(DEFAULT_MAX_BYTES),
            "Most bytes of welcome to accept; the rest is not read.",
        ],
        [
            "connect",
            "c",
            None,
            "Connect as this Twisted client endpoint description says, instead "
            "of --host/--port: tcp:host=HOST:port=PORT, "
            "tls:host=HOST:port=PORT[:trustRoots=DIR] (the certificate and host "
            "name are verified), unix:path=PATH.",
        ],
    ]

    def opt_version(self) -> None:
        """
        Display the versions of welcome-protocol and Twisted, and exit.
        """
        print(versionText())
        sys.exit(EXIT_OK)

    def postOptions(self) -> None:
        """
        Validate every value, naming the option that is wrong.
        """
        self._checkConnect()
        if self["port"] is None:
            self["port"] = str(DEFAULT_PORT)
        if self["host"] is None:
            self["host"] = thisHostName()
        if not str(self["host"]).strip():
            raise usage.UsageError("--host must not be empty")
        self["port"] = parsePort(str(self["port"]), minimum=1)
        self["timeout"] = parsePositive("--timeout", self["timeout"], float)
        self["max-bytes"] = parsePositive("--max-bytes", self["max-bytes"], int)

    def _checkConnect(self) -> None:
        """
        Check C{--connect}, which replaces C{--host} and C{--port}.
        """
        description = self["connect"]
        if description is None:
            return
        if self["host"] is not None or self["port"] is not None:
            raise usage.UsageError("--connect cannot be combined with --host or --port")
        try:
            checkClientDescription(description)
        except DescriptionError as e:
            raise usage.UsageError(f"--connect {description!r}: {e}") from None


def _describeTarget(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def run(
    reactor: IReactorTime,
    config: Options,
    stdout: TextIO,
    stderr: TextIO,
    endpoint: IStreamClientEndpoint | None = None,
) -> Deferred[int]:
    """
    Fetch the welcome described by C{config} and print it or the reason not.

    @param endpoint: Where to connect; by default the C{--connect}
        description's endpoint, or a L{HostnameEndpoint} for C{--host} and
        C{--port} (resolving names without blocking, trying each address the
        name has).
    @return: A L{Deferred} firing with the process's exit status.
    """
    if config["connect"] is not None:
        target = config["connect"]
        if endpoint is None:
            endpoint = clientEndpoint(reactor, target)
    else:
        host: str = config["host"]
        port: int = config["port"]
        if endpoint is None:
            endpoint = HostnameEndpoint(reactor, host.encode("idna"), port)
        target = _describeTarget(host, port)

    def printed(welcome: bytes) -> int:
        text = welcome.decode("utf-8", "replace")
        stdout.write(text if text.endswith("\n") else text + "\n")
        stdout.flush()
        return EXIT_OK

    def failed(reason: Failure) -> int:
        reason.trap(WelcomeFailed)
        stderr.write(f"welcome-client: {reason.getErrorMessage()}\n")
        stderr.flush()
        return EXIT_FAILED

    return fetchWelcome(
        endpoint, reactor, target, config["timeout"], config["max-bytes"]
    ).addCallbacks(printed, failed)


def parseArguments(argv: Sequence[str], stderr: TextIO) -> Options | None:
    """
    Parse C{argv} (without the program name).

    @return: The parsed options, or L{None} after writing one line naming the
        problem to C{stderr}.
    """
    config = Options()  # type: ignore[no-untyped-call]
    try:
        config.parseOptions(list(argv))  # type: ignore[no-untyped-call]
    except usage.UsageError as e:
        stderr.write(f"welcome-client: {e} (see --help)\n")
        return None
    return config


def main(argv: Sequence[str] | None = None) -> None:
    """
    Run the client as a reactor script; the process exits with its status.
    """
    from twisted.internet import reactor, task

    config = parseArguments(sys.argv[1:] if argv is None else argv, sys.stderr)
    if config is None:
        sys.exit(EXIT_USAGE)

    def runAndExit(reactor: IReactorTime) -> Deferred[None]:
        def exitWith(status: int) -> None:
            if status:
                raise SystemExit(status)

        return run(reactor, config, sys.stdout, sys.stderr).addCallback(exitWith)

    task.react(runAndExit)
    del reactor


if __name__ == "__main__":
    main()
