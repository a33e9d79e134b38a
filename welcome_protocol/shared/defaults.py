# -*- test-case-name: tests.test_commandline -*-
"""
The numbers the server and the client agree on without asking each other.
"""

DEFAULT_PORT = 12000
"""
The port C{twistd welcome} listens on and C{welcome-client} connects to
when none is given: the socket tutorial's.
"""

SPARE_DESCRIPTORS = 32
"""
File descriptors kept free for what is not a connection (the log, the
listening sockets, the resolver, a file being read), when a program sizes
what it opens at once by its open-file limit.
"""
