"""
C{--workers}: the pool in the parent and the main of each worker process.
"""
