"""
Tests for L{welcome_protocol.shared.descriptions}: endpoint descriptions checked
early and built with the real reactor later.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.endpoints import (
    TCP4ServerEndpoint,
    TCP6ServerEndpoint,
    UNIXServerEndpoint,
    quoteStringArgument,
)
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import TestCase

from tests.support import temporaryPath
from welcome_protocol.handshaking.proxyheader import HeaderFirstEndpoint
from welcome_protocol.listening.builder import checkServerDescription, serverEndpoint
from welcome_protocol.shared.descriptions import (
    DescriptionError,
    checkClientDescription,
)


class CheckServerDescriptionTests(TestCase):
    """
    L{checkServerDescription} explains a bad description in a few words.
    """

    def assertReason(self, description: str, reason: str) -> None:
        """
        Assert that C{description} is refused for C{reason}.
        """
        e = self.assertRaises(DescriptionError, checkServerDescription, description)
        self.assertEqual(str(e), reason)

    def test_good(self) -> None:
        """
        The descriptions the README shows are accepted.
        """
        for description in [
            "tcp:12000",
            "tcp:12000:interface=127.0.0.1",
            r"tcp6:12000:interface=\:\:1",
            "unix:/run/welcome.sock",
            "unix:/run/welcome.sock:mode=660",
            "haproxy:tcp:12000",
        ]:
            checkServerDescription(description)

    def test_unknownType(self) -> None:
        """
        An unknown endpoint type is named.
        """
        self.assertReason("carrier-pigeon:1", "unknown endpoint type 'carrier-pigeon'")
        self.assertReason("", "unknown endpoint type ''")

    def test_notANumber(self) -> None:
        """
        A port that is not a number is named.
        """
        self.assertReason("tcp:http", "'http' is not a whole number")

    def test_unknownParameter(self) -> None:
        """
        A misspelt parameter is named.
        """
        self.assertReason("tcp:1:interfce=::1", "unknown parameter 'interfce'")

    def test_missingParameter(self) -> None:
        """
        A missing required parameter is named.
        """
        self.assertReason("tcp", "missing 'port'")

    def test_missingKeyFile(self) -> None:
        """
        C{ssl:} reads its key when parsed, so a missing one is named early.
        """
        path = temporaryPath(self)
        self.assertReason(
            f"ssl:0:privateKey={path}:certKey={path}",
            f"{path}: no such file or directory",
        )

    def test_badCertificateFile(self) -> None:
        """
        A key file that holds no PEM data is reported as such.
        """
        path = temporaryPath(self)
        with open(path, "w") as f:
            f.write("not a key\n")
        e = self.assertRaises(
            DescriptionError,
            checkServerDescription,
            f"ssl:0:privateKey={path}:certKey={path}",
        )
        self.assertTrue(str(e).startswith("bad certificate or key file ("), str(e))

    def test_systemdWithoutSockets(self) -> None:
        """
        Outside systemd socket activation, there is no socket to adopt.
        """
        self.assertReason(
            "systemd:domain=INET:index=0",
            "systemd passed no socket at index 0 (no LISTEN_FDS in the environment)",
        )

    def test_badInnerDescriptionBehindProxy(self) -> None:
        """
        The description inside C{haproxy:} is checked too.
        """
        self.assertReason("haproxy:tcp:x", "'x' is not a whole number")

    @settings(deadline=None)  # the first parse scans Twisted's plugins
    @given(
        st.integers(0, 65535),
        st.sampled_from(["", "127.0.0.1", "::1", "0.0.0.0", "::"]),
        st.integers(1, 4096),
    )
    def test_anyTCPDescription(self, port: int, interface: str, backlog: int) -> None:
        """
        Any port, interface and backlog make a TCP endpoint of the right
        family, with colons in addresses escaped.
        """
        kind = "tcp6" if ":" in interface else "tcp"
        description = f"{kind}:{port}:backlog={backlog}"
        if interface:
            description += f":interface={quoteStringArgument(interface)}"
        endpoint = serverEndpoint(MemoryReactor(), description)
        expected = TCP6ServerEndpoint if kind == "tcp6" else TCP4ServerEndpoint
        self.assertIsInstance(endpoint, expected)

    @settings(deadline=None)  # the first parse scans Twisted's plugins
    @given(
        st.text(
            st.characters(codec="utf-8", exclude_characters="\x00"),
            min_size=1,
            max_size=40,
        )
    )
    def test_anyUNIXPath(self, path: str) -> None:
        """
        Any path, quoted, makes a UNIX endpoint for exactly that path.

        Twisted's C{quoteStringArgument} escapes C{\\} and C{:} but not
        C{=}, which would make the path a parameter name: C{\\=} is needed.
        """
        quoted = quoteStringArgument(path).replace("=", "\\=")
        endpoint = serverEndpoint(MemoryReactor(), f"unix:{quoted}")
        assert isinstance(endpoint, UNIXServerEndpoint)
        self.assertEqual(endpoint._address, path)

    @settings(deadline=None)  # the first parse scans Twisted's plugins
    @given(st.from_regex(r"\A[a-z][a-z0-9]{0,10}\Z"))
    def test_anyUnknownType(self, kind: str) -> None:
        """
        Any type that is not an installed endpoint type is named.
        """
        if kind in {"tcp", "tcp6", "unix", "ssl", "systemd", "haproxy", "stdio"}:
            return
        if kind in {"onion", "tls", "le", "lets"}:  # plugins that may be installed
            return
        self.assertReason(f"{kind}:1", f"unknown endpoint type {kind!r}")


class ServerEndpointTests(TestCase):
    """
    L{serverEndpoint} builds what the description names.
    """

    def test_proxyEndpointGreetsAfterHeader(self) -> None:
        """
        C{haproxy:} (in any case) is built as a L{HeaderFirstEndpoint}.
        """
        for prefix in ["haproxy", "HAProxy"]:
            endpoint = serverEndpoint(MemoryReactor(), f"{prefix}:tcp:0")
            self.assertIsInstance(endpoint, HeaderFirstEndpoint)


class CheckClientDescriptionTests(TestCase):
    """
    L{checkClientDescription} explains a bad client description.
    """

    def test_good(self) -> None:
        """
        TCP, TLS and UNIX descriptions are accepted.
        """
        for description in [
            "tcp:host=localhost:port=12000",
            "tls:host=localhost:port=12443",
            "unix:path=/run/welcome.sock",
        ]:
            checkClientDescription(description)

    def test_bad(self) -> None:
        """
        Bad descriptions are refused with the reason.
        """
        missing = temporaryPath(self)
        for description, reason in [
            ("tcp:host=localhost", "missing 'port'"),
            ("tcp:host=localhost:port=x", "'x' is not a whole number"),
            ("tls:port=1", "missing 'host'"),
            ("nope:1", "unknown endpoint type 'nope'"),
            (
                f"tls:host=localhost:port=1:trustRoots={missing}",
                f"{missing}: no such file or directory",
            ),
        ]:
            e = self.assertRaises(DescriptionError, checkClientDescription, description)
            self.assertEqual(str(e), reason)
