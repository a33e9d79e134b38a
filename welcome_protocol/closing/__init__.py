"""
After the welcome: the idle timer, a close that ends, and draining at shutdown.
"""
