"""
The twistd dropin for C{twistd welcome-exporter}; everything else is in the
package.

Twisted imports every dropin whenever anyone scans for plugins, so this file
names the service maker and imports nothing heavy.
"""

from twisted.application.service import ServiceMaker

welcomeExporter = ServiceMaker(
    "Welcome exporter",
    "welcome_protocol.exporter.tap",
    "A probe exporter for Prometheus: blackbox_exporter's /probe, with "
    "tcp, udp and welcome probers and port lists.",
    "welcome-exporter",
)
