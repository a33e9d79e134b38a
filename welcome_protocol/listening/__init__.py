"""
Listening: the one builder of listeners (L{builder}), which returns each
listener as a service (L{service}, L{datagram}, L{portrange} for a range of
any kind), and the accept stage under it: the port, accept pausing and the
backlog.
"""
