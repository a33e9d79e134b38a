"""
What both programs share, the server (C{twistd welcome}) and the client
(C{welcome-client}, C{check_welcome}): the lowest layer, which imports
nothing else of C{welcome_protocol}.

Endpoint descriptions and their errors (L{descriptions}), port numbers,
lists and ranges (L{commandline}, L{portlists}, L{portranges}), the
defaults both sides agree on (L{defaults}), addresses as the log writes
them (L{addresses}), this host's name (L{hostinfo}), the service's counters
(L{stats}) and a log line that cannot flood (L{ratelimitedlog}).
"""
