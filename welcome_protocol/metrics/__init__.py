"""
Prometheus metrics: C{--metrics DESCRIPTION}.

 - L{welcome_protocol.metrics.collector}: what is exported, declared in one
   table, read from the service's plain counters at scrape time;
 - L{welcome_protocol.metrics.source}: where the collector reads from,
   importable without prometheus_client;
 - L{welcome_protocol.metrics.resource}: the twisted.web resource that
   serves C{GET /metrics};
 - L{welcome_protocol.metrics.boundedhttp}: the HTTP channel and site it is
   served with, every phase of a connection bounded;
 - L{welcome_protocol.metrics.service}: the registry and the listener;
 - L{welcome_protocol.metrics.workertotals}: the counters of C{--workers}
   processes, sent to the parent and summed there.
"""
