"""
Tests for L{welcome_protocol.greeting.hangup}: SIGHUP schedules work in the reactor.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from twisted.internet.interfaces import IReactorFromThreads
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.greeting.hangup import HangupService


@implementer(IReactorFromThreads)
class FakeReactor:
    """
    Keep what is scheduled with C{callFromThread} instead of running it.
    """

    def __init__(self) -> None:
        self.scheduled: list[Callable[[], object]] = []

    def callFromThread(
        self, callable: Callable[..., Any], *args: object, **kwargs: object
    ) -> None:
        """
        Record C{callable}.
        """
        self.scheduled.append(callable)


class HangupServiceTests(TestCase):
    """
    L{HangupService} turns SIGHUP into a call in the reactor.
    """

    def setUp(self) -> None:
        """
        Put back whatever SIGHUP handler was there before, whatever happens.
        """
        previous = signal.getsignal(signal.SIGHUP)
        self.addCleanup(signal.signal, signal.SIGHUP, previous)

    def test_signalSchedulesCall(self) -> None:
        """
        A real SIGHUP to this process schedules the callable in the reactor,
        without calling it from the signal handler itself.
        """
        calls: list[None] = []
        reactor = FakeReactor()
        service = HangupService(reactor, lambda: calls.append(None))
        service.startService()
        self.addCleanup(service.stopService)
        os.kill(os.getpid(), signal.SIGHUP)
        self.assertEqual(len(reactor.scheduled), 1)
        self.assertEqual(calls, [])
        reactor.scheduled[0]()
        self.assertEqual(calls, [None])

    def test_stopRestoresPreviousHandler(self) -> None:
        """
        Stopping the service puts back the handler that was installed before.
        """

        def previous(signum: int, frame: FrameType | None) -> None:
            """
            A handler that was there first.
            """

        signal.signal(signal.SIGHUP, previous)
        service = HangupService(FakeReactor(), lambda: None)
        service.startService()
        self.assertIsNot(signal.getsignal(signal.SIGHUP), previous)
        service.stopService()
        self.assertIs(signal.getsignal(signal.SIGHUP), previous)

    def test_notInstalledBeforeStart(self) -> None:
        """
        Making the service installs nothing; starting it does.
        """
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        HangupService(FakeReactor(), lambda: None)
        self.assertEqual(signal.getsignal(signal.SIGHUP), signal.SIG_IGN)
