"""
The server's settings, now in L{welcome_protocol.configuration.settings}.

Kept as a re-export for the stages that still take the whole
L{ServerSettings}; each of them is to take what it needs instead (a stage
sits below the configuration and must not import it).
"""

from welcome_protocol.configuration.settings import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HANDSHAKES,
    DEFAULT_MESSAGE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    MAX_HANDSHAKE_TIMEOUT,
    MAX_IDLE_TIMEOUT,
    MAX_SHUTDOWN_TIMEOUT,
    ServerSettings,
)

__all__ = [
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HANDSHAKES",
    "DEFAULT_MESSAGE",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "MAX_HANDSHAKE_TIMEOUT",
    "MAX_IDLE_TIMEOUT",
    "MAX_SHUTDOWN_TIMEOUT",
    "ServerSettings",
]
