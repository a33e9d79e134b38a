# -*- test-case-name: tests.test_rlimits -*-
"""
Whether the listeners asked for fit in the open-file limit, checked with the
options, before anything listens.

The limit itself is raised when the service starts
(L{welcome_protocol.service.rlimits}); this module is the part of it that
the command line needs, so that the configuration does not depend on the
service tree above it.
"""

from __future__ import annotations

import resource
from collections.abc import Callable

from welcome_protocol.shared.defaults import SPARE_DESCRIPTORS

#: The kernel refuses more than fs.nr_open, 1048576 by default; an
#: "unlimited" hard limit is taken to mean that.
UNLIMITED_TARGET = 1048576

#: A soft and a hard limit, as L{resource.getrlimit} returns them.
Limits = tuple[int, int]


def listenerLimitProblem(
    listeners: int,
    getrlimit: Callable[[int], Limits] = resource.getrlimit,
) -> str | None:
    """
    Check that C{listeners} listening sockets fit in the open-file limit the
    service will raise itself to (the hard limit), with the spare
    descriptors and some room for connections.

    @return: L{None}, or the one-line error for options whose port ranges
        need more descriptors than the limit can ever give.
    """
    _, hard = getrlimit(resource.RLIMIT_NOFILE)
    limit = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    needed = listeners + SPARE_DESCRIPTORS
    if needed > limit:
        return (
            f"{listeners} listening ports need {needed} open files, above the "
            f"hard open-file limit of {limit} (ulimit -Hn; LimitNOFILE= in "
            "systemd); listen on fewer ports or raise it"
        )
    return None
