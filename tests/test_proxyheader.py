"""
Tests for L{welcome_protocol.handshaking.proxyheader}: the wrapped protocol starts only
once the PROXY header has named the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address, ip_network
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactor, StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.message import parseMessage
from welcome_protocol.greeting.server import WelcomeFactory
from welcome_protocol.handshaking.proxyheader import (
    HeaderFirstEndpoint,
    HeaderFirstWrapper,
    HeaderFirstWrappingFactory,
    Network,
    fromTrustedProxy,
)

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


def _unixHeader(source: bytes) -> bytes:
    """
    @return: A version 2 header for a UNIX stream connection from C{source}.
    """
    addresses = source.ljust(108, b"\0") + b"/run/proxy.sock".ljust(108, b"\0")
    return b"\r\n\r\n\x00\r\nQUIT\n\x21\x31" + len(addresses).to_bytes(2) + addresses


def _guarded(
    clock: Clock, proxyFrom: Sequence[Network] | None = None, **settings: Any
) -> tuple[WelcomeFactory, HeaderFirstWrappingFactory]:
    factory = WelcomeFactory(
        ServerSettings(**settings),
        clock=clock,
    )
    return factory, HeaderFirstWrappingFactory(factory, factory.handshakes, proxyFrom)


def _connectGuarded(
    wrapping: HeaderFirstWrappingFactory, host: str = "127.0.0.1", port: int = 50000
) -> tuple[HeaderFirstWrapper, StringTransport]:
    peer = IPv4Address("TCP", host, port)
    wrapper = wrapping.buildProtocol(peer)
    assert isinstance(wrapper, HeaderFirstWrapper)
    transport = StringTransport(peerAddress=peer)
    wrapper.makeConnection(transport)
    return wrapper, transport


class HeaderDeadlineTests(TestCase):
    """
    A connection must send its whole PROXY header within the deadline from
    accept; until then it holds a place and counts against the cap.
    """

    def test_silentAbortedAtDeadline(self) -> None:
        """
        A client that sends nothing is open just before the deadline and
        aborted just after, counted as a PROXY header timeout.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, handshakeTimeout=4.0)
        wrapper, transport = _connectGuarded(wrapping)
        clock.advance(3.99)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.02)
        self.assertTrue(transport.disconnected)
        wrapper.connectionLost(Failure(Exception("aborted")))
        stats = factory.stats
        self.assertEqual((stats.handshakeTimeoutsProxy, stats.errors), (1, 0))
        self.assertEqual((transport.value(), factory.limits.open), (b"", 0))

    def test_halfHeaderAbortedAtDeadline(self) -> None:
        """
        Half a header does not save a connection from the deadline.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, handshakeTimeout=4.0)
        wrapper, transport = _connectGuarded(wrapping)
        wrapper.dataReceived(b"PROXY TCP4 1.2.3.4 ")
        clock.advance(3.99)
        self.assertFalse(transport.disconnecting)
        clock.advance(0.02)
        self.assertTrue(transport.disconnected)
        self.assertEqual(factory.stats.handshakeTimeoutsProxy, 1)

    def test_drippingClosedAtDeadline(self) -> None:
        """
        A byte every half deadline does not move the deadline: bytes
        arriving never reset it.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, handshakeTimeout=4.0)
        wrapper, transport = _connectGuarded(wrapping)
        for byte in PROXY_V1[:2]:
            wrapper.dataReceived(bytes([byte]))
            self.assertFalse(transport.disconnecting)
            clock.advance(2)
        self.assertTrue(transport.disconnected)
        self.assertEqual(factory.stats.handshakeTimeoutsProxy, 1)

    def test_headerInTimeGreets(self) -> None:
        """
        A header that arrives in pieces within the deadline gets the client
        its welcome, and the deadline no longer applies.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, handshakeTimeout=4.0)
        wrapper, transport = _connectGuarded(wrapping)
        for byte in PROXY_V1:
            wrapper.dataReceived(bytes([byte]))
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertEqual(factory.handshakes.unfinished, 0)
        # The deadline's timer is gone; only the close's is left.
        self.assertEqual(len(factory.closeDeadline), 1)
        self.assertEqual(len(clock.getDelayedCalls()), 1)

    def test_countsAgainstMaxConnections(self) -> None:
        """
        Connections still waiting for their header count against
        C{--max-connections}: with every place taken by greeted clients,
        one more is closed at once.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, maxConnections=2, keepOpen=True)
        for port in (1, 2):
            wrapper, _ = _connectGuarded(wrapping, port=port)
            wrapper.dataReceived(PROXY_V1)
        _, transport = _connectGuarded(wrapping, port=3)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(factory.stats.refusedMaxConnections, 1)

    def test_silentClientsCannotFillMaxConnections(self) -> None:
        """
        Silent clients filling C{--max-connections} make way for a real one:
        the oldest silent one is closed.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, maxConnections=10, maxPerIP=5)
        silent = [_connectGuarded(wrapping, port=port)[1] for port in range(50)]
        wrapper, transport = _connectGuarded(wrapping, port=99)
        wrapper.dataReceived(PROXY_V1)
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertEqual(sum(not t.disconnecting for t in silent), 9)
        self.assertEqual(factory.limits.open, 10)

    def test_perIPKeyIsTheClient(self) -> None:
        """
        C{--max-per-ip} counts the client the header names, not the proxy
        every client comes through.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, maxPerIP=1, keepOpen=True)
        results = []
        for port, client in [(1, b"192.0.2.1"), (2, b"192.0.2.2"), (3, b"192.0.2.1")]:
            wrapper, transport = _connectGuarded(wrapping, port=port)
            wrapper.dataReceived(
                b"PROXY TCP4 " + client + b" 127.0.0.1 40000 12000\r\n"
            )
            results.append(transport.value())
        self.assertEqual(results, [b"Welcome!", b"Welcome!", b""])
        self.assertEqual(factory.stats.refusedMaxPerIP, 1)

    def test_perIPKeyAcrossVersions(self) -> None:
        """
        A client named as version 1 C{TCP4 192.0.2.7} and as version 2
        C{::ffff:192.0.2.7} is one client for C{--max-per-ip}.
        """
        factory, wrapping = _guarded(Clock(), maxPerIP=1, keepOpen=True)
        results = []
        for port, header in [(1, PROXY_V1), (2, PROXY_V2_MAPPED), (3, PROXY_V2_IPV4)]:
            wrapper, transport = _connectGuarded(wrapping, port=port)
            wrapper.dataReceived(header)
            results.append(transport.value())
        self.assertEqual(results, [b"Welcome!", b"", b""])
        self.assertEqual(factory.stats.refusedMaxPerIP, 2)
        self.assertEqual(factory.limits.perHost, {"192.0.2.7": 1})

    def test_capFullRealClientGreeted(self) -> None:
        """
        With the cap full of silent clients, a proxy that sends its header
        still gets its client greeted; the oldest silent one made room.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, maxHandshakes=5)
        silent = [_connectGuarded(wrapping, port=port) for port in range(5)]
        wrapper, transport = _connectGuarded(wrapping, port=9)
        wrapper.dataReceived(PROXY_V1)
        self.assertEqual(transport.value(), b"Welcome!")
        self.assertEqual(
            [t.disconnected for _, t in silent], [True, False, False, False, False]
        )
        self.assertEqual(factory.stats.refusedMaxHandshakes, 1)


class HeaderValidationTests(TestCase):
    """
    A header is accepted only if its addresses and ports are real; anything
    else closes the connection unwelcomed, counted.
    """

    def assertInvalid(self, header: bytes) -> None:
        """
        C{header} closes the connection without a welcome, counted.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock)
        wrapper, transport = _connectGuarded(wrapping)
        with capturedLogs() as events:
            wrapper.dataReceived(header)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(factory.stats.invalidProxyHeaders, 1)
        self.assertEqual((factory.handshakes.unfinished, factory.limits.open), (0, 0))
        wrapper.connectionLost(Failure(Exception("closed")))
        self.assertEqual(factory.stats.errors, 0)
        text = "\n".join(formatEvent(e) for e in events)
        self.assertIn("invalid PROXY header", text)
        self.assertTrue(text.isprintable(), text)

    def test_escapeInAddress(self) -> None:
        """
        A terminal escape after an address makes it no address.
        """
        self.assertInvalid(b"PROXY TCP4 1.2.3.4\x1b[31m 5.6.7.8 1 2\r\n")

    def test_wrongFamily(self) -> None:
        """
        An IPv6 address in a TCP4 header, and the other way round, are
        invalid.
        """
        self.assertInvalid(b"PROXY TCP4 ::1 127.0.0.1 1 2\r\n")
        self.assertInvalid(b"PROXY TCP6 127.0.0.1 ::1 1 2\r\n")

    def test_scopedIPv6(self) -> None:
        """
        An IPv6 address with a zone (C{%...}) is not a client address.
        """
        self.assertInvalid(b"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n")

    def test_portOutOfRange(self) -> None:
        """
        Ports must be from 0 to 65535.
        """
        self.assertInvalid(b"PROXY TCP4 1.2.3.4 5.6.7.8 70000 2\r\n")
        self.assertInvalid(b"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n")

    def test_portNotANumber(self) -> None:
        """
        A port that is not a number is invalid, not a traceback.
        """
        self.assertInvalid(b"PROXY TCP4 1.2.3.4 5.6.7.8 x 2\r\n")

    def test_notAProxyHeader(self) -> None:
        """
        Anything else than a header is counted too.
        """
        self.assertInvalid(b"GET / HTTP/1.0\r\n\r\n")

    def test_valid(self) -> None:
        """
        A real header is accepted, and an IPv6 client is written short.
        """
        clock = Clock()
        factory, wrapping = _guarded(
            clock, template=parseMessage("{peer_host}", "utf-8", "--message")
        )
        wrapper, transport = _connectGuarded(wrapping)
        wrapper.dataReceived(PROXY_V2_IPV6)
        self.assertEqual(transport.value(), b"::1")
        self.assertEqual(factory.stats.invalidProxyHeaders, 0)

    def test_unixPathNeverRaw(self) -> None:
        """
        A UNIX socket path from a header with a newline and an escape in it
        reaches neither the log nor the message raw.
        """
        clock = Clock()
        _, wrapping = _guarded(
            clock,
            template=parseMessage("{peer_host}", "utf-8", "--message"),
            logConnections=True,
        )
        wrapper, transport = _connectGuarded(wrapping)
        with capturedLogs() as events:
            wrapper.dataReceived(_unixHeader(b"/a\nForged line\x1b[31m"))
        self.assertEqual(transport.value(), b"/a\\nForged line\\x1b[31m")
        lines = [formatEvent(e) for e in events]
        self.assertEqual(lines, ["Welcomed unix:/a\\nForged line\\x1b[31m"])


