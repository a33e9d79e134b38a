# -*- test-case-name: tests.test_server_message -*-
"""
The welcome every client gets now, over TCP and UDP alike.

The message is loaded once at start-up and again on SIGHUP; every listener
of the service, stream or datagram, must send the same one from the moment
it is replaced.  So it lives in one object that the TCP factory holds and
the UDP protocols are given, instead of in the factory that the datagram
listeners would have to reach into.
"""

from __future__ import annotations

from twisted.internet.interfaces import IAddress

from welcome_protocol.greeting.message import Message


class CurrentWelcome:
    """
    The message to send now: pre-encoded bytes, or a template to fill in.

    @ivar welcome: The bytes written to every client, encoded once, unless
        the message has placeholders.
    @ivar template: The message with placeholders, filled in for each
        client, or L{None}.
    """

    def __init__(self, welcome: bytes, template: Message | None = None) -> None:
        """
        @param welcome: The welcome exactly as it goes on the wire; unused
            while there is a template.
        @param template: The message when it has placeholders.
        """
        self.welcome = welcome
        self.template = template

    def setMessage(self, message: Message) -> None:
        """
        Send C{message} to every client from now on (after a reload).
        """
        if message.constant is None:
            self.template = message
        else:
            self.welcome, self.template = message.constant, None

    def render(self, peer: IAddress, host: IAddress, now: float) -> bytes:
        """
        The welcome for one client.

        @param peer: The client's address.
        @param host: The address it reached.
        @param now: The time, in seconds since the epoch, for C{{time}}.
        @return: The pre-encoded welcome, or the template filled in.
        @raise Exception: If the template cannot be filled in with what this
            client brings (see L{Message.render}); the caller contains it.
        """
        template = self.template
        if template is None:
            return self.welcome
        return template.render(peer, host, now)
