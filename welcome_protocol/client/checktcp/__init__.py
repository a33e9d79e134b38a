"""
C{check_welcome}: a Nagios and Icinga plugin with C{check_tcp}'s command line.

An existing command definition can swap C{check_tcp} for C{check_welcome}:
L{options} reads C{check_tcp}'s options with their meanings; L{conversation}
sends C{-s} and C{-q}; L{output} writes C{check_tcp}'s lines; L{script} is
the console script.  The probe, the checks and the thresholds are the
client's own.
"""
