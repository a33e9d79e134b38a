# -*- test-case-name: tests.test_directtcp -*-
"""
TCP listening for a service that greets and hangs up: the kernel's work,
Python's socket calls, and little else.

Twisted's C{tcp.Port} and C{tcp.Server} serve every kind of protocol; per
connection they build a transport with some thirty attributes and log
strings, register it for reading, buffer the first write until the poller
reports the socket writable, and close it on a later reactor turn.  For a
protocol that writes a few bytes in C{connectionMade} and hangs up, that is
most of the cost of a greeting.

L{DirectPort} and L{DirectTransport} do what a plain loop of socket calls
does, behind Twisted's interfaces:

  - The port is an C{IReadDescriptor} registered with C{addReader}.  Each
    read accepts up to L{DirectPort.maxAcceptsPerRead} clients; for each it
    builds the protocol with the factory, connects it to a transport, and
    once C{connectionMade} has returned, I{settles} it: closes it if the
    protocol asked to, else registers it for reading.
  - The transport starts with the bare descriptor C{accept4()} gave, and
    C{write} with nothing buffered sends at once without blocking
    (C{RWF_NOWAIT}); only what the kernel does not take is buffered, and
    sent when the reactor reports the socket writable (C{addWriter}), with
    producers paused and resumed as on Twisted's transports.  A greeting
    closed at once is three system calls: C{accept4()}, the write and
    C{close()}.
  - L{AcceptPauser} pauses accepting while descriptors run out.
  - C{loseConnection} and C{abortConnection} never close from inside the
    caller's own call (a protocol, or TLS on top, may still be working):
    the close happens as soon as control returns to the port or to the
    transport's C{doRead}/C{doWrite}, or on the next reactor turn when the
    call came from anywhere else (a timer, another connection).
  - The transport has C{__slots__} and reuses the address object the
    factory was given, so a held connection costs little memory.

Protocols see C{ITCPTransport} (and C{IConsumer}/C{IPushProducer}) only;
wrappers such as TLS work on top unchanged.  L{DirectTCP4ServerEndpoint}
listens this way on Twisted's POSIX reactors and falls back to
C{listenTCP}, plain Twisted, on any other.
"""

from welcome_protocol.listening.directtcp.endpoint import DirectTCP4ServerEndpoint
from welcome_protocol.listening.directtcp.pausing import AcceptPauser
from welcome_protocol.listening.directtcp.port import DirectPort, adopt
from welcome_protocol.listening.directtcp.transport import DirectTransport

__all__ = [
    "AcceptPauser",
    "DirectPort",
    "DirectTCP4ServerEndpoint",
    "DirectTransport",
    "adopt",
]
