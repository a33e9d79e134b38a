"""
A welcome for datagrams: C{--listen udp:PORT}, built so that it can never be
turned into a reflection amplifier.

A service that answers UDP answers whatever address a datagram claims to
come from, and claiming one costs an attacker nothing.  So every reply here
passes four rules, each in a module of its own:

  - L{sizerule}: no reply is as large as the datagram it answers;
  - L{ratelimit}: a token bucket per source prefix and one for all, in a
    table of fixed size;
  - L{protocol}: nothing goes back to the ports of services that answer
    anything (echo, qotd, chargen) or to port 0;
  - L{readbound}: a flood is read a bounded number of datagrams per
    reactor turn, for all the service's UDP ports together, so TCP clients
    are still greeted.

L{description} parses C{udp:} listener descriptions, L{port} is the
socket one listens on, L{logs} the service's logs of refused datagrams,
L{settings} and L{options} hold the limits.  The listener's service is
built by L{welcome_protocol.listening.builder}, a layer above.
"""
