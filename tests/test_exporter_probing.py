"""
Tests for L{welcome_protocol.exporter.probing}, the exporter's adapter to
the client's probe code: the connect-only probe (which the client has no
mode for), on loopback and with Twisted's doubles; and
L{welcome_protocol.exporter.resolving}'s address hash.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import cast

from twisted.internet import reactor as globalReactor
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import SSL4ServerEndpoint, TCP4ServerEndpoint
from twisted.internet.interfaces import IAddress, IStreamServerEndpoint
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.ssl import CertificateOptions, PrivateCertificate
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import freePort, temporaryPath
from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.exporter import probing
from welcome_protocol.exporter.resolving import ipHash


class _Silent(Protocol):
    """
    Say nothing; fire C{closed} when the connection is gone.
    """

    def __init__(self, closed: Deferred[None]) -> None:
        self.closed = closed

    def connectionLost(self, reason: object = None) -> None:
        """
        Fire C{closed}, once.
        """
        if not self.closed.called:
            self.closed.callback(None)


class _SilentFactory(ServerFactory):
    """
    Build L{_Silent}s.

    @ivar closed: Fires when the first connection is gone.
    """

    def __init__(self) -> None:
        self.closed: Deferred[None] = Deferred()

    def buildProtocol(self, addr: IAddress | None) -> Protocol:
        """
        @return: A L{_Silent}.
        """
        return _Silent(self.closed)


class ConnectOnlyTests(TestCase):
    """
    blackbox_exporter's C{tcp} prober without C{query_response}.
    """

    async def listen(self, contextFactory: CertificateOptions | None = None) -> int:
        """
        Listen on a loopback port with a protocol that says nothing.

        @return: The port.
        """
        factory = _SilentFactory()
        self.closed = factory.closed
        endpoint: IStreamServerEndpoint = TCP4ServerEndpoint(
            globalReactor, 0, interface="127.0.0.1"
        )
        if contextFactory is not None:
            endpoint = SSL4ServerEndpoint(
                globalReactor, 0, contextFactory, interface="127.0.0.1"
            )
        port = await endpoint.listen(factory)
        self.addCleanup(port.stopListening)
        address = port.getHost()
        assert isinstance(address, IPv4Address)
        return address.port

    async def test_connected(self) -> None:
        """
        A port that accepts: success, without waiting for a word.
        """
        port = await self.listen()
        result = await probing.connectOnly(
            cast(ClientReactor, globalReactor), "127.0.0.1", port, "t", 5.0
        )
        self.assertIsNone(result.kind)
        await self.closed
        self.assertEqual(result.address, "127.0.0.1")
        self.assertIsNotNone(result.connectSeconds)

    async def test_refused(self) -> None:
        """
        A port nothing listens on: the client's C{refused}.
        """
        result = await probing.connectOnly(
            cast(ClientReactor, globalReactor), "127.0.0.1", freePort(), "t", 5.0
        )
        self.assertEqual(result.kind, probing.REFUSED)

    async def test_tlsHandshake(self) -> None:
        """
        Over TLS, it completes the handshake and keeps the certificate's
        expiry and the version.
        """
        certPath, keyPath = makeCertificate(Path(temporaryPath(self)), days=2)
        pem = certPath.read_text() + keyPath.read_text()
        certificate = PrivateCertificate.loadPEM(pem)
        options = CertificateOptions(
            privateKey=certificate.privateKey.original,
            certificate=certificate.original,
        )
        port = await self.listen(options)
        tls = probing.tlsOptions("localhost", str(certPath))
        result = await probing.connectOnly(
            cast(ClientReactor, globalReactor), "127.0.0.1", port, "t", 5.0, tls
        )
        self.assertIsNone(result.kind, result.message)
        await self.closed
        expiry = probing.certificateExpiry(result.tls)
        assert expiry is not None
        left = expiry - datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs(left.total_seconds() / 86400 - 2), 0.01)

    async def test_tlsUntrusted(self) -> None:
        """
        A certificate that is not trusted fails as the client's C{tls}.
        """
        certPath, keyPath = makeCertificate(Path(temporaryPath(self)))
        otherPath, _ = makeCertificate(Path(temporaryPath(self)))
        certificate = PrivateCertificate.loadPEM(
            certPath.read_text() + keyPath.read_text()
        )
        port = await self.listen(
            CertificateOptions(
                privateKey=certificate.privateKey.original,
                certificate=certificate.original,
            )
        )
        tls = probing.tlsOptions("localhost", str(otherPath))
        result = await probing.connectOnly(
            cast(ClientReactor, globalReactor), "127.0.0.1", port, "t", 5.0, tls
        )
        self.assertEqual(result.kind, probing.TLS)
        await self.closed

    def test_timeout(self) -> None:
        """
        A connection that does not complete in time: the client's
        C{timeout}, at the timeout.
        """
        clock = MemoryReactorClock()
        result = probing.connectOnly(
            cast(ClientReactor, clock), "192.0.2.1", 22, "t", 2.0
        )
        clock.advance(1.9)
        self.assertNoResult(result)
        clock.advance(0.1)
        self.assertEqual(self.successResultOf(result).kind, probing.TIMEOUT)

    def test_cancel(self) -> None:
        """
        Cancelling stops the attempt and its timer; nothing fires.
        """
        clock = MemoryReactorClock()
        result: Deferred[probing.ProbeResult] = probing.connectOnly(
            cast(ClientReactor, clock), "192.0.2.1", 22, "t", 2.0
        )
        result.cancel()
        self.failureResultOf(result)
        self.assertEqual(clock.getDelayedCalls(), [])


class ResolveAddressTests(TestCase):
    """
    An address given as the target.
    """

    def test_literalOfOtherFamily(self) -> None:
        """
        An IPv4 address asked for as IPv6 has no address of that family
        (blackbox_exporter's fallback then takes it).
        """
        found = probing.resolveAddress(
            cast(ClientReactor, MemoryReactorClock()), "127.0.0.1", 6
        )
        self.assertIsNone(self.successResultOf(found))
        found = probing.resolveAddress(
            cast(ClientReactor, MemoryReactorClock()), "127.0.0.1", 4
        )
        self.assertEqual(self.successResultOf(found), "127.0.0.1")


class IPHashTests(TestCase):
    """
    C{probe_ip_addr_hash}.
    """

    def test_blackboxValue(self) -> None:
        """
        FNV-1a of the address's bytes: the value blackbox_exporter 0.23
        gives 127.0.0.1.
        """
        self.assertEqual(ipHash("127.0.0.1"), 3668918509.0)
        self.assertNotEqual(ipHash("::1"), ipHash("127.0.0.1"))
