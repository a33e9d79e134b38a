"""
Tests for L{welcome_protocol.shared.portlists}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.shared.portlists import isPortList, parsePorts


class ParsePortsTests(TestCase):
    """
    L{parsePorts} reads C{22,80,20000-20099}.
    """

    def test_listsAndRanges(self) -> None:
        """
        Ports and inclusive ranges, in the order written, each once.
        """
        self.assertEqual(
            parsePorts("22, 80,20000-20003,80"), (22, 80, 20000, 20001, 20002, 20003)
        )
        self.assertEqual(parsePorts("1-1"), (1,))
        self.assertEqual(len(parsePorts("1-65535")), 65535)

    def test_mistakesNamed(self) -> None:
        """
        Each mistake says which item is wrong.
        """
        for text, message in [
            ("", "not a port list such as 22,80,20000-20099"),
            ("1,,2", "not a port list such as 22,80,20000-20099"),
            ("3-", "not a port list such as 22,80,20000-20099"),
            ("0", "'0' is not a port from 1 to 65535"),
            ("65536", "'65536' is not a port from 1 to 65535"),
            ("٣", "'٣' is not a port from 1 to 65535"),
            ("http", "'http' is not a port from 1 to 65535"),
            ("9-3", "the range '9-3' ends before it starts"),
        ]:
            with self.assertRaises(ValueError) as caught:
                parsePorts(text)
            self.assertEqual(str(caught.exception), message, text)

    def test_isPortList(self) -> None:
        """
        A comma or a dash makes a list; one port does not.
        """
        self.assertTrue(isPortList("22,80"))
        self.assertTrue(isPortList("1-5"))
        self.assertFalse(isPortList("22"))
