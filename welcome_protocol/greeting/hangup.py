# -*- test-case-name: tests.test_hangup -*-
"""
Run a callable in the reactor whenever the process receives SIGHUP.

A Python signal handler runs between two bytecodes of whatever the main
thread was doing, so it must not touch the reactor's state; like Twisted's
own handlers for SIGINT and SIGTERM, it only schedules the real work with
C{callFromThread}, which is safe from anywhere and wakes the reactor up.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorFromThreads

_Handler = Callable[[int, FrameType | None], Any] | int | None


class HangupService(Service):
    """
    Call C{onHangup} in the reactor on each SIGHUP, while the service runs.

    The handler is installed when the service starts and the previous one
    put back when it stops.
    """

    def __init__(
        self,
        reactor: IReactorFromThreads,
        onHangup: Callable[[], object],
        signum: int = signal.SIGHUP,
    ) -> None:
        self._reactor = reactor
        self._onHangup = onHangup
        self._signum = signum
        self._previous: _Handler = None

    def startService(self) -> None:
        """
        Install the signal handler.
        """
        super().startService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        self._previous = signal.signal(self._signum, self._received)

    def stopService(self) -> None:
        """
        Put back the handler that was there before.
        """
        super().stopService()  # type: ignore[no-untyped-call]  # Twisted's service and usage modules are unannotated
        previous = signal.SIG_DFL if self._previous is None else self._previous
        signal.signal(self._signum, previous)
        self._previous = None

    def _received(self, signum: int, frame: FrameType | None) -> None:
        self._reactor.callFromThread(self._onHangup)
