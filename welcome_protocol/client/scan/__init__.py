"""
Many ports and hosts in one run: C{welcome-client HOST --ports 22,80,20000-20099}.

L{plan} turns targets, C{--ports}, C{--targets-file} and C{--expect-closed}
into the checks; L{resolve} looks each host up once; L{scanner} runs the
checks C{--parallel} at a time; L{states} names what each port showed and
whether it was expected; L{summary} sums up; L{table}, L{jsonlines} and
L{nagios} print; L{run} ties them together for C{main}.
"""
