"""
Tests for L{welcome_protocol.client.tls}: C{--certificate-days}, days left
and C{--ca-file}.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import runClient, temporaryPath
from welcome_protocol.client.tls import (
    CertificateDays,
    badTrustRootFile,
    daysLeft,
    loadTrustRoots,
)


class CertificateDaysTests(TestCase):
    """
    C{WARN[,CRIT]}, as C{check_tcp -D} takes it.
    """

    def test_warnOnly(self) -> None:
        """
        One number warns within that many days; critical only once expired.
        """
        days = CertificateDays.parse("7")
        self.assertEqual(days, CertificateDays(7.0, 0.0))
        self.assertEqual(
            [days.level(d) for d in (30, 7, 2, 0, -1)],
            [None, "warning", "warning", "critical", "critical"],
        )

    def test_warnAndCritical(self) -> None:
        """
        Within CRIT days it is critical, within WARN a warning.
        """
        days = CertificateDays.parse("30,7")
        self.assertEqual(
            [days.level(d) for d in (31, 30, 8, 7, 1)],
            [None, "warning", "warning", "critical", "critical"],
        )

    def test_bad(self) -> None:
        """
        Text, three numbers, negatives and CRIT above WARN are refused.
        """
        for bad in ["x", "1,2,3", "-1", "7,30", "", "1,"]:
            self.assertRaises(ValueError, CertificateDays.parse, bad)


class DaysLeftTests(TestCase):
    """
    L{daysLeft} counts fractional days.
    """

    def test_fraction(self) -> None:
        """
        Thirty-six hours are 1.5 days; the past is negative.
        """
        now = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
        later = now + datetime.timedelta(hours=36)
        self.assertEqual(daysLeft(later, now), 1.5)
        self.assertEqual(daysLeft(now, later), -1.5)


class LoadTrustRootsTests(TestCase):
    """
    C{--ca-file} problems are found when options are parsed.
    """

    def test_goodFile(self) -> None:
        """
        A PEM certificate loads as a trust root.
        """
        cert, _ = makeCertificate(Path(temporaryPath(self)))
        self.assertIsNotNone(loadTrustRoots(str(cert)))

    def test_missingFile(self) -> None:
        """
        A missing file is named, with the reason.
        """
        path = temporaryPath(self)
        e = self.assertRaises(ValueError, loadTrustRoots, path)
        self.assertEqual(str(e), f"{path}: no such file or directory")

    def test_notPEM(self) -> None:
        """
        A file without a certificate in it says so.
        """
        path = Path(temporaryPath(self))
        path.write_text("hello\n")
        e = self.assertRaises(ValueError, loadTrustRoots, str(path))
        self.assertEqual(str(e), f"{path}: no PEM certificate in it")

    def test_brokenPEM(self) -> None:
        """
        A certificate block that does not decode is refused.
        """
        path = Path(temporaryPath(self))
        path.write_text(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )
        e = self.assertRaises(ValueError, loadTrustRoots, str(path))
        self.assertEqual(str(e), f"{path}: not a valid PEM certificate")


class BadTrustRootFileTests(TestCase):
    """
    L{badTrustRootFile} names the file that spoils a C{trustRoots=}
    directory, and the installed client says it.
    """

    def test_namesTheFile(self) -> None:
        """
        A C{.pem} file without a certificate is named; other files are not
        read.
        """
        directory = Path(self.mktemp())
        directory.mkdir()
        (directory / "notes.txt").write_text("not read")
        (directory / "bad.pem").write_text("garbage")
        self.assertEqual(
            badTrustRootFile(f"tls:host=h:port=1:trustRoots={directory}"),
            f"{directory}/bad.pem: no PEM certificate in it",
        )
        self.assertIsNone(badTrustRootFile("tls:host=h:port=1"))

    def test_fromOutside(self) -> None:
        """
        C{welcome-client --connect tls:...:trustRoots=DIR}: one line on
        stderr naming the file, status 2.
        """
        directory = Path(self.mktemp()).absolute()
        directory.mkdir()
        (directory / "bad.pem").write_text("garbage")
        result = runClient(
            ["--connect", f"tls:host=localhost:port=1:trustRoots={directory}"]
        )
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn(f"trustRoots: {directory}/bad.pem: no PEM", result.stderr)
