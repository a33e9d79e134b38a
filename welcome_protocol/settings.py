# -*- test-case-name: tests.test_tap -*-
"""
The server's configuration, validated once and then frozen.
"""

from __future__ import annotations

from attrs import frozen

from welcome_protocol.message import Message

DEFAULT_PORT = 12000
DEFAULT_MESSAGE = "Welcome!"


@frozen
class ServerSettings:
    """
    Everything the welcome factory needs to know, fixed at start-up.

    @ivar message: The welcome exactly as it goes on the wire.
    @ivar logConnections: Whether each client is recorded in the log.
    @ivar listen: The endpoint descriptions to listen on, as written.
    @ivar template: The message when it has placeholders to fill in per
        connection (then C{message} is unused), else L{None}.
    @ivar messageFile: The file the message came from, re-read on SIGHUP,
        or L{None}.
    @ivar encoding: The message's text encoding.
    """

    message: bytes = DEFAULT_MESSAGE.encode("utf-8")
    logConnections: bool = True
    listen: tuple[str, ...] = (f"tcp:{DEFAULT_PORT}",)
    template: Message | None = None
    messageFile: str | None = None
    encoding: str = "utf-8"
