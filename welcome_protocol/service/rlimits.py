# -*- test-case-name: tests.test_rlimits -*-
"""
Raise the soft limit on open files toward the hard one when the service starts.

Most systems start processes with a soft C{RLIMIT_NOFILE} of 1024: a service
with the default C{--max-connections 10000} would stop accepting near 1024
connections.  Any process may raise its soft limit up to its hard limit, so
it does, and says so in the log (as magic-wormhole's transit relay does).
"""

from __future__ import annotations

import resource
from collections.abc import Callable

from twisted.application.service import Service
from twisted.logger import Logger

from welcome_protocol.configuration.filelimit import UNLIMITED_TARGET, Limits
from welcome_protocol.shared.defaults import SPARE_DESCRIPTORS


def raiseFileLimit(
    getrlimit: Callable[[int], Limits] = resource.getrlimit,
    setrlimit: Callable[[int, Limits], None] = resource.setrlimit,
) -> tuple[int, int]:
    """
    Raise the soft C{RLIMIT_NOFILE} to the hard limit.

    @param getrlimit: L{resource.getrlimit}, replaceable in tests.
    @param setrlimit: L{resource.setrlimit}, replaceable in tests.
    @return: The soft limit before and after.
    @raise OSError: If the kernel refuses (C{ValueError} is turned into it).
    """
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except ValueError as e:
            raise OSError(str(e)) from e
        return soft, target
    return soft, soft


class FileLimitService(Service):
    """
    At start-up, raise the open-file limit and warn if it is still below what
    C{--max-connections} needs.
    """

    _log = Logger()

    def __init__(
        self,
        maxConnections: int,
        getrlimit: Callable[[int], Limits] = resource.getrlimit,
        setrlimit: Callable[[int, Limits], None] = resource.setrlimit,
    ) -> None:
        """
        @param maxConnections: The C{--max-connections} setting.
        @param getrlimit: L{resource.getrlimit}, replaceable in tests.
        @param setrlimit: L{resource.setrlimit}, replaceable in tests.
        """
        self.maxConnections = maxConnections
        self._getrlimit = getrlimit
        self._setrlimit = setrlimit
        self.limit: int | None = None

    def privilegedStartService(self) -> None:
        """
        Raise the limit before the listener starts (and before twistd drops
        privileges, which does not change resource limits either way).
        """
        super().privilegedStartService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        try:
            before, after = raiseFileLimit(self._getrlimit, self._setrlimit)
        except OSError as e:
            before = after = self._getrlimit(resource.RLIMIT_NOFILE)[0]
            self._log.warn(
                "Could not raise the open-file limit from {before}: {why}",
                before=before,
                why=e,
            )
        else:
            if after != before:
                self._log.info(
                    "Raised the open-file limit (RLIMIT_NOFILE) from {before} "
                    "to {after}",
                    before=before,
                    after=after,
                )
            else:
                self._log.info(
                    "Open-file limit (RLIMIT_NOFILE) is {after}", after=after
                )
        self.limit = after
        if (
            after != resource.RLIM_INFINITY
            and self.maxConnections + SPARE_DESCRIPTORS > after
        ):
            self._log.warn(
                "--max-connections {maximum} is above what the open-file limit "
                "{limit} allows; beyond about {usable} connections, new clients "
                "wait in the listen queue (raise the hard limit, e.g. "
                "LimitNOFILE= in systemd)",
                maximum=self.maxConnections,
                limit=after,
                usable=max(0, after - SPARE_DESCRIPTORS),
            )

    def startService(self) -> None:
        """
        Raise the limit, unless L{privilegedStartService} already did.
        """
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        if self.limit is None:
            self.privilegedStartService()
