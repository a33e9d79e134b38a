"""
Tests for L{welcome_protocol.exporter.targets}: the target parameter and
C{--allow-targets}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.exporter.targets import (
    AllowedTargets,
    TargetError,
    parseTarget,
    quoted,
)


class ParseTargetTests(TestCase):
    """
    C{host:port} as blackbox_exporter's tcp prober takes it.
    """

    def test_forms(self) -> None:
        """
        A name, an IPv4 and a bracketed IPv6 address, each with its port.
        """
        self.assertEqual(parseTarget("example.com:22", True), ("example.com", 22))
        self.assertEqual(parseTarget("127.0.0.1:80", True), ("127.0.0.1", 80))
        self.assertEqual(parseTarget("[::1]:12000", True), ("::1", 12000))

    def test_portLists(self) -> None:
        """
        With C{ports=}, the target is a host alone.
        """
        self.assertEqual(parseTarget("example.com", False), ("example.com", None))

    def test_bad(self) -> None:
        """
        Missing, portless, bad ports and bad names are refused in one line.
        """
        for text in (
            "",
            "host",
            "host:0",
            "host:70000",
            "host:x",
            "[::1",
            "a b:1",
            ":80",
            "x" * 300,
            "a" * 64 + ".example:1",
            "a..b:1",
            ".:1",
            "-a:1",
        ):
            with self.assertRaises(TargetError, msg=text) as caught:
                parseTarget(text, True)
            self.assertNotIn("\n", str(caught.exception))

    def test_escaped(self) -> None:
        """
        What the target holds is quoted escaped: a newline, an escape
        sequence or a bidirectional override never appear as such.
        """
        for evil in ("a\nb:1", "\x1b[31m:1", "\u202eevil:1"):
            with self.assertRaises(TargetError) as caught:
                parseTarget(evil, True)
            message = str(caught.exception)
            self.assertTrue(message.isprintable(), message)

    def test_quotedCut(self) -> None:
        """
        A long text is cut.
        """
        self.assertEqual(quoted("x" * 100, 5), "'xxxxx'...")


class AllowedTargetsTests(TestCase):
    """
    C{--allow-targets}.
    """

    def test_networksAndNames(self) -> None:
        """
        Addresses in the networks, the names listed and names under a
        C{.domain} are allowed; others are not.
        """
        allowed = AllowedTargets.parse(["127.0.0.0/8,::1", "db.example.com", ".lan"])
        self.assertTrue(allowed.allows("127.0.0.2"))
        self.assertTrue(allowed.allows("::1"))
        self.assertTrue(allowed.allows("::ffff:127.0.0.1"))
        self.assertTrue(allowed.allows("DB.example.com."))
        self.assertTrue(allowed.allows("printer.lan"))
        self.assertFalse(allowed.allows("10.0.0.1"))
        self.assertFalse(allowed.allows("example.com"))
        self.assertFalse(allowed.allows("evil-lan"))

    def test_bad(self) -> None:
        """
        A network with host bits, or neither a network nor a name, is
        refused naming it.
        """
        with self.assertRaises(ValueError) as caught:
            AllowedTargets.parse(["10.0.0.1/8"])
        self.assertIn("write 10.0.0.0/8 instead", str(caught.exception))
        with self.assertRaises(ValueError):
            AllowedTargets.parse(["a b"])
        with self.assertRaises(ValueError):
            AllowedTargets.parse([","])
