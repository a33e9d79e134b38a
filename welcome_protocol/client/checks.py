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
    if not result.ok:
        return result
    text = decodeWelcome(result.welcome)
    if not expectations.met(text):
        return attrs.evolve(
            result,
            kind=MISMATCH,
            message=f"unexpected welcome from {target}: {excerpt(text)}",
            reason=f"unexpected welcome: {excerpt(text)}",
        )
    notAfter = result.tls.notAfter if result.tls is not None else None
    if certificateDays is not None and notAfter is not None:
        left = daysLeft(notAfter, now)
        level = certificateDays.level(left)
        if level is not None:
            why = (
                f"certificate expires in {left:.1f} days "
                f"({notAfter:%Y-%m-%d %H:%M} UTC)"
            )
            return attrs.evolve(
                result,
                kind=CERTIFICATE,
                message=f"{target}: {why}",
                reason=why,
                certificateLevel=level,
            )
    return result
