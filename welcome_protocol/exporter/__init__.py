"""
C{twistd welcome-exporter}: a probe exporter for Prometheus, answering
blackbox_exporter's C{/probe} with its metric names, with a UDP prober, a
welcome prober and port lists besides.

One module per job, in the order a scrape meets them: L{tap} (the options
and the service), L{modules} (the modules file), L{site} (the pages and the
bounded HTTP side), L{handler} (one C{/probe} request: its parameters, its
deadline, its answer), L{targets} (which targets may be probed),
L{resolving}, L{tcpprober} and L{udpprober} (the probers, one file each, as
blackbox_exporter lays them out), L{portlist} (many ports in one scrape),
L{scrapelog} (the probe's log for C{?debug=true}).  Every call into the
client's probe code is in L{probing}, and nowhere else.
"""
