"""
Observing: the connection log (the counters and the rate-limited log lines
are in L{welcome_protocol.shared}).
"""
