"""
Tests for L{welcome_protocol.shared.portranges}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.shared.portranges import (
    MAX_RANGE,
    PortRangeError,
    expandPortOption,
    expandPortRange,
)


class ExpandPortRangeTests(TestCase):
    """
    L{expandPortRange}: one description per port.
    """

    def test_positionalPort(self) -> None:
        """
        The port field is replaced; every other field is kept as written.
        """
        self.assertEqual(
            expandPortRange("tcp:20000-20002:interface=127.0.0.1:backlog=5"),
            (
                "tcp:20000:interface=127.0.0.1:backlog=5",
                "tcp:20001:interface=127.0.0.1:backlog=5",
                "tcp:20002:interface=127.0.0.1:backlog=5",
            ),
        )

    def test_keywordPort(self) -> None:
        """
        C{port=} may hold the range, wherever it stands.
        """
        self.assertEqual(
            expandPortRange("tcp6:interface=\\:\\:1:port=1-2"),
            ("tcp6:interface=\\:\\:1:port=1", "tcp6:interface=\\:\\:1:port=2"),
        )

    def test_typesAndProxy(self) -> None:
        """
        C{ssl}, C{udp} and C{haproxy:} in front take ranges too; a list
        works as well as a range.
        """
        self.assertEqual(
            expandPortRange("ssl:1-2:privateKey=k.pem"),
            ("ssl:1:privateKey=k.pem", "ssl:2:privateKey=k.pem"),
        )
        self.assertEqual(expandPortRange("UDP:5,7"), ("UDP:5", "UDP:7"))
        self.assertEqual(
            expandPortRange("haproxy:tcp:8-9"), ("haproxy:tcp:8", "haproxy:tcp:9")
        )
        self.assertEqual(
            expandPortRange("tls:/etc/my-certs:port=8-9"),
            ("tls:/etc/my-certs:port=8", "tls:/etc/my-certs:port=9"),
        )

    def test_othersUnchanged(self) -> None:
        """
        One port, other types, and descriptions whose text merely has a
        dash are returned alone.
        """
        for description in (
            "tcp:12000",
            "tcp:0:interface=127.0.0.1",
            "unix:/run/a-b.sock",
            "systemd:domain=INET:index=0",
            "ssl:443:privateKey=my-key.pem",
            "tcp:interface=127.0.0.1",
            "tls:/etc/my-certs",
            "tls:/etc/my-certs:port=443",
        ):
            self.assertEqual(expandPortRange(description), (description,))

    def test_mistakes(self) -> None:
        """
        A bad range, or one too long, is named.
        """
        for description, message in [
            ("tcp:9-1", "port range '9-1': the range '9-1' ends before it starts"),
            ("tcp:0-5", "port range '0-5': '0' is not a port from 1 to 65535"),
            ("tcp:1-", "port range '1-': not a port list such as 22,80,20000-20099"),
            (
                f"tcp:1-{MAX_RANGE + 1}",
                f"port range '1-{MAX_RANGE + 1}' has {MAX_RANGE + 1} ports; "
                f"at most {MAX_RANGE}",
            ),
        ]:
            with self.assertRaises(PortRangeError) as caught:
                expandPortRange(description)
            self.assertEqual(str(caught.exception), message)


class ExpandPortOptionTests(TestCase):
    """
    L{expandPortOption}: C{--port 20000-20099}.
    """

    def test_range(self) -> None:
        """
        A range is C{tcp:} descriptions; one port is left to C{--port}.
        """
        self.assertEqual(expandPortOption("7-8"), ("tcp:7", "tcp:8"))
        self.assertIsNone(expandPortOption("12000"))
        self.assertIsNone(expandPortOption("http"))
