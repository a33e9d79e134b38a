# -*- test-case-name: tests.test_client_tls -*-
"""
TLS for C{--tls}: verified connections and the certificate's days left.

The certificate and the host name are always verified (C{check_tcp -S} does
neither); C{--ca-file} replaces the platform's trust roots.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import attrs
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator

_PEM = re.compile(
    rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL
)
SECONDS_PER_DAY = 86400.0


@attrs.frozen
class CertificateDays:
    """
    C{--certificate-days WARN[,CRIT]}: how soon an expiry is a problem.

    @ivar warning: Warn when the certificate expires within this many days.
    @ivar critical: Go critical within this many (0: only once expired,
        which verification already refuses).
    """

    warning: float
    critical: float = 0.0

    @classmethod
    def parse(cls, text: str) -> CertificateDays:
        """
        Read C{WARN} or C{WARN,CRIT}.

        @raise ValueError: For anything else, or CRIT above WARN.
        """
        parts = text.split(",")
        try:
            if len(parts) > 2:
                raise ValueError
            values = [float(part) for part in parts]
        except ValueError:
            raise ValueError(f"{text!r} is not WARN or WARN,CRIT (days)") from None
        if any(not 0 <= value < 1e6 for value in values):
            raise ValueError(f"{text!r}: days must be from 0 to 999999")
        if len(values) == 2 and values[1] > values[0]:
            raise ValueError(f"{text!r}: CRIT days must not be above WARN days")
        return cls(*values)

    def level(self, daysLeft: float) -> str | None:
        """
        @return: C{"critical"}, C{"warning"} or L{None} for C{daysLeft}.
        """
        if daysLeft <= self.critical:
            return "critical"
        if daysLeft <= self.warning:
            return "warning"
        return None


def daysLeft(notAfter: datetime.datetime, now: datetime.datetime) -> float:
    """
    @return: Days from C{now} until C{notAfter} (negative once expired).
    """
    return (notAfter - now).total_seconds() / SECONDS_PER_DAY


# Any: Twisted's trustRootFromCertificates is unannotated, and the interface
# it provides, IOpenSSLTrustRoot, is only in the private twisted.internet._sslverify.
def loadTrustRoots(path: str) -> Any:
    """
    Read C{--ca-file}: one or more PEM certificates to trust.

    @return: An C{IOpenSSLTrustRoot} for L{clientTLSOptions}.
    @raise ValueError: If the file cannot be read or holds no certificate,
        saying which.
    """
    # Imported here for start-up time: only --tls runs need pyOpenSSL.
    from twisted.internet.ssl import Certificate, trustRootFromCertificates

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: {(e.strerror or str(e)).lower()}") from None
    blocks = _PEM.findall(data)
    if not blocks:
        raise ValueError(f"{path}: no PEM certificate in it")
    try:
        certificates = [Certificate.loadPEM(block) for block in blocks]
    except Exception:
        raise ValueError(f"{path}: not a valid PEM certificate") from None
    return trustRootFromCertificates(certificates)


_TRUST_ROOTS = re.compile(r"(?:^|:)trustRoots=([^:]*)")


def badTrustRootFile(description: str) -> str | None:
    """
    Find the file that spoils a C{tls:} description's C{trustRoots=}
    directory: Twisted reads every C{.pem} file in it, and its error names
    no file.

    @return: C{DIR/FILE: why}, or L{None} if every file holds a
        certificate (or there is no such directory).
    """
    found = _TRUST_ROOTS.search(description)
    if found is None:
        return None
    directory = Path(found.group(1))
    try:
        children = sorted(directory.iterdir())
    except OSError:
        return None
    for child in children:
        if child.suffix.lower() != ".pem" or not child.is_file():
            continue
        try:
            loadTrustRoots(str(child))
        except ValueError as e:
            return str(e)
    return None


def clientTLSOptions(name: str, caFile: str | None) -> IOpenSSLClientConnectionCreator:
    """
    The connection creator for C{--tls}: verify the certificate against
    C{name} (sent as SNI unless it is an IP address) and the trust roots.

    @param name: C{--sni}, or else C{--host}.
    @param caFile: C{--ca-file}, or L{None} for the platform's roots.
    """
    # Imported here for start-up time: only --tls runs need pyOpenSSL.
    from twisted.internet.ssl import optionsForClientTLS, platformTrust

    roots = platformTrust() if caFile is None else loadTrustRoots(caFile)
    return optionsForClientTLS(name, trustRoot=roots)
