"""
Tests for L{welcome_protocol.proxyheader}: the wrapped protocol starts only
once the PROXY header has named the client.
"""

from __future__ import annotations

from ipaddress import ip_address

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.proxyheader import HeaderFirstEndpoint, HeaderFirstWrapper

PROXY_V1 = b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 12000\r\n"
PROXY_V2_IPV6 = (
    b"\r\n\r\n\x00\r\nQUIT\n"  # signature
    + b"\x21\x21\x00\x24"  # v2 PROXY, TCP over IPv6, 36 bytes of addresses
    + bytes(15)
    + b"\x01"  # source ::1
    + bytes(15)
    + b"\x02"  # destination ::2
    + b"\x9c\x40\x2e\xe0"  # ports 40000, 12000
)


_closed = Failure(Exception("closed"))


class Recorder(Protocol):
    """
    Record what a wrapped protocol sees.
    """

    def __init__(self) -> None:
        self.peerAtConnection: object = None
        self.hostAtConnection: object = None
        self.received = b""
        self.lost: Failure | None = None

    def connectionMade(self) -> None:
        """
        Remember the addresses as the protocol sees them when connected.
        """
        assert self.transport is not None
        self.peerAtConnection = self.transport.getPeer()
        self.hostAtConnection = self.transport.getHost()

    def dataReceived(self, data: bytes) -> None:
        """
        Keep what arrives.
        """
        self.received += data

    def connectionLost(self, reason: Failure = _closed) -> None:
        """
        Remember why the connection ended.
        """
        self.lost = reason


@implementer(IStreamServerEndpoint)
class RecordingEndpoint:
    """
    An endpoint that keeps the factory it is asked to listen with.
    """

    factory: IProtocolFactory | None = None

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Keep C{protocolFactory}.
        """
        self.factory = protocolFactory
        return succeed(MemoryReactor().listenTCP(0, protocolFactory))


def connect() -> tuple[Recorder, StringTransport, HeaderFirstWrapper]:
    """
    Connect a L{Recorder} behind the header parser to a string transport.
    """
    endpoint = RecordingEndpoint()
    HeaderFirstEndpoint(endpoint).listen(Factory.forProtocol(Recorder))
    assert endpoint.factory is not None
    peer = IPv4Address("TCP", "127.0.0.1", 50000)
    wrapper = endpoint.factory.buildProtocol(peer)
    assert isinstance(wrapper, HeaderFirstWrapper)
    transport = StringTransport(peerAddress=peer)
    wrapper.makeConnection(transport)
    recorder = wrapper.wrappedProtocol
    assert isinstance(recorder, Recorder)
    return recorder, transport, wrapper


class HeaderFirstWrapperTests(TestCase):
    """
    L{HeaderFirstWrapper} connects the wrapped protocol after the header.
    """

    def test_notConnectedBeforeHeader(self) -> None:
        """
        Until the header is complete, the wrapped protocol is not connected.
        """
        recorder, _, wrapper = connect()
        self.assertIsNone(recorder.transport)
        wrapper.dataReceived(PROXY_V1[:10])
        self.assertIsNone(recorder.transport)

    def test_connectedWithClientAddress(self) -> None:
        """
        Once the header is parsed, the wrapped protocol is connected and
        sees the client and server the header names.
        """
        recorder, _, wrapper = connect()
        wrapper.dataReceived(PROXY_V1[:10])
        wrapper.dataReceived(PROXY_V1[10:])
        self.assertEqual(
            recorder.peerAtConnection, IPv4Address("TCP", "192.0.2.7", 40000)
        )
        self.assertEqual(
            recorder.hostAtConnection, IPv4Address("TCP", "127.0.0.1", 12000)
        )

    def test_version2IPv6(self) -> None:
        """
        Version 2 (binary) headers with IPv6 addresses work too.
        """
        recorder, _, wrapper = connect()
        wrapper.dataReceived(PROXY_V2_IPV6)
        peer = recorder.peerAtConnection
        assert isinstance(peer, IPv6Address)
        self.assertEqual((ip_address(peer.host), peer.port), (ip_address("::1"), 40000))

    def test_dataAfterHeader(self) -> None:
        """
        Bytes after the header, in the same chunk or later, reach the
        wrapped protocol after it is connected.
        """
        recorder, _, wrapper = connect()
        wrapper.dataReceived(PROXY_V1 + b"hello ")
        wrapper.dataReceived(b"world")
        self.assertEqual(recorder.received, b"hello world")

    def test_wrappedWritesGoOut(self) -> None:
        """
        What the wrapped protocol writes goes to the real transport.
        """
        recorder, transport, wrapper = connect()
        wrapper.dataReceived(PROXY_V1)
        assert recorder.transport is not None
        recorder.transport.write(b"Welcome!")
        self.assertEqual(transport.value(), b"Welcome!")

    def test_badHeaderNeverConnects(self) -> None:
        """
        A connection that does not start with a PROXY header is closed and
        the wrapped protocol never hears of it.
        """
        recorder, transport, wrapper = connect()
        wrapper.dataReceived(b"GET / HTTP/1.0\r\n\r\n")
        self.assertTrue(transport.disconnecting)
        wrapper.connectionLost(Failure(Exception("closed")))
        self.assertIsNone(recorder.transport)
        self.assertIsNone(recorder.lost)

    def test_lostAfterHeader(self) -> None:
        """
        A connection lost after the header is reported to the wrapped
        protocol.
        """
        recorder, _, wrapper = connect()
        wrapper.dataReceived(PROXY_V1)
        reason = Failure(Exception("closed"))
        wrapper.connectionLost(reason)
        self.assertIs(recorder.lost, reason)
