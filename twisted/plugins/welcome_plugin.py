"""
The twistd dropin for C{twistd welcome}; everything else is in the package.

Twisted imports every dropin whenever anyone scans for plugins, so this file
names the service maker and imports nothing heavy.
"""

from twisted.application.service import ServiceMaker

welcome = ServiceMaker(
    "Welcome",
    "welcome_protocol.tap",
    "Greet every client that connects with a welcome message.",
    "welcome",
)
