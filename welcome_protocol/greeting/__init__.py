"""
The welcome: the protocol, its factory and the message.
"""
