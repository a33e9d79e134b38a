"""
A TCP greeting service: every client that connects is sent a welcome.

The server lives in L{welcome_protocol.greeting.server}, its twistd plugin options in
L{welcome_protocol.tap}, and the matching client in L{welcome_protocol.client}.
"""

__version__ = "1.0.0"
