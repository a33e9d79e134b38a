# -*- test-case-name: tests.test_client_checks -*-
"""
Judge a welcome that arrived: the expectations, and the certificate's expiry.

A probe that fetched a welcome can still fail a check; the result then
carries the check's kind (C{mismatch} or C{certificate}) and its one line.
"""

from __future__ import annotations

import datetime

import attrs

from welcome_protocol.client.expectations import Expectations, excerpt
from welcome_protocol.client.probe import ProbeResult
from welcome_protocol.client.tls import CertificateDays, daysLeft

MISMATCH = "mismatch"
CERTIFICATE = "certificate"


def decodeWelcome(welcome: bytes) -> str:
    """
    @return: The welcome as text: UTF-8, undecodable bytes replaced.
    """
    return welcome.decode("utf-8", "replace")


def assess(
    result: ProbeResult,
    target: str,
    expectations: Expectations,
    certificateDays: CertificateDays | None,
    now: datetime.datetime,
) -> ProbeResult:
    """
    Apply the checks to a successful probe; a failed one is returned as is.

    @param target: How to name the server in the message.
    @param now: The wall-clock time (UTC) to count days left from.
    """
    certificate = _certificateProblem(result, target, certificateDays, now)
    if not result.ok:
        # A handshake that ended before the failure (no welcome followed)
        # still had its certificate judged.
        return certificate or result
    if not result.welcome and certificate is not None:
        # Judged at the handshake, which ended the probe.
        return certificate
    text = decodeWelcome(result.welcome)
    if result.welcome == b"" and not expectations.any:
        # --connect-only: the port accepted; nothing more was asked.
        return certificate or result
    if not expectations.met(text):
        return attrs.evolve(
            result,
            kind=MISMATCH,
            message=f"unexpected welcome from {target}: {excerpt(text)}",
            reason=f"unexpected welcome: {excerpt(text)}",
        )
    return certificate or result


def _certificateProblem(
    result: ProbeResult,
    target: str,
    certificateDays: CertificateDays | None,
    now: datetime.datetime,
) -> ProbeResult | None:
    """
    @return: C{result} as a certificate failure, if the handshake showed a
        certificate expiring within C{certificateDays}; else L{None}.
    """
    notAfter = result.tls.notAfter if result.tls is not None else None
    if certificateDays is None or notAfter is None:
        return None
    left = daysLeft(notAfter, now)
    level = certificateDays.level(left)
    if level is None:
        return None
    why = f"certificate expires in {left:.1f} days ({notAfter:%Y-%m-%d %H:%M} UTC)"
    return attrs.evolve(
        result,
        kind=CERTIFICATE,
        message=f"{target}: {why}",
        reason=why,
        certificateLevel=level,
    )
