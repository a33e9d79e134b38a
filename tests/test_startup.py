"""
Tests for L{welcome_protocol.startup}: the host report and one-line failures.
"""

from __future__ import annotations

import gc
import io
import sys
from types import TracebackType

from twisted.application.service import Service
from twisted.internet.testing import EventLoggingObserver, MemoryReactor
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from welcome_protocol.listening.service import ListenFailed
from welcome_protocol.service.startup import WelcomeService, exitQuietlyOn


class FailingListener(Service):
    """
    A child service that cannot listen.
    """

    def privilegedStartService(self) -> None:
        """
        Fail as a busy port does.
        """
        raise ListenFailed("cannot listen on tcp:1: address already in use")


class ExitQuietlyOnTests(TestCase):
    """
    L{exitQuietlyOn} reports the chosen exception in one line.
    """

    def setUp(self) -> None:
        self.addCleanup(setattr, sys, "excepthook", sys.excepthook)
        self.stderr = io.StringIO()
        self.patch(sys, "__stderr__", self.stderr)
        self.others: list[BaseException] = []

        def previous(
            kind: type[BaseException],
            value: BaseException,
            tb: TracebackType | None,
        ) -> None:
            self.others.append(value)

        self.hook = exitQuietlyOn(ListenFailed, "twist welcome", previous)

    def test_installed(self) -> None:
        """
        The hook is installed as C{sys.excepthook}.
        """
        self.assertIs(sys.excepthook, self.hook)

    def test_oneLine(self) -> None:
        """
        The chosen exception is written as C{program: message}, alone.
        """
        failure = ListenFailed("cannot listen on tcp:80: permission denied")
        self.hook(ListenFailed, failure, None)
        self.assertEqual(
            self.stderr.getvalue(),
            "twist welcome: cannot listen on tcp:80: permission denied\n",
        )
        self.assertEqual(self.others, [])

    def test_othersPassedOn(self) -> None:
        """
        Any other exception goes to the previous hook (a full traceback).
        """
        bug = ZeroDivisionError()
        self.hook(ZeroDivisionError, bug, None)
        self.assertEqual(self.others, [bug])
        self.assertEqual(self.stderr.getvalue(), "")


class WelcomeServiceTests(TestCase):
    """
    L{WelcomeService} starts its listeners and reports the host.
    """

    def test_reportsHost(self) -> None:
        """
        Once started, it logs this host's name and the addresses it has.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        service = WelcomeService(MemoryReactor().nameResolver)
        service.startService()
        self.addCleanup(service.stopService)
        [event] = [e for e in events if "hostname" in e]
        self.assertTrue(event["hostname"])
        self.assertTrue(event["addresses"])

    def test_startupObjectsFrozen(self) -> None:
        """
        Once started, what was built so far (modules, the service tree) is
        left out of the garbage collector's collections, and what is made
        later is still collected.
        """
        self.addCleanup(gc.unfreeze)
        gc.unfreeze()
        service = WelcomeService(MemoryReactor().nameResolver)
        service.startService()
        self.addCleanup(service.stopService)
        self.assertGreater(gc.get_freeze_count(), 0)
        self.assertNotIn(service, gc.get_objects())
        later: list[object] = []
        later.append(later)
        self.assertIn(later, gc.get_objects())

    def test_listenFailureReraisedQuietly(self) -> None:
        """
        A listener that cannot listen stops the start with L{ListenFailed},
        logged as an error, with the one-line hook installed for the exit.
        """
        self.addCleanup(setattr, sys, "excepthook", sys.excepthook)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        service = WelcomeService(MemoryReactor().nameResolver, program="twistd welcome")
        FailingListener().setServiceParent(service)
        self.assertRaises(ListenFailed, service.privilegedStartService)
        self.assertNotEqual(sys.excepthook, sys.__excepthook__)
        [event] = [e for e in events if "why" in e]
        self.assertEqual(event["why"], "cannot listen on tcp:1: address already in use")