class ProxyFromTests(TestCase):
    """
    With C{--proxy-from}, only those networks may send a header.
    """

    def test_otherSourceClosedUnread(self) -> None:
        """
        A connection from outside every network is closed at once, counted
        as refused, and what it sends is never parsed.
        """
        clock = Clock()
        factory, wrapping = _guarded(clock, [ip_network("10.0.0.0/8")])
        wrapper, transport = _connectGuarded(wrapping, "192.0.2.9")
        self.assertTrue(transport.disconnecting)
        wrapper.dataReceived(PROXY_V1)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(factory.stats.refusedProxyFrom, 1)
        self.assertEqual((factory.handshakes.unfinished, factory.limits.open), (0, 0))

    def test_trustedSourceGreeted(self) -> None:
        """
        A proxy inside a network gets its client greeted.
        """
        clock = Clock()
        _, wrapping = _guarded(
            clock, [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]
        )
        wrapper, transport = _connectGuarded(wrapping, "10.1.2.3")
        wrapper.dataReceived(PROXY_V1)
        self.assertEqual(transport.value(), b"Welcome!")

    def test_fromTrustedProxy(self) -> None:
        """
        IPv4 addresses mapped into IPv6 count as themselves; UNIX peers are
        trusted (their socket file's permissions decide).
        """
        networks = [ip_network("127.0.0.0/8")]
        self.assertTrue(
            fromTrustedProxy(IPv6Address("TCP", "::ffff:127.0.0.1", 1), networks)
        )
        self.assertFalse(fromTrustedProxy(IPv6Address("TCP", "::1", 1), networks))
        self.assertTrue(fromTrustedProxy(UNIXAddress(None), networks))

    def test_warningWithoutProxyFrom(self) -> None:
        """
        Without C{--proxy-from}, listening logs once that anyone can claim
        any address; with it, nothing.
        """
        with capturedLogs() as events:
            HeaderFirstEndpoint(RecordingEndpoint()).listen(Factory())
            HeaderFirstEndpoint(
                RecordingEndpoint(), proxyFrom=[ip_network("10.0.0.0/8")]
            ).listen(Factory())
        self.assertEqual(
            [formatEvent(e) for e in events],
            [
                "PROXY headers on 0.0.0.0:0 are accepted from any address: any "
                "client that can reach it can claim to be any client (restrict "
                "the proxies with --proxy-from)"
            ],
        )

    def test_quietFactory(self) -> None:
        """
        Starting and stopping the wrapping factory logs nothing (the
        wrapped factory, quiet as the service's own is, logs nothing either).
        """
        quiet = Factory()
        quiet.noisy = False
        with capturedLogs() as events:
            wrapping = HeaderFirstWrappingFactory(quiet)
            wrapping.doStart()
            wrapping.doStop()
        self.assertEqual(events, [])


