"""
Tests for L{welcome_protocol.client.scan.targetsfile}: C{--targets-file} is
a regular file, read up to a byte cap and no further than the target limit.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.support import runClient, temporaryPath
from welcome_protocol.client.scan.targetsfile import readTargetsFile


class ReadTargetsFileTests(TestCase):
    """
    L{readTargetsFile} refuses what is not a bounded file of targets.
    """

    def test_targets(self) -> None:
        """
        Each target is found with its line; comments and blank lines are
        skipped.
        """
        path = Path(temporaryPath(self))
        path.write_text("a:1\n\n# c\nb  # d\n")
        self.assertEqual(
            readTargetsFile(str(path), 10),
            [
                ("a:1", f"--targets-file {path}, line 1"),
                ("b", f"--targets-file {path}, line 4"),
            ],
        )

    def test_notRegular(self) -> None:
        """
        A character device (C{/dev/zero}) is refused without reading it.
        """
        with self.assertRaises(ValueError) as caught:
            readTargetsFile("/dev/zero", 10)
        self.assertEqual(
            str(caught.exception),
            "--targets-file /dev/zero: not a regular file; give a file of targets",
        )

    def test_fifo(self) -> None:
        """
        A FIFO without a writer is refused at once, not waited on.
        """
        path = temporaryPath(self)
        os.mkfifo(path)
        with self.assertRaises(ValueError) as caught:
            readTargetsFile(path, 10)
        self.assertIn("not a regular file", str(caught.exception))

    def test_directory(self) -> None:
        """
        A directory is named as one.
        """
        with self.assertRaises(ValueError) as caught:
            readTargetsFile(os.path.dirname(temporaryPath(self)), 10)
        self.assertIn("a directory", str(caught.exception))

    def test_byteCap(self) -> None:
        """
        A file over the byte cap is refused, even as one endless line.
        """
        path = Path(temporaryPath(self))
        path.write_bytes(b"x" * 1000)
        with self.assertRaises(ValueError) as caught:
            readTargetsFile(str(path), 10, maxBytes=100)
        self.assertIn("larger than 100 bytes", str(caught.exception))

    def test_targetLimit(self) -> None:
        """
        Parsing stops at the first target over the limit.
        """
        path = Path(temporaryPath(self))
        path.write_text("a\nb\nc\n")
        self.assertEqual(len(readTargetsFile(str(path), 3)), 3)
        with self.assertRaises(ValueError) as caught:
            readTargetsFile(str(path), 2)
        self.assertIn("more than 2 targets", str(caught.exception))

    def test_empty(self) -> None:
        """
        A file with no target says so.
        """
        path = Path(temporaryPath(self))
        path.write_text("# nothing\n")
        with self.assertRaises(ValueError) as caught:
            readTargetsFile(str(path), 2)
        self.assertIn("no target in it", str(caught.exception))


class HostileTargetsFileTests(TestCase):
    """
    The installed C{welcome-client} given a hostile C{--targets-file}: one
    clear line, fast, in every output mode.
    """

    def assertOneLine(self, path: str, message: str) -> None:
        """
        Each mode answers within a few seconds: one line on stderr (status
        2), the Nagios line (status 3), the JSON object (status 2).
        """
        for mode in ([], ["--nagios"], ["--json"]):
            started = time.monotonic()
            result = runClient([*mode, "-t", "1", "--targets-file", path], 20)
            self.assertLess(time.monotonic() - started, 5.0, mode)
            if mode == ["--nagios"]:
                self.assertEqual(result.returncode, 3)
                self.assertEqual(result.stdout.count("\n"), 1, result.stdout)
                self.assertTrue(result.stdout.startswith("WELCOME UNKNOWN - "))
                self.assertIn(message, result.stdout)
                continue
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
            self.assertIn(message, result.stderr)
            if mode == ["--json"]:
                line = json.loads(result.stdout)
                self.assertEqual(line["type"], "error")
                self.assertIn(message, line["reason"])
            else:
                self.assertEqual(result.stdout, "")

    def test_devZero(self) -> None:
        """
        C{/dev/zero} is refused, not read into memory.
        """
        self.assertOneLine("/dev/zero", "/dev/zero: not a regular file")

    def test_fifo(self) -> None:
        """
        A FIFO is refused at once, not waited on.
        """
        path = temporaryPath(self)
        os.mkfifo(path)
        self.assertOneLine(path, "not a regular file")

    def test_largeFile(self) -> None:
        """
        A 24 MB file of two million targets stops at the target limit.
        """
        path = temporaryPath(self)
        with open(path, "w") as f:
            f.write("127.0.0.1:1\n" * 2_000_000)
        self.assertOneLine(path, "more than 100000 targets")

    def test_overByteCap(self) -> None:
        """
        A file over the byte cap (a 24 MB line of comment) is refused at
        the cap.
        """
        path = temporaryPath(self)
        with open(path, "w") as f:
            f.write("a\n#" + "x" * 24_000_000)
        self.assertOneLine(path, "larger than 16777216 bytes")

    def test_tooManyTargets(self) -> None:
        """
        A file under the cap with more targets than a run takes stops at
        the limit.
        """
        path = temporaryPath(self)
        with open(path, "w") as f:
            f.write("a\n" * 100_001)
        self.assertOneLine(path, "more than 100000 targets")
