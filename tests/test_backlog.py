"""
Tests for L{welcome_protocol.listening.backlog}.
"""

from __future__ import annotations

import socket
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.listening.backlog import (
    defaultBacklog,
    kernelBacklogCap,
    withBacklog,
)


class BacklogTests(TestCase):
    """
    The default backlog holds a burst, within the kernel's cap.
    """

    def somaxconn(self, text: str) -> Path:
        """
        @return: A file standing in for C{/proc/sys/net/core/somaxconn}.
        """
        path = Path(temporaryPath(self))
        path.write_text(text)
        return path

    def test_cappedByKernel(self) -> None:
        """
        A kernel cap below 4096 is the default.
        """
        self.assertEqual(defaultBacklog(self.somaxconn("128\n")), 128)

    def test_cappedAt4096(self) -> None:
        """
        A higher kernel cap still gives 4096.
        """
        self.assertEqual(defaultBacklog(self.somaxconn("65535\n")), 4096)

    def test_unreadable(self) -> None:
        """
        Without C{/proc}, the C library's C{SOMAXCONN} stands in.
        """
        missing = Path(temporaryPath(self))
        self.assertEqual(kernelBacklogCap(missing), socket.SOMAXCONN)
        self.assertEqual(kernelBacklogCap(self.somaxconn("junk")), socket.SOMAXCONN)


class WithBacklogTests(TestCase):
    """
    L{withBacklog} adds the backlog to descriptions that listen themselves.
    """

    def test_added(self) -> None:
        """
        TCP, TCP6, TLS and UNIX descriptions, behind a PROXY header too, get
        the backlog.
        """
        for description in [
            "tcp:12000",
            "tcp6:12000:interface=\\:\\:1",
            "ssl:12443:privateKey=key.pem",
            "unix:/run/welcome.sock",
            "haproxy:tcp:12000",
        ]:
            self.assertEqual(
                withBacklog(description, 4096), f"{description}:backlog=4096"
            )

    def test_leftAlone(self) -> None:
        """
        A description with its own backlog, or a socket systemd listens on,
        is unchanged.
        """
        for description in ["tcp:12000:backlog=7", "systemd:domain=INET:index=0"]:
            self.assertEqual(withBacklog(description, 4096), description)