PROXY_V2_IPV4 = (
    b"\r\n\r\n\x00\r\nQUIT\n"
    + b"\x21\x11\x00\x0c"  # v2 PROXY, TCP over IPv4, 12 bytes of addresses
    + bytes([192, 0, 2, 7, 127, 0, 0, 1])
    + b"\x9c\x40\x2e\xe0"  # ports 40000, 12000
)
PROXY_V2_MAPPED = (
    b"\r\n\r\n\x00\r\nQUIT\n"
    + b"\x21\x21\x00\x24"
    + bytes(10)
    + b"\xff\xff"
    + bytes([192, 0, 2, 7])  # source ::ffff:192.0.2.7
    + bytes(15)
    + b"\x01"
    + b"\x9c\x40\x2e\xe0"
)
PROXY_V2_LOCAL = b"\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"
PROXY_V2_WITH_TLV = (
    PROXY_V2_IPV4[:14]
    + b"\x00\x13"  # 12 bytes of addresses and a 7-byte TLV
    + PROXY_V2_IPV4[16:]
    + b"\x04\x00\x04none"  # PP2_TYPE_NOOP
)
LONGEST_UNKNOWN = (
    b"PROXY UNKNOWN "
    + b":".join([b"ffff"] * 8)
    + b" "
    + b":".join([b"ffff"] * 8)
    + b" 65535 65535\r\n"
)

