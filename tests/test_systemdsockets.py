"""
Tests for L{welcome_protocol.listening.systemdsockets}: sockets passed by an
activator, adopted by index with or without names, and errors that say
what was passed.
"""

from __future__ import annotations

import os
import socket

from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import TestCase

from welcome_protocol.listening.systemdsockets import (
    InheritedSockets,
    SystemdSocketError,
    startingEnvironment,
    systemdEndpoint,
)

PID = 4242


def _inherited(**environment: str) -> InheritedSockets:
    return InheritedSockets.fromEnvironment(environment, PID)


class InheritedSocketsTests(TestCase):
    """
    L{InheritedSockets} reads C{LISTEN_*} as sd_listen_fds(3) defines them.
    """

    def test_unnamedByIndex(self) -> None:
        """
        Without C{LISTEN_FDNAMES}, the sockets are still there by index.
        """
        inherited = _inherited(LISTEN_PID=str(PID), LISTEN_FDS="2")
        self.assertEqual((inherited.byIndex(0), inherited.byIndex(1)), (3, 4))

    def test_unnamedByNameSaysWhatWasPassed(self) -> None:
        """
        Asking for a name when none were passed says so.
        """
        inherited = _inherited(LISTEN_PID=str(PID), LISTEN_FDS="1")
        error = self.assertRaises(SystemdSocketError, inherited.byName, "welcome")
        self.assertEqual(
            str(error),
            "systemd passed no socket named 'welcome' "
            "(LISTEN_FDS=1 but no LISTEN_FDNAMES)",
        )

    def test_named(self) -> None:
        """
        Named sockets are found by name and by index.
        """
        inherited = _inherited(
            LISTEN_PID=str(PID), LISTEN_FDS="2", LISTEN_FDNAMES="a:welcome"
        )
        self.assertEqual((inherited.byName("welcome"), inherited.byIndex(0)), (4, 3))

    def test_indexOutOfRange(self) -> None:
        """
        An index past the sockets passed names how many there were.
        """
        inherited = _inherited(LISTEN_PID=str(PID), LISTEN_FDS="1")
        error = self.assertRaises(SystemdSocketError, inherited.byIndex, 1)
        self.assertEqual(
            str(error),
            "systemd passed no socket at index 1 (LISTEN_FDS=1 but no LISTEN_FDNAMES)",
        )

    def test_otherProcess(self) -> None:
        """
        Sockets meant for another process are not ours.
        """
        inherited = _inherited(LISTEN_PID="1", LISTEN_FDS="1")
        error = self.assertRaises(SystemdSocketError, inherited.byIndex, 0)
        self.assertEqual(
            str(error),
            "systemd passed no socket at index 0 "
            f"(LISTEN_FDS=1 but LISTEN_PID=1 is not this process ({PID}))",
        )

    def test_nothingPassed(self) -> None:
        """
        Outside socket activation, the error says there was no C{LISTEN_FDS}.
        """
        error = self.assertRaises(SystemdSocketError, _inherited().byIndex, 0)
        self.assertEqual(
            str(error),
            "systemd passed no socket at index 0 (no LISTEN_FDS in the environment)",
        )

    def test_controlCharactersEscaped(self) -> None:
        """
        What the environment says reaches the error without raw control
        characters.
        """
        inherited = _inherited(LISTEN_PID=str(PID), LISTEN_FDS="1\x1b")
        error = self.assertRaises(SystemdSocketError, inherited.byIndex, 0)
        self.assertIn("(LISTEN_FDS=1\\x1b is not a number)", str(error))

    def test_startingEnvironment(self) -> None:
        """
        The starting environment keeps a variable removed since, as
        Twisted removes C{LISTEN_FDS} when it reads it.
        """
        path = os.environ["PATH"]
        self.addCleanup(os.environ.__setitem__, "PATH", path)
        del os.environ["PATH"]
        self.assertEqual(startingEnvironment().get("PATH"), path)


class SystemdEndpointTests(TestCase):
    """
    L{systemdEndpoint} reads C{systemd:} descriptions as Twisted does.
    """

    def test_adoptsByIndex(self) -> None:
        """
        C{index=} adopts the descriptor at that index, in the domain given.
        """
        inherited = _inherited(LISTEN_PID=str(PID), LISTEN_FDS="1")
        endpoint = systemdEndpoint(
            MemoryReactor(), "systemd:domain=INET6:index=0", inherited
        )
        self.assertEqual(
            (endpoint.fileno, endpoint.addressFamily), (3, socket.AF_INET6)
        )

    def test_badDescriptions(self) -> None:
        """
        Each mistake is one line saying what is wrong.
        """
        inherited = _inherited(LISTEN_PID=str(PID), LISTEN_FDS="1")
        cases = [
            ("systemd:domain=INET", "give exactly one of index= and name="),
            (
                "systemd:domain=INET:index=0:name=a",
                "give exactly one of index= and name=",
            ),
            (
                "systemd:domain=IPX:index=0",
                "unknown socket domain (use INET, INET6 or UNIX)",
            ),
            ("systemd:domain=INET:index=x", "'x' is not a whole number"),
            ("systemd:domain=INET:index=0:bogus=1", "unknown parameter 'bogus=1'"),
        ]
        for description, reason in cases:
            error = self.assertRaises(
                SystemdSocketError,
                systemdEndpoint,
                MemoryReactor(),
                description,
                inherited,
            )
            self.assertEqual(str(error), reason)
