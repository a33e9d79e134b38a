"""
Tests for L{welcome_protocol.exporter.tcpprober}'s judgement of the
client's results, and L{welcome_protocol.exporter.scrapelog}.
"""

from __future__ import annotations

import re
from typing import cast

from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from welcome_protocol.client.reactors import ClientReactor
from welcome_protocol.exporter import probing
from welcome_protocol.exporter.modules import Expect, Module
from welcome_protocol.exporter.outcome import ProbeContext
from welcome_protocol.exporter.probing import ProbeResult
from welcome_protocol.exporter.scrapelog import MAX_LINES, ScrapeLog
from welcome_protocol.exporter.tcpprober import CONNECTED, judge


def context(module: Module) -> ProbeContext:
    """
    @return: A context for C{module}, with a fake clock.
    """
    clock = Clock()
    return ProbeContext(
        cast(ClientReactor, clock), module, 1.0, ScrapeLog(clock.seconds), clock.seconds
    )


EXPECTING = Module("m", "tcp", 1.0, (Expect(re.compile(b"^Welcome")),))


class JudgeTests(TestCase):
    """
    A result becomes an outcome as blackbox_exporter would judge it.
    """

    def test_connectOnly(self) -> None:
        """
        Without expectations, a connection is a success, state C{connected}.
        """
        outcome = judge(context(Module("m", "tcp")), ProbeResult(None), False)
        self.assertEqual((outcome.success, outcome.state), (True, CONNECTED))
        self.assertIsNone(outcome.regexFailed)

    def test_match(self) -> None:
        """
        A reply whose line matches: success, not failed due to the regex.
        """
        outcome = judge(
            context(EXPECTING), ProbeResult(None, welcome=b"Welcome!\n"), True
        )
        self.assertTrue(outcome.success)
        self.assertIs(outcome.regexFailed, False)

    def test_mismatch(self) -> None:
        """
        A reply that does not match: failed due to the regex, state
        C{mismatch}.
        """
        outcome = judge(context(EXPECTING), ProbeResult(None, welcome=b"No\n"), True)
        self.assertEqual((outcome.success, outcome.state), (False, "mismatch"))
        self.assertIs(outcome.regexFailed, True)

    def test_closedWithoutWordIsRegexFailure(self) -> None:
        """
        A server that closes without a word: blackbox_exporter reads no line
        before the end, so its expectation fails due to the regex.
        """
        result = ProbeResult(probing.CLOSED_WITHOUT_WELCOME, "closed", "closed")
        outcome = judge(context(EXPECTING), result, True)
        self.assertIs(outcome.regexFailed, True)

    def test_silentIsNotRegexFailure(self) -> None:
        """
        A server that says nothing until the timeout: a failure, but not
        due to the regex.
        """
        result = ProbeResult(probing.TIMEOUT, "t", "t", connectSeconds=0.001)
        outcome = judge(context(EXPECTING), result, True)
        self.assertEqual((outcome.success, outcome.state), (False, "silent"))
        self.assertIsNone(outcome.regexFailed)


class ScrapeLogTests(TestCase):
    """
    The probe's log for C{debug=true}.
    """

    def test_escaped(self) -> None:
        """
        Values are escaped: a newline cannot forge a line.
        """
        clock = Clock()
        log = ScrapeLog(clock.seconds)
        log.info("Read", reply=b"a\nb", target="x\ny\x1b[31m")
        [line] = log.text().splitlines()
        self.assertIn("reply=b'a\\nb'", line)
        self.assertIn("target=x\\ny\\x1b[31m", line)

    def test_bounded(self) -> None:
        """
        At most L{MAX_LINES} lines are kept, and the rest counted.
        """
        log = ScrapeLog(Clock().seconds)
        for _ in range(MAX_LINES + 5):
            log.info("line")
        self.assertEqual(len(log.lines), MAX_LINES)
        self.assertIn("(5 more lines not kept)", log.text())
