"""
End-to-end tests: C{-t} bounds name resolution in every mode of the
installed C{welcome-client} and C{check_welcome}, and a resolver that does
not answer is called a timeout, not a name that does not resolve.

The resolver waits 8 s (L{RESOLVER_TIMEOUT}) for a name server that never
answers; every run must end near its C{-t} of 1 s.
"""

from __future__ import annotations

import json
import time

from twisted.trial.unittest import TestCase

from tests.silentresolver import (
    RESOLVER_TIMEOUT,
    SILENT_NAME,
    runWithSilentResolver,
)

TARGET = f"{SILENT_NAME}:12000"
LATE = "timed out after 1 s resolving the host name"


class ResolverTimeoutTests(TestCase):
    """
    Each mode, its resolver silent, ends within its timeout.
    """

    def runBounded(
        self, program: str, *args: str, bound: float = 4.0
    ) -> tuple[int, str, str]:
        """
        Run C{program}, checking that it ends well before the resolver's
        own timeout.

        @return: The status, stdout and stderr.
        """
        started = time.monotonic()
        result = runWithSilentResolver(program, args)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, min(bound, RESOLVER_TIMEOUT), (args, result))
        return result.returncode, result.stdout, result.stderr

    def test_single(self) -> None:
        """
        A single check: one line on stderr calling it a timeout, exit 1.
        """
        status, out, err = self.runBounded("welcome-client", "-t", "1", TARGET)
        self.assertEqual(
            (status, out, err),
            (1, "", f"welcome-client: cannot connect to {TARGET}: {LATE}\n"),
        )

    def test_count(self) -> None:
        """
        C{--count 2}: each attempt bounded, each a timeout.
        """
        status, out, _ = self.runBounded(
            "welcome-client", "-t", "1", "--count", "2", "-i", "0.1", TARGET
        )
        self.assertEqual(status, 1)
        self.assertEqual(out.count(LATE), 2, out)

    def test_json(self) -> None:
        """
        C{--json}: the attempt's kind is C{timeout}.
        """
        status, out, _ = self.runBounded("welcome-client", "-t", "1", "--json", TARGET)
        attempt = json.loads(out.splitlines()[0])
        self.assertEqual(
            (status, attempt["kind"], attempt["reason"]), (1, "timeout", LATE)
        )

    def test_nagios(self) -> None:
        """
        C{--nagios}: one line, CRITICAL, naming the timeout.
        """
        status, out, _ = self.runBounded(
            "welcome-client", "-t", "1", "--nagios", TARGET
        )
        self.assertEqual(status, 2)
        self.assertEqual(out.count("\n"), 1)
        self.assertIn(LATE, out)

    def test_udp(self) -> None:
        """
        C{--udp} says it timed out resolving, and exits then.
        """
        status, _, err = self.runBounded("welcome-client", "-t", "1", "--udp", TARGET)
        self.assertEqual(status, 1)
        self.assertIn("timed out after 1 s resolving the host name", err)

    def test_scanOfManyNames(self) -> None:
        """
        Twenty such names in one scan: resolved at once, each reported
        timed out, within the one timeout.
        """
        names = [f"n{i}.{SILENT_NAME}:12000" for i in range(20)]
        status, out, _ = self.runBounded("welcome-client", "-t", "1", "--json", *names)
        objects = [json.loads(line) for line in out.splitlines()]
        ports = [o for o in objects if o["type"] == "port"]
        self.assertEqual(status, 1)
        self.assertEqual(len(ports), 20)
        self.assertEqual({o["reason"] for o in ports}, {LATE})

    def test_checkWelcome(self) -> None:
        """
        C{check_welcome}: CRITICAL within C{-t}.
        """
        status, out, _ = self.runBounded(
            "check_welcome", "-H", SILENT_NAME, "-p", "12000", "-t", "1"
        )
        self.assertEqual(status, 2, out)
        self.assertEqual(out.count("\n"), 1)


class FamilyTests(TestCase):
    """
    A name that resolves, but not to the family asked for.
    """

    def test_noIPv6Address(self) -> None:
        """
        C{-6} with a name that has only an IPv4 address (in the hosts file)
        says so, at once; it does not say "does not resolve".
        """
        result = runWithSilentResolver(
            "welcome-client",
            ["-6", "-t", "5", "v4only.test:12000"],
            hosts="127.0.0.1 localhost\n127.0.0.1 v4only.test\n",
            silent=False,
        )
        self.assertEqual(
            (result.returncode, result.stdout, result.stderr),
            (
                1,
                "",
                "welcome-client: cannot connect to v4only.test:12000: "
                "host name has no IPv6 address\n",
            ),
        )

    def test_noIPv6AddressUDP(self) -> None:
        """
        The same over C{--udp}.
        """
        result = runWithSilentResolver(
            "welcome-client",
            ["--udp", "-6", "-t", "5", "v4only.test:12000"],
            hosts="127.0.0.1 localhost\n127.0.0.1 v4only.test\n",
            silent=False,
        )
        self.assertEqual(
            (result.returncode, result.stderr),
            (
                1,
                "welcome-client: cannot probe v4only.test:12000/udp: "
                "host name has no IPv6 address\n",
            ),
        )
