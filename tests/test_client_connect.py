"""
Tests for C{welcome-client --connect}: endpoint descriptions, TLS checks and
their one-line explanations.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

from OpenSSL.SSL import Error as TLSError
from service_identity import VerificationError
from twisted.internet import reactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import temporaryPath
from welcome_protocol.client.options import Options
from welcome_protocol.client.probe import explainTLSFailure
from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.client.script import run
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.server import WelcomeFactory


def parse(*args: str) -> Options:
    """
    Parse C{args} as C{welcome-client} would.
    """
    config = Options()
    config.parseOptions(list(args))
    return config


class ConnectOptionTests(TestCase):
    """
    C{--connect} takes a client endpoint description instead of host/port.
    """

    def test_connect(self) -> None:
        """
        A good description is kept as written.
        """
        config = parse("--connect", "unix:path=/run/welcome.sock")
        self.assertEqual(config["connect"], "unix:path=/run/welcome.sock")

    def test_notWithHostOrPort(self) -> None:
        """
        C{--connect} with C{--host} or C{--port} is a usage error.
        """
        for extra in (["--host", "localhost"], ["--port", "12000"]):
            e = self.assertRaises(
                usage.UsageError, parse, "--connect", "tcp:host=a:port=1", *extra
            )
            self.assertEqual(
                str(e), "--connect cannot be combined with --host or --port"
            )

    def test_badDescription(self) -> None:
        """
        A bad description is a usage error naming it and the reason.
        """
        e = self.assertRaises(usage.UsageError, parse, "--connect", "tcp:host=a")
        self.assertEqual(str(e), "--connect 'tcp:host=a': missing 'port'")

    def test_portDefaultStill12000(self) -> None:
        """
        Without C{--connect}, the port still defaults to 12000.
        """
        self.assertEqual(parse("--host", "localhost")["port"], 12000)


class ExplainTLSFailureTests(TestCase):
    """
    L{explainTLSFailure} turns TLS failures into sentences.
    """

    def test_untrusted(self) -> None:
        """
        OpenSSL's verification failure is explained with what to check.
        """
        reason = Failure(TLSError([("SSL routines", "", "certificate verify failed")]))
        self.assertEqual(
            explainTLSFailure(reason),
            "TLS certificate verification failed: the server's certificate is "
            "not signed by a trusted authority (see trustRoots=), or has expired",
        )

    def test_wrongName(self) -> None:
        """
        A certificate for another name is explained as such.
        """
        reason = Failure(VerificationError(errors=[]))
        self.assertEqual(
            explainTLSFailure(reason),
            "TLS certificate verification failed: the server's certificate "
            "is not valid for the host name it was reached by",
        )

    def test_otherTLSError(self) -> None:
        """
        Other handshake failures give OpenSSL's reason.
        """
        reason = Failure(TLSError([("SSL routines", "", "wrong version number")]))
        self.assertEqual(
            explainTLSFailure(reason), "TLS handshake failed: wrong version number"
        )

    def test_notTLS(self) -> None:
        """
        Anything else is not explained here.
        """
        self.assertIsNone(explainTLSFailure(Failure(ValueError("x"))))


class ConnectRunTests(TestCase):
    """
    L{run} with C{--connect} against a server listening on real sockets in
    this process.
    """

    def listen(self, description: str, message: bytes = b"Hi!") -> IListeningPort:
        """
        Listen with a welcome factory on C{description}; stop afterwards.
        """
        factory = WelcomeFactory(ServerSettings(message=message, logConnections=False))
        port: list[IListeningPort] = []
        serverFromString(reactor, description).listen(factory).addCallback(port.append)
        self.addCleanup(lambda: port[0].stopListening())
        return port[0]

    def portOf(self, listening: IListeningPort) -> int:
        """
        @return: The TCP port C{listening} listens on.
        """
        address = listening.getHost()
        assert isinstance(address, IPv4Address)
        return address.port

    def tlsFiles(self, name: str) -> tuple[Path, Path, Path]:
        """
        Make a certificate for C{name} (and 127.0.0.1) and a trust-roots
        directory that holds it.

        @return: The certificate, the key and the trust-roots directory.
        """
        base = Path(temporaryPath(self))
        cert, key = makeCertificate(base, names=(name,))
        roots = base / "roots"
        roots.mkdir()
        shutil.copy(cert, roots / "ca.pem")
        return cert, key, roots

    def fetch(self, description: str) -> Deferred[tuple[int, str, str]]:
        """
        Run the client with C{--connect description}.

        @return: Fires with the exit status, stdout and stderr.
        """
        stdout, stderr = io.StringIO(), io.StringIO()
        config = parse("--connect", description, "--timeout", "5")
        return run(cast(ClientReactor, reactor), config, stdout, stderr).addCallback(
            lambda status: (status, stdout.getvalue(), stderr.getvalue())
        )

    @inlineCallbacks
    def test_unixSocket(self) -> Generator[Deferred[Any], Any, None]:
        """
        C{unix:path=...} fetches the welcome from a UNIX socket.
        """
        path = temporaryPath(self)
        self.listen(f"unix:{path}")
        result = yield self.fetch(f"unix:path={path}")
        self.assertEqual(result, (0, "Hi!\n", ""))

    @inlineCallbacks
    def test_tlsVerified(self) -> Generator[Deferred[Any], Any, None]:
        """
        C{tls:} with the certificate among the trust roots fetches the
        welcome, by name and by address.
        """
        cert, key, roots = self.tlsFiles("localhost")
        port = self.portOf(
            self.listen(f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}")
        )
        for host in ("localhost", "127.0.0.1"):
            result = yield self.fetch(f"tls:host={host}:port={port}:trustRoots={roots}")
            self.assertEqual(result, (0, "Hi!\n", ""))

    @inlineCallbacks
    def test_tlsWrongName(self) -> Generator[Deferred[Any], Any, None]:
        """
        A trusted certificate for another name fails with one line, exit 1.
        """
        cert, key, roots = self.tlsFiles("other.invalid")
        port = self.portOf(
            self.listen(f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}")
        )
        description = f"tls:host=localhost:port={port}:trustRoots={roots}"
        result = yield self.fetch(description)
        self.assertEqual(
            result,
            (
                1,
                "",
                f"welcome-client: cannot connect to {description}: TLS certificate "
                "verification failed: the server's certificate is not valid for "
                "the host name it was reached by\n",
            ),
        )

    @inlineCallbacks
    def test_tlsUntrusted(self) -> Generator[Deferred[Any], Any, None]:
        """
        A certificate no trust root signed fails with one line, exit 1.
        """
        cert, key, _ = self.tlsFiles("localhost")
        _, _, otherRoots = self.tlsFiles("localhost")
        port = self.portOf(
            self.listen(f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}")
        )
        description = f"tls:host=localhost:port={port}:trustRoots={otherRoots}"
        status, stdout, stderr = yield self.fetch(description)
        self.assertEqual((status, stdout), (1, ""))
        self.assertEqual(
            stderr,
            f"welcome-client: cannot connect to {description}: TLS certificate "
            "verification failed: the server's certificate is not signed by a "
            "trusted authority (see trustRoots=), or has expired\n",
        )

    @inlineCallbacks
    def test_tlsToPlainServer(self) -> Generator[Deferred[Any], Any, None]:
        """
        TLS to a server that does not speak it fails with one line, exit 1.
        """
        port = self.portOf(self.listen("tcp:0:interface=127.0.0.1"))
        description = f"tls:host=localhost:port={port}"
        status, stdout, stderr = yield self.fetch(description)
        self.assertEqual((status, stdout), (1, ""))
        # OpenSSL reports the plain bytes, unless the server's close wins.
        self.assertRegex(
            stderr,
            r"\Awelcome-client: (cannot connect to .*: TLS handshake failed: .+"
            r"|.* closed the connection without sending anything)\n\Z",
        )
