"""
The configuration: C{twistd welcome}'s options, parsed and checked in
groups, and the frozen L{ServerSettings} they become.
"""
