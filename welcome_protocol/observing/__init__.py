"""
Observing: the connection log, the counters and rate-limited log lines.
"""
