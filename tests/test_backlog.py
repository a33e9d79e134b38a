"""
Tests for L{welcome_protocol.backlog}.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

from twisted.trial.unittest import TestCase

from welcome_protocol.backlog import defaultBacklog, kernelBacklogCap


class BacklogTests(TestCase):
    """
    The default backlog holds a burst, within the kernel's cap.
    """

    def scratchPath(self) -> Path:
        """
        @return: A path in a fresh temporary directory removed after the
            test (trial's C{mktemp} writes into the working directory, which
            is the source tree under pytest).
        """
        directory = tempfile.mkdtemp(prefix="welcome-test-")
        self.addCleanup(shutil.rmtree, directory, True)
        return Path(directory, "file")

    def somaxconn(self, text: str) -> Path:
        """
        @return: A file standing in for C{/proc/sys/net/core/somaxconn}.
        """
        path = self.scratchPath()
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
        missing = self.scratchPath()
        self.assertEqual(kernelBacklogCap(missing), socket.SOMAXCONN)
        self.assertEqual(kernelBacklogCap(self.somaxconn("junk")), socket.SOMAXCONN)