ACCEPTED = [
    (PROXY_V1, "192.0.2.7:40000"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 0 12000\r\n", "192.0.2.7:0"),
    (b"PROXY TCP6 2001:db8::7 ::1 65535 12000\r\n", "2001:db8::7:65535"),
    (PROXY_V2_IPV4, "192.0.2.7:40000"),
    (PROXY_V2_IPV6, "::1:40000"),
    (PROXY_V2_MAPPED, "::ffff:c000:207:40000"),
    (PROXY_V2_WITH_TLV, "192.0.2.7:40000"),
    # No addresses: the connection's own, as the specification says.
    (b"PROXY UNKNOWN\r\n", "127.0.0.1:50000"),
    (b"PROXY UNKNOWN ignored 1 2 3 x\r\n", "127.0.0.1:50000"),
    (LONGEST_UNKNOWN, "127.0.0.1:50000"),
    (PROXY_V2_LOCAL, "127.0.0.1:50000"),
]
"""
Valid headers, and the client each names, as C{{peer_host}:{peer_port}}.
"""


class HeaderReadingTests(TestCase):
    """
    A header is read to the letter of the PROXY protocol specification,
    however the network splits it.
    """

    def greet(self, chunks: Sequence[bytes]) -> tuple[WelcomeFactory, bytes, str]:
        """
        Deliver C{chunks} one read each to a guarded listener whose welcome
        names the client.

        @return: The factory, what the client was sent, and the log.
        """
        factory, wrapping = _guarded(
            Clock(),
            template=parseMessage("{peer_host}:{peer_port}", "utf-8", "--message"),
            logConnections=False,
        )
        wrapper, transport = _connectGuarded(wrapping)
        with capturedLogs() as events:
            for chunk in chunks:
                wrapper.dataReceived(chunk)
        return factory, transport.value(), "\n".join(formatEvent(e) for e in events)

    def test_byteAtATime(self) -> None:
        """
        Every valid header, delivered a byte per read, greets the client it
        names, once the last byte is in and not before.
        """
        for header, client in ACCEPTED:
            chunks = [header[i : i + 1] for i in range(len(header))]
            _, sent, log = self.greet(chunks[:-1])
            self.assertEqual((sent, log), (b"", ""), header)
            factory, sent, log = self.greet(chunks)
            self.assertEqual(sent, client.encode(), header)
            self.assertEqual(factory.stats.invalidProxyHeaders, 0, log)

    def test_everySplit(self) -> None:
        """
        Every valid header split in two at any byte (a first read of 13 to
        15 bytes of a version 2 header among them), with data after it,
        greets the client it names, and the data reaches the protocol.
        """
        for header, client in ACCEPTED:
            for split in range(1, len(header)):
                factory, sent, log = self.greet(
                    [header[:split], header[split:] + b"after"]
                )
                self.assertEqual(sent, client.encode(), (header, split))
                self.assertEqual(factory.stats.invalidProxyHeaders, 0, log)

    def test_invalid(self) -> None:
        """
        Loose numbers and broken lines are refused, saying why: ports with a
        sign, an underscore, a leading zero or non-ASCII digits, past 65535;
        a lone CR or LF; a line longer than the specification's 107 bytes; a
        version 2 header of another version.  Delivered whole or a byte at
        a time, the result is the same.
        """
        port = "a port is not a decimal number from 0 to 65535"
        for header, why in [
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 +80 12000\r\n", port),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 8_0 12000\r\n", port),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 80 012000\r\n", port),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 00 12000\r\n", port),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 65536 1\r\n", port),
            ("PROXY TCP4 192.0.2.7 127.0.0.1 \u0668\u0660 1\r\n".encode(), port),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1  80 1\r\n", "malformed"),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 80 1 \r\n", "malformed"),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 80\r\n", "malformed"),
            (b"PROXY UDP4 192.0.2.7 127.0.0.1 80 1\r\n", "malformed"),
            (b"PROXY UNKNOWNX\r\n", "malformed"),
            (b"PROXY TCP4 192.0.2.7 127.0.0.1 80 1\n", "malformed"),
            (b"PROXY TCP4 192.0.2.7\r127.0.0.1 80 1\r\n", "malformed"),
            (
                b"PROXY TCP4 010.0.2.7 127.0.0.1 80 1\r\n",
                "an address is not an IPv4 address",
            ),
            (LONGEST_UNKNOWN[:-2] + b" \r\n", "longer than 107 bytes"),
            (PROXY_V2_IPV4[:12] + b"\x11" + PROXY_V2_IPV4[13:], "unknown version"),
        ]:
            for chunks in ([header], [header[i : i + 1] for i in range(len(header))]):
                factory, sent, log = self.greet(chunks)
                self.assertEqual(sent, b"", header)
                self.assertEqual(factory.stats.invalidProxyHeaders, 1, header)
                self.assertIn(f"invalid PROXY header ({why})", log, header)
