"""
Tests for L{welcome_protocol.rlimits}.
"""

from __future__ import annotations

import resource

from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from welcome_protocol.configuration.filelimit import UNLIMITED_TARGET
from welcome_protocol.service.rlimits import (
    FileLimitService,
    raiseFileLimit,
)


class _Limits:
    """
    A stand-in for getrlimit/setrlimit holding one RLIMIT_NOFILE.
    """

    def __init__(self, soft: int, hard: int, refuse: bool = False) -> None:
        self.value = (soft, hard)
        self.refuse = refuse

    def getrlimit(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.value

    def setrlimit(self, which: int, value: tuple[int, int]) -> None:
        assert which == resource.RLIMIT_NOFILE
        if self.refuse:
            raise ValueError("not allowed")
        self.value = value


class RaiseFileLimitTests(TestCase):
    """
    L{raiseFileLimit} raises the soft limit to the hard one.
    """

    def test_raisesToHard(self) -> None:
        """
        A soft limit below the hard one is raised to it.
        """
        limits = _Limits(1024, 524288)
        self.assertEqual(
            raiseFileLimit(limits.getrlimit, limits.setrlimit), (1024, 524288)
        )
        self.assertEqual(limits.value, (524288, 524288))

    def test_unlimitedHard(self) -> None:
        """
        An unlimited hard limit raises the soft one to the kernel's default
        maximum, not to "unlimited", which the kernel refuses.
        """
        limits = _Limits(1024, resource.RLIM_INFINITY)
        raiseFileLimit(limits.getrlimit, limits.setrlimit)
        self.assertEqual(limits.value, (UNLIMITED_TARGET, resource.RLIM_INFINITY))

    def test_alreadyAtHard(self) -> None:
        """
        Nothing changes when the soft limit already is the hard one.
        """
        limits = _Limits(4096, 4096)
        self.assertEqual(
            raiseFileLimit(limits.getrlimit, limits.setrlimit), (4096, 4096)
        )


class FileLimitServiceTests(TestCase):
    """
    L{FileLimitService} raises the limit at start and says what it did.
    """

    def startLogged(self, limits: _Limits, maxConnections: int) -> list[str]:
        """
        Start a service on C{limits} and return its log lines.
        """
        service = FileLimitService(maxConnections, limits.getrlimit, limits.setrlimit)
        with capturedLogs() as events:
            service.privilegedStartService()
            service.startService()
        return [formatEvent(e) for e in events]

    def test_logsRaise(self) -> None:
        """
        The raise is logged once, with both values.
        """
        limits = _Limits(1024, 65536)
        self.assertEqual(
            self.startLogged(limits, 10000),
            ["Raised the open-file limit (RLIMIT_NOFILE) from 1024 to 65536"],
        )

    def test_warnsWhenTooLowForMaxConnections(self) -> None:
        """
        A hard limit below C{--max-connections} is warned about.
        """
        lines = self.startLogged(_Limits(1024, 1024), 10000)
        self.assertEqual(lines[0], "Open-file limit (RLIMIT_NOFILE) is 1024")
        self.assertIn("--max-connections 10000 is above", lines[1])

    def test_refusedIsWarning(self) -> None:
        """
        A refused raise is a warning, not a crash.
        """
        lines = self.startLogged(_Limits(1024, 65536, refuse=True), 100)
        self.assertEqual(
            lines, ["Could not raise the open-file limit from 1024: not allowed"]
        )
