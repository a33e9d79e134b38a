"""
End-to-end tests: IPv6 literals with a zone (C{[fe80::1%lo]:PORT}) in the
single check, C{--udp}, the port-list mode and C{check_welcome}.
"""

from __future__ import annotations

import json

from twisted.trial.unittest import TestCase

from tests.linklocal import ADDRESS, ZONE, runAgainstLinkLocal

HOST = f"{ADDRESS}%{ZONE}"
TARGET = f"[{HOST}]:PORT"


class ZoneTests(TestCase):
    """
    Every mode reaches a link-local server through its zone.
    """

    def test_everyMode(self) -> None:
        """
        The single check, C{--json}, C{--nagios}, C{--udp}, a port list
        and C{check_welcome} all get the welcome.
        """
        results = runAgainstLinkLocal(
            [
                ["welcome-client", "-t", "3", TARGET],
                ["welcome-client", "-t", "3", "--json", TARGET],
                ["welcome-client", "-t", "3", "--nagios", TARGET],
                ["welcome-client", "-t", "3", "--udp", TARGET],
                ["welcome-client", "-t", "3", f"[{HOST}]:PORT,PORT"],
                ["check_welcome", "-H", HOST, "-p", "PORT", "-t", "3"],
            ]
        )
        single, lines, nagios, udp, ports, check = results
        self.assertEqual(single[:2], (0, "Welcome!\n"), single)
        attempt = json.loads(lines[1].splitlines()[0])
        self.assertEqual((lines[0], attempt["welcome"]), (0, "Welcome!"))
        self.assertEqual(nagios[0], 0, nagios)
        self.assertEqual(udp[:2], (0, "Welcome!\n"), udp)
        self.assertEqual(ports[0], 0, ports)
        self.assertEqual(check[0], 0, check)
        self.assertTrue(check[1].startswith("WELCOME OK"), check)
