"""
Listening: the listener built from a description, its port, accept
pausing and the backlog.
"""
