"""
After the welcome: the idle timer and a close that ends.
"""
