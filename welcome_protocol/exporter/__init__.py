"""
C{twistd welcome-exporter}: a probe exporter for Prometheus, answering
blackbox_exporter's C{/probe} with its metric names, with a UDP prober, a
welcome prober and port lists besides.

One module per job, in the order a scrape meets them: L{tap} (the options
and the service) and L{service} (its start-up), L{modules} (the modules
file), L{site} (the pages and the bounded HTTP side), L{handler} (one
C{/probe} request: its parameters, its deadline, its metrics), L{targets}
(the target, and which targets may be probed), L{portlist} (many ports in
one scrape, and the cap on probes in flight), L{resolving} (the address to
probe), L{probers} (the table of probers) and L{tcpprober} and
L{udpprober} (one file each, as blackbox_exporter lays them out), with
L{expecting} (C{query_response}) and L{outcome} (what a prober found);
L{scrapelog} (the probe's log for C{?debug=true}) and L{counters} (the
exporter's own metrics).  Every call into the client's probe code is in
L{probing}, and nowhere else.
"""
