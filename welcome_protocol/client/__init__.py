"""
The welcome client, C{welcome-client}: a reachability and monitoring probe.

One module per job: L{probe} connects, reads, times and classifies a
failure; L{checks} applies L{expectations} and the certificate's expiry
(L{tls}); L{repeat} runs attempts and sums them up; L{output} prints them
(plain, JSON Lines, Nagios, with L{thresholds}); L{target} turns the
options into an endpoint; L{options} and L{script} are the command line.
"""

from welcome_protocol.client.options import Options
from welcome_protocol.client.script import main

__all__ = ["Options", "main"]
