# -*- test-case-name: tests.test_tap_listen -*-
"""
Errors that stop C{twistd welcome} at start without being usage errors.

twistd answers a L{usage.UsageError <twisted.python.usage.UsageError>} with
its whole usage text on stdout, then the error: right for a command line it
cannot read (an unknown option, a port that is no number), but ninety lines
of noise for a command line that is fine and names something the service
cannot use (a missing message file, an encoding that cannot send the
welcome).  Those are L{StartupError}s: one line on stderr, exit status 1, as
a port already in use is.
"""

from __future__ import annotations

import os
import sys


def programName() -> str:
    """
    @return: C{twistd welcome} or C{twist welcome}, whichever is running us,
        to start the one line a start-up error is told in.
    """
    return f"{os.path.basename(sys.argv[0]) or 'twistd'} welcome"


class StartupError(SystemExit):
    """
    The options are well formed, but the service cannot be made from them.

    A L{SystemExit} whose code is the line: the interpreter writes it on
    stderr and exits with status 1, and twistd, which catches only usage
    errors while it parses, lets it through without its usage text.

    @ivar reason: The reason alone, without the program's name.
    """

    def __init__(self, reason: str, program: str | None = None) -> None:
        """
        @param reason: What is wrong, in one line.
        @param program: Starts the line; L{programName} by default.
        """
        super().__init__(f"{programName() if program is None else program}: {reason}")
        self.reason = reason
