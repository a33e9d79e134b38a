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
    reactor turn, so TCP clients are still greeted.

L{description} parses C{udp:} listener descriptions, L{listener} listens
on one, L{settings} and L{options} hold the limits.
"""
