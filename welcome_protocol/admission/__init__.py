"""
Admission: the limits in all and per address, and the cap on unfinished connections.
"""
