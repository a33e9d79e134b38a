"""
The welcome: the protocol, its factory, the message and the welcome every
listener sends now.
"""
