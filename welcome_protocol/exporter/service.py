# -*- test-case-name: tests.test_exporter_tap -*-
"""
The exporter's service: its listener, and its start-up line.
"""

from __future__ import annotations

from twisted.application.service import MultiService
from twisted.logger import Logger

from welcome_protocol.exporter.targets import AllowedTargets
from welcome_protocol.listening.service import ListenFailed

PROGRAM = "twistd welcome-exporter"


def startupLine(allowed: AllowedTargets | None, modules: int) -> str:
    """
    @return: What the exporter says it will probe.
    """
    if allowed is None:
        who = (
            "every target may be probed (no --allow-targets, as "
            "blackbox_exporter does): anyone who can reach this port can "
            "make it connect anywhere"
        )
    else:
        who = f"only targets in {allowed.describe()} may be probed"
    return f"welcome-exporter: {modules} modules; {who}"


class ExporterService(MultiService):
    """
    Listen, and say what may be probed; a listener that cannot listen ends
    the start with one line and status 1, not a traceback.
    """

    _log = Logger()

    def __init__(self, line: str) -> None:
        """
        @param line: The start-up line (L{startupLine}).
        """
        # Twisted's MultiService is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        self.line = line

    def privilegedStartService(self) -> None:
        """
        Listen (before twistd drops privileges).

        @raise SystemExit: With the one line, if a listener cannot listen:
            twistd removes its PID file, and Python prints the line and
            exits with status 1.
        """
        try:
            # Twisted's MultiService is unannotated.
            super().privilegedStartService()  # type: ignore[no-untyped-call]
        except ListenFailed as failed:
            raise SystemExit(f"{PROGRAM}: {failed}") from None

    def startService(self) -> None:
        """
        Start listening (if not yet), and log the start-up line.
        """
        try:
            # Twisted's MultiService is unannotated.
            super().startService()  # type: ignore[no-untyped-call]
        except ListenFailed as failed:
            raise SystemExit(f"{PROGRAM}: {failed}") from None
        self._log.info("{line}", line=self.line)
