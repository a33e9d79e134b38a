"""
Tests for L{welcome_protocol.listening.builder} and
L{welcome_protocol.listening.directreactor}: one builder makes every
listener, and every TCP one accepts with the direct port.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from twisted.internet import reactor
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import temporaryPath
from welcome_protocol.admission.admission import Admission
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.handshaking.handshakes import HandshakeFirstWrappingFactory
from welcome_protocol.listening.builder import buildEndpoint, checkServerDescription
from welcome_protocol.listening.directtcp import DirectPort
from welcome_protocol.shared.descriptions import DescriptionError
from welcome_protocol.shared.stats import ServerStats


def _listen(case: TestCase, description: str, **kwargs: Any) -> IListeningPort:
    """
    Listen on the real reactor with the endpoint the builder makes.
    """
    endpoint = buildEndpoint(reactor, description, **kwargs)
    ports: list[IListeningPort] = []
    endpoint.listen(Factory.forProtocol(Protocol)).addCallback(ports.append)
    [port] = ports
    case.addCleanup(port.stopListening)
    return port


class BuildEndpointTests(TestCase):
    """
    L{buildEndpoint} on the real reactor, listening on loopback.
    """

    def test_tcpAndTCP6OnTheSameTransport(self) -> None:
        """
        C{tcp:} and C{tcp6:} both accept with a L{DirectPort}, on an IPv4
        and an IPv6 socket.
        """
        four = _listen(self, "tcp:0:interface=127.0.0.1")
        six = _listen(self, r"tcp6:0:interface=\:\:1")
        assert isinstance(four, DirectPort) and isinstance(six, DirectPort)
        self.assertEqual(four.socket.family, socket.AF_INET)
        self.assertEqual(six.socket.family, socket.AF_INET6)
        self.assertEqual(six.getHost().host, "::1")

    def test_backlogApplied(self) -> None:
        """
        The builder's backlog reaches the socket's C{listen()}: the port
        exists and listens (the value itself is the kernel's to keep).
        """
        port = _listen(self, "tcp:0:interface=127.0.0.1", backlog=1024)
        self.assertIsInstance(port, DirectPort)

    def test_tlsOverTheDirectPort(self) -> None:
        """
        C{ssl:} is Twisted's TLS protocol over a L{DirectPort}'s
        connections, with the handshake under the admission's guard.
        """
        scratch = Path(temporaryPath(self))
        scratch.mkdir()
        cert, key = makeCertificate(scratch)
        settings = ServerSettings()
        admission = Admission(settings, ServerStats(0), reactor)
        self.addCleanup(admission.unfinished.stop)
        port = _listen(
            self,
            f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}",
            admission=admission,
        )
        assert isinstance(port, DirectPort)
        self.assertIsInstance(port.factory, TLSMemoryBIOFactory)
        wrapped = port.factory.wrappedFactory  # type: ignore[attr-defined]
        self.assertIsInstance(wrapped, HandshakeFirstWrappingFactory)

    def test_tlsDescriptionHasTheDeadline(self) -> None:
        """
        C{tls:} gets the handshake deadline as C{ssl:} does: its factory is
        wrapped by the guard.
        """
        scratch = Path(temporaryPath(self))
        scratch.mkdir()
        cert, key = makeCertificate(scratch)
        (scratch / "localhost.pem").write_bytes(key.read_bytes() + cert.read_bytes())
        admission = Admission(ServerSettings(), ServerStats(0), reactor)
        self.addCleanup(admission.unfinished.stop)
        port = _listen(
            self, f"tls:{scratch}:port=0:interface=127.0.0.1", admission=admission
        )
        assert isinstance(port, DirectPort)
        wrapped = port.factory.wrappedFactory  # type: ignore[attr-defined]
        self.assertIsInstance(wrapped, HandshakeFirstWrappingFactory)

    def test_unixKeepsTwistedsPortWithPausing(self) -> None:
        """
        A UNIX socket is Twisted's port; the builder still attaches the
        accept pauser.
        """
        path = temporaryPath(self)
        endpoint = buildEndpoint(reactor, f"unix:{path}")
        ports: list[IListeningPort] = []
        endpoint.listen(Factory.forProtocol(Protocol)).addCallback(ports.append)
        [port] = ports
        self.addCleanup(port.stopListening)
        self.assertNotIsInstance(port, DirectPort)
        self.assertIsNotNone(endpoint.pauser)

    def test_adoptedSocket(self) -> None:
        """
        A worker's inherited socket is adopted into a L{DirectPort} through
        the same builder, IPv4 or IPv6.
        """
        for family, host in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]:
            inherited = socket.socket(family, socket.SOCK_STREAM)
            self.addCleanup(inherited.close)
            inherited.bind((host, 0))
            inherited.listen(5)
            # The endpoint closes the descriptor it adopts, as a worker wants.
            port = _listen(self, "tcp:0", adoptedFD=os.dup(inherited.fileno()))
            assert isinstance(port, DirectPort)
            self.assertEqual(port.getHost().port, inherited.getsockname()[1])

    def test_notPOSIXListensAsTwisted(self) -> None:
        """
        On a reactor that does not poll descriptors (a test double), TCP
        listening goes to the reactor's own C{listenTCP}.
        """
        memory = MemoryReactorClock()
        endpoint = buildEndpoint(memory, "tcp:1234:interface=127.0.0.1", backlog=7)
        endpoint.listen(Factory.forProtocol(Protocol))
        [(port, _, backlog, interface)] = memory.tcpServers
        self.assertEqual((port, backlog, interface), (1234, 7, "127.0.0.1"))


class TLSDescriptionTests(TestCase):
    """
    C{tls:} without C{port=} is a one-line error, not port 443.
    """

    def test_tlsWithoutPortRefused(self) -> None:
        """
        C{tls:24073} names a certificates directory, not a port: refused.
        """
        with self.assertRaises(DescriptionError) as caught:
            checkServerDescription("tls:24073")
        self.assertEqual(
            str(caught.exception),
            "tls: needs port=N after the certificates directory, as in "
            "tls:/etc/welcome/pem:port=24073",
        )

    def test_haproxyTLSWithoutPortRefused(self) -> None:
        """
        The same behind C{haproxy:}.
        """
        self.assertRaises(
            DescriptionError, checkServerDescription, "haproxy:tls:/etc/pem"
        )
