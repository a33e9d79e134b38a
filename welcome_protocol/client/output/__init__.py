"""
The client's output formats, one module each: L{plain} (the welcome, or
per-attempt lines and a summary), L{jsonlines} (C{--json}) and L{nagios}
(C{--nagios}).
"""
