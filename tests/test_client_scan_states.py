"""
Tests for L{welcome_protocol.client.scan.states}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.scan.states import asExpected, stateOf


class StatesTests(TestCase):
    """
    What each probe result is called in a port table, and whether it is as
    expected.
    """

    def test_names(self) -> None:
        """
        The probe's kinds map to the table's states; a timeout is
        C{timeout} if the connection never completed, C{silent} if it did.
        """
        for result, state in [
            (ProbeResult(None, welcome=b"Hi"), "welcomed"),
            (ProbeResult("refused"), "refused"),
            (ProbeResult("timeout"), "timeout"),
            (ProbeResult("timeout", connectSeconds=0.1), "silent"),
            (ProbeResult("mismatch", connectSeconds=0.1), "mismatch"),
            (ProbeResult("closed_without_welcome", connectSeconds=0.1), "closed"),
            (ProbeResult("tls", connectSeconds=0.1), "tls"),
            (ProbeResult("dns"), "dns"),
        ]:
            self.assertEqual(stateOf(result), state, result)

    def test_expected(self) -> None:
        """
        A port should welcome; one expected closed should refuse or time
        out, and any sign of a listener there fails it.
        """
        self.assertTrue(asExpected("welcomed", False))
        for state in ("refused", "timeout", "mismatch", "closed", "silent", "dns"):
            self.assertFalse(asExpected(state, False), state)
        for state in ("refused", "timeout"):
            self.assertTrue(asExpected(state, True), state)
        for state in ("welcomed", "mismatch", "closed", "silent", "dns"):
            self.assertFalse(asExpected(state, True), state)
