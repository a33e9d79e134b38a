"""
Tests for L{welcome_protocol.exporter.expecting}: C{query_response}'s
expectations applied as blackbox_exporter applies them.
"""

from __future__ import annotations

import re

from twisted.trial.unittest import TestCase

from welcome_protocol.exporter.expecting import checkExpects, replyLines
from welcome_protocol.exporter.modules import Expect


class CheckExpectsTests(TestCase):
    """
    Line by line, in order.
    """

    def test_lines(self) -> None:
        """
        Lines lose their C{\\n} or C{\\r\\n}; a last line without one counts.
        """
        self.assertEqual(replyLines(b"a\r\nb\nc"), [b"a", b"b", b"c"])
        self.assertEqual(replyLines(b"a\n"), [b"a"])

    def test_perLine(self) -> None:
        """
        C{^} anchors at the start of each line, as Go's scanner gives them.
        """
        outcome = checkExpects(
            b"220 hello\nWelcome!\n", [Expect(re.compile(b"^Welcome"))]
        )
        self.assertTrue(outcome.met)

    def test_inOrder(self) -> None:
        """
        Each expectation reads on after the previous one's line.
        """
        first, second = Expect(re.compile(b"^B")), Expect(re.compile(b"^A"))
        self.assertFalse(checkExpects(b"A\nB\n", [first, second]).met)
        self.assertTrue(checkExpects(b"B\nA\n", [first, second]).met)

    def test_failedNamesPattern(self) -> None:
        """
        A failed expectation names its pattern.
        """
        outcome = checkExpects(b"nope\n", [Expect(re.compile(b"^Welcome"))])
        self.assertEqual(outcome.failed, "^Welcome")

    def test_labels(self) -> None:
        """
        Label values are filled from the match's groups.
        """
        expect = Expect(
            re.compile(rb"^SSH-(?P<version>[\d.]+)-(\S+)"),
            (("version", "${version}"), ("software", "$2"), ("none", "${9}")),
        )
        outcome = checkExpects(b"SSH-2.0-OpenSSH_9.6\r\n", [expect])
        self.assertEqual(
            outcome.labels,
            (("version", "2.0"), ("software", "OpenSSH_9.6"), ("none", "")),
        )
