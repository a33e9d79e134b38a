"""
Before the welcome: the PROXY header and the TLS handshake, under one deadline.
"""
