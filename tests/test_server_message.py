"""
Tests for how L{welcome_protocol.greeting.server} sends the message: pre-encoded, or
filled in per connection, and replaced on reload.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.greeting.currentwelcome import CurrentWelcome
from welcome_protocol.greeting.message import Message, parseMessage
from welcome_protocol.greeting.server import WelcomeFactory

PEER = IPv4Address("TCP", "192.0.2.7", 40000)
HOST = IPv4Address("TCP", "127.0.0.1", 12000)


def greet(factory: WelcomeFactory) -> StringTransport:
    """
    Connect a protocol from C{factory} to a string transport.

    @return: The transport, holding what the protocol wrote.
    """
    protocol = factory.buildProtocol(PEER)
    assert protocol is not None
    transport = StringTransport(hostAddress=HOST, peerAddress=PEER)
    protocol.makeConnection(transport)
    return transport


class TemplatedWelcomeTests(TestCase):
    """
    L{WelcomeFactory} fills in templates per connection.
    """

    def test_constantMessage(self) -> None:
        """
        Without a template, the pre-encoded message is written and the
        connection closed.
        """
        factory = WelcomeFactory(
            ServerSettings(message=b"Hi\n", logConnections=False), clock=Clock()
        )
        transport = greet(factory)
        self.assertEqual(transport.value(), b"Hi\n")
        self.assertTrue(transport.disconnecting)

    def test_template(self) -> None:
        """
        A template is filled in with this connection's addresses and the
        clock's time.
        """
        template = parseMessage(
            "{peer_host}:{peer_port} -> {server_host}:{server_port} at {time}\n",
            "utf-8",
            "--message",
        )
        clock = Clock()
        clock.advance(86400)
        factory = WelcomeFactory(
            ServerSettings(template=template, logConnections=False), clock=clock
        )
        transport = greet(factory)
        self.assertEqual(
            transport.value(),
            b"192.0.2.7:40000 -> 127.0.0.1:12000 at 1970-01-02T00:00:00Z\n",
        )
        self.assertTrue(transport.disconnecting)

    def test_setMessage(self) -> None:
        """
        L{WelcomeFactory.setMessage} switches between templates and constant
        messages for the connections that follow.
        """
        factory = WelcomeFactory(ServerSettings(logConnections=False), clock=Clock())
        factory.setMessage(parseMessage("to {peer_host}", "utf-8", "m"))
        self.assertEqual(greet(factory).value(), b"to 192.0.2.7")
        factory.setMessage(Message(b"plain"))
        self.assertEqual(greet(factory).value(), b"plain")
        self.assertIsNone(factory.source.template)

    def test_emptyMessage(self) -> None:
        """
        An empty message writes nothing and closes the connection.
        """
        factory = WelcomeFactory(
            ServerSettings(message=b"", logConnections=False), clock=Clock()
        )
        transport = greet(factory)
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnecting)


class TemplateFailureTests(TestCase):
    """
    A template that fails to fill in for one connection costs only that
    connection: it is aborted unwelcomed, counted as an error, and logged a
    few times however many there are.
    """

    def test_failureContained(self) -> None:
        """
        Each failing connection is aborted with nothing written and counted
        as an error; only the first is logged in an interval, the rest are
        summed up when it ends, and the factory goes on greeting.
        """
        # Not made by parseMessage, which refuses it: idna cannot replace.
        broken = Message(None, (("hi ", "peer_host"),), "idna")
        clock = Clock()
        factory = WelcomeFactory(
            ServerSettings(template=broken, logConnections=False), clock=clock
        )
        with capturedLogs() as events:
            transports = []
            for _ in range(3):
                protocol = factory.buildProtocol(PEER)
                assert protocol is not None
                transport = StringTransport(hostAddress=HOST, peerAddress=PEER)
                protocol.makeConnection(transport)
                transports.append((protocol, transport))
            for protocol, transport in transports:
                self.assertEqual(transport.value(), b"")
                self.assertTrue(transport.disconnecting)
                protocol.connectionLost(Failure(ConnectionAborted()))
            clock.advance(10)
        lines = [formatEvent(event) for event in events]
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(
            lines[0].startswith(
                "Closed the connection from 192.0.2.7:40000 unwelcomed: the "
                "message could not be filled in for it (UnicodeError: "
            ),
            lines[0],
        )
        self.assertEqual(
            lines[1],
            "Closed 2 more connections unwelcomed in the last 10 s: the "
            "message could not be filled in for them",
        )
        self.assertEqual((factory.stats.errors, factory.limits.open), (3, 0))
        factory.setMessage(parseMessage("fine\n", "utf-8", "m"))
        self.assertEqual(greet(factory).value(), b"fine\n")


class CurrentWelcomeTests(TestCase):
    """
    L{CurrentWelcome} holds the welcome every listener sends now.
    """

    def test_renderConstant(self) -> None:
        """
        Without a template, the pre-encoded welcome itself is returned.
        """
        welcome = b"Welcome!"
        self.assertIs(CurrentWelcome(welcome).render(PEER, HOST, 0.0), welcome)

    def test_setMessage(self) -> None:
        """
        A template set on it is filled in from then on; a constant message
        set after it replaces it.
        """
        current = CurrentWelcome(b"Welcome!")
        current.setMessage(parseMessage("to {peer_host}", "utf-8", "m"))
        self.assertEqual(current.render(PEER, HOST, 0.0), b"to 192.0.2.7")
        current.setMessage(Message(b"plain"))
        self.assertEqual(
            (current.render(PEER, HOST, 0.0), current.template), (b"plain", None)
        )

    def test_factoryAndDatagramsShareIt(self) -> None:
        """
        The factory's C{setMessage} (what SIGHUP calls) changes its
        L{CurrentWelcome}, the object the UDP listeners are given.
        """
        factory = WelcomeFactory(ServerSettings(logConnections=False), clock=Clock())
        source = factory.source
        factory.setMessage(Message(b"new"))
        self.assertIs(factory.source, source)
        self.assertEqual(source.welcome, b"new")
