"""
Tests for L{welcome_protocol.server}: what a client is sent, and nothing more.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from welcome_protocol.server import WelcomeFactory, WelcomeProtocol
from welcome_protocol.settings import ServerSettings

PEER = IPv4Address("TCP", "192.0.2.7", 40123)


def connect(
    settings: ServerSettings | None = None,
) -> tuple[WelcomeProtocol, StringTransport]:
    """
    Build a protocol from a factory and connect it to a L{StringTransport}.
    """
    factory = WelcomeFactory(settings or ServerSettings())
    proto = factory.buildProtocol(PEER)
    assert isinstance(proto, WelcomeProtocol)
    transport = StringTransport(peerAddress=PEER)
    proto.makeConnection(transport)
    return proto, transport


class WelcomeProtocolTests(TestCase):
    """
    L{WelcomeProtocol} greets and hangs up.
    """

    def test_connectionMadeWritesWelcome(self) -> None:
        """
        The default welcome is exactly the 8 bytes C{Welcome!}, no newline.
        """
        _, transport = connect()
        self.assertEqual(transport.value(), b"Welcome!")

    def test_connectionMadeCloses(self) -> None:
        """
        The connection is closed (after the buffered welcome is written).
        """
        _, transport = connect()
        self.assertTrue(transport.disconnecting)

    def test_inputDiscarded(self) -> None:
        """
        What the client sends is neither answered nor kept.
        """
        proto, transport = connect()
        transport.clear()
        marker = b"unique-client-bytes-7f3a"
        proto.dataReceived(marker * 1000)
        self.assertEqual(transport.value(), b"")
        self.assertNotIn(repr(marker)[2:-1], repr(vars(proto)))

    def test_messageFromSettings(self) -> None:
        """
        The welcome is the settings' message, byte for byte.
        """
        _, transport = connect(ServerSettings(message=b"caf\xc3\xa9\n"))
        self.assertEqual(transport.value(), b"caf\xc3\xa9\n")


class WelcomeFactoryTests(TestCase):
    """
    L{WelcomeFactory} holds the configuration and logs each client.
    """

    def test_welcomeEncodedOnce(self) -> None:
        """
        Every protocol sends the very same bytes object the factory made.
        """
        factory = WelcomeFactory(ServerSettings())
        sent: list[bytes] = []
        for _ in range(3):
            transport = StringTransport(peerAddress=PEER)
            transport.write = sent.append  # type: ignore[method-assign]
            proto = factory.buildProtocol(PEER)
            assert proto is not None
            proto.makeConnection(transport)
        self.assertEqual(len(sent), 3)
        self.assertTrue(all(chunk is factory.welcome for chunk in sent))

    def test_connectionLogged(self) -> None:
        """
        Each connection is logged with the client's address and port.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        connect()
        welcomed = [e for e in events if e.get("log_format") == "Welcomed {peer}"]
        self.assertEqual([e["peer"] for e in welcomed], ["192.0.2.7:40123"])

    def test_connectionLogOff(self) -> None:
        """
        With connection logging off, nothing is logged per connection.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        connect(ServerSettings(logConnections=False))
        self.assertEqual(list(events), [])
