"""
Tests for L{welcome_protocol.client.checks}: expectations and certificate
expiry applied to a probe's result.
"""

from __future__ import annotations

import datetime

from twisted.trial.unittest import TestCase

from welcome_protocol.client.checks import CERTIFICATE, MISMATCH, assess
from welcome_protocol.client.expectations import Expectations
from welcome_protocol.client.probe import REFUSED, ProbeResult, TLSDetails
from welcome_protocol.client.tls import CertificateDays

NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
TARGET = "127.0.0.1:12000"


def welcomed(text: bytes, daysLeft: float | None = None) -> ProbeResult:
    """
    A successful probe of C{text}, over TLS if C{daysLeft} is given.
    """
    tls = None
    if daysLeft is not None:
        tls = TLSDetails("TLSv1.3", NOW + datetime.timedelta(days=daysLeft))
    return ProbeResult(
        None, connectSeconds=0.1, welcomeSeconds=0.1, welcome=text, tls=tls
    )


class AssessTests(TestCase):
    """
    L{assess} turns a welcome that fails a check into that check's failure.
    """

    def test_passes(self) -> None:
        """
        A welcome meeting the expectations is returned unchanged.
        """
        result = welcomed(b"Welcome!")
        self.assertIs(
            assess(result, TARGET, Expectations(("Welcome",)), None, NOW), result
        )

    def test_mismatch(self) -> None:
        """
        An unexpected welcome is a C{mismatch} with an escaped excerpt.
        """
        result = assess(
            welcomed(b"Service Unavailable\n"),
            TARGET,
            Expectations(("Welcome",)),
            None,
            NOW,
        )
        self.assertEqual(result.kind, MISMATCH)
        self.assertEqual(
            result.message,
            "unexpected welcome from 127.0.0.1:12000: 'Service Unavailable\\n'",
        )
        self.assertEqual(result.welcome, b"Service Unavailable\n")

    def test_certificateExpiringSoon(self) -> None:
        """
        A certificate expiring within the warning days is a C{certificate}
        failure at the level it reached.
        """
        days = CertificateDays(7, 1)
        warned = assess(welcomed(b"hi", 2), TARGET, Expectations(), days, NOW)
        self.assertEqual(
            (warned.kind, warned.certificateLevel), (CERTIFICATE, "warning")
        )
        self.assertEqual(
            warned.message,
            "127.0.0.1:12000: certificate expires in 2.0 days (2030-01-03 00:00 UTC)",
        )
        critical = assess(welcomed(b"hi", 0.5), TARGET, Expectations(), days, NOW)
        self.assertEqual(critical.certificateLevel, "critical")
        fine = welcomed(b"hi", 30)
        self.assertIs(assess(fine, TARGET, Expectations(), days, NOW), fine)

    def test_failureUntouched(self) -> None:
        """
        A probe that failed stays as it was.
        """
        refused = ProbeResult(REFUSED, "x", "y")
        self.assertIs(
            assess(refused, TARGET, Expectations(("a",)), CertificateDays(7), NOW),
            refused,
        )
