"""Benchmarks for welcome-protocol; run ``python benchmarks/run.py``.

A package so that ``run.py`` can import its sibling modules the same way
at run time and under mypy (``explicit_package_bases``).  Not shipped.
"""
