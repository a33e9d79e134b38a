"""
The service tree: the one function that builds what runs (in the twistd
process, in the C{--workers} parent and in each worker), its start-up
report, its graceful shutdown and its open-file limit.
"""
