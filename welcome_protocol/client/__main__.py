"""
C{python -m welcome_protocol.client}: the same as C{welcome-client}.
"""

from welcome_protocol.client.script import main

main()
