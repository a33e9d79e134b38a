"""
The endpoint descriptions C{redirect:PORT} and C{tproxy:PORT}, for
C{serverFromString}: one TCP socket that greets every port a kernel rule
sends to it (see L{welcome_protocol.listening.directtcp.origdst}).

Twisted imports every dropin whenever anyone scans for plugins, so this file
defines two tiny parsers and imports the listener only when one is used.
"""

from typing import Any

from twisted.internet.interfaces import IStreamServerEndpointStringParser
from twisted.plugin import IPlugin
from zope.interface import implementer


@implementer(IPlugin, IStreamServerEndpointStringParser)
class _RedirectedParser:
    """
    Parse C{PREFIX:PORT[:interface=...][:backlog=...]}, as C{tcp:} is parsed.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def parseStreamServer(self, reactor: Any, *args: Any, **kwargs: Any) -> Any:
        """
        Build the endpoint; see C{IStreamServerEndpointStringParser}.
        """
        # Imported here for start-up time: every plugin scan on the machine
        # imports this file, and only a service that listens needs the port.
        from welcome_protocol.listening.directtcp.origdst import parseRedirected

        return parseRedirected(self.prefix, reactor, *args, **kwargs)  # type: ignore[arg-type]  # the prefix is one of the two modes


redirect = _RedirectedParser("redirect")
tproxy = _RedirectedParser("tproxy")
