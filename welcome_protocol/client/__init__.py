"""
The welcome client, C{welcome-client}: a reachability and monitoring probe.

One module per job: L{probe} connects, reads, times and classifies a
failure (L{udpprobe} for C{--udp}); L{checks} applies L{expectations} and
the certificate's expiry (L{tls}); L{checking} does both for one target,
the entry point every mode uses; L{connecting} makes every endpoint, TLS
included, and L{reactors} names what it needs of a reactor; L{target} and
L{hostnames} read the server's name; L{repeat} runs attempts and sums them
up; L{output} prints them (plain, JSON Lines, Nagios); L{judge} is the one
Nagios judge (with L{thresholds}); L{options}, L{udpoptions} and L{script}
are the command line.  L{scan} checks many ports, and L{checktcp} is
C{check_welcome}, C{check_tcp}'s command line.

The client imports nothing of the server: only L{welcome_protocol.shared}.
"""

from welcome_protocol.client.options import Options
from welcome_protocol.client.script import main

__all__ = ["Options", "main"]
