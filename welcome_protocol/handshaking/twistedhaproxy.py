"""
The parts of Twisted's PROXY protocol support that are private, imported
here and nowhere else.

C{twisted.protocols.haproxy} makes only C{proxyEndpoint} public: an endpoint
that parses the header and hands the protocol the client's address, with no
deadline, no cap, no C{--proxy-from} check and no count of invalid headers.
The service needs all four, so it wraps connections itself (with the public
L{ProtocolWrapper<twisted.protocols.policies.ProtocolWrapper>}) and reads
version 1 lines itself, but reuses the version 2 parser and its exception;
written again, they would be a second binary parser to keep right.  These
names have been stable since Twisted 19; the test suite runs against the
oldest Twisted that C{setup.cfg} allows and the newest, so a rename shows up
there first.
"""

from twisted.protocols.haproxy._exceptions import InvalidProxyHeader
from twisted.protocols.haproxy._v2parser import V2Parser

__all__ = [
    "InvalidProxyHeader",
    "V2Parser",
]
