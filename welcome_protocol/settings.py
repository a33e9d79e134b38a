# -*- test-case-name: tests.test_tap -*-
"""
The server's configuration, validated once and then frozen.
"""

from __future__ import annotations

from attrs import frozen

DEFAULT_PORT = 12000
DEFAULT_MESSAGE = "Welcome!"


@frozen
class ServerSettings:
    """
    Everything the welcome factory needs to know, fixed at start-up.

    @ivar message: The welcome exactly as it goes on the wire.
    @ivar logConnections: Whether each client is recorded in the log.
    """

    message: bytes = DEFAULT_MESSAGE.encode("utf-8")
    logConnections: bool = True
