"""
Tests for the benchmark's own logic (L{benchmarks}): reading strace's
summary and finding the address a row is measured over.
"""

from __future__ import annotations

import shlex

from twisted.trial.unittest import TestCase

from benchmarks.run import listen_host
from benchmarks.syscalls import SyscallCount, parse_summary

_SUMMARY = """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 41.20    0.010297           5      2000           accept4
 30.91    0.006571           3      2000           pwritev2
 20.37    0.005659           2      2000           close
  7.52    0.001880          18       102        12 epoll_wait
------ ----------- ----------- --------- --------- ----------------
100.00    0.024407           4      6102        12 total
"""


class SyscallSummaryTests(TestCase):
    """
    L{parse_summary} and L{SyscallCount} turn C{strace -c}'s table into
    calls per greeting.
    """

    def test_callsByName(self) -> None:
        """
        Every row counts, with or without an errors column; the total and
        the rules do not.
        """
        self.assertEqual(
            parse_summary(_SUMMARY),
            {"accept4": 2000, "pwritev2": 2000, "close": 2000, "epoll_wait": 102},
        )

    def test_perGreeting(self) -> None:
        """
        The calls per greeting are all calls over the greetings, and the
        breakdown names each call of at least a hundredth per greeting.
        """
        count = SyscallCount(2000, parse_summary(_SUMMARY))
        self.assertAlmostEqual(count.per_greeting, 3.051)
        self.assertEqual(
            count.breakdown(),
            "accept4 1.00, close 1.00, pwritev2 1.00, epoll_wait 0.05",
        )

    def test_roundsAddUp(self) -> None:
        """
        The counts of several rounds add up, greetings and calls; rounds
        that were not counted are left out.
        """
        one = {"greetings": 2000, "calls": {"accept4": 2000, "close": 2000}}
        two = {"greetings": 1000, "calls": {"accept4": 1000, "ioctl": 1000}}
        total = SyscallCount.total([one, None, two])
        assert total is not None
        self.assertEqual(total.greetings, 3000)
        self.assertEqual(total.calls, {"accept4": 3000, "close": 2000, "ioctl": 1000})
        self.assertIsNone(SyscallCount.total([None]))

    def test_noSummary(self) -> None:
        """
        Text without strace's table gives no calls.
        """
        self.assertEqual(parse_summary("strace: attach: ptrace: EPERM\n"), {})


class ListenHostTests(TestCase):
    """
    L{listen_host} finds where a C{twistd welcome} row listens, from the
    variant's arguments as the benchmark splits them.
    """

    def test_ipv6Loopback(self) -> None:
        """
        A C{tcp6:} description on C{::1}, colons escaped, is measured
        over C{::1}.
        """
        argv = shlex.split(r"--listen tcp6:{port}:interface=\\:\\:1")
        self.assertEqual(listen_host(argv), "::1")

    def test_wildcardsAndDefaults(self) -> None:
        """
        A dual-stack wildcard, a description without an interface and no
        C{--listen} at all are measured over 127.0.0.1.
        """
        for args in [
            r"--listen tcp6:{port}:interface=\\:\\:",
            "--listen tcp6:{port}",
            "--no-log-connections",
        ]:
            self.assertEqual(listen_host(shlex.split(args)), "127.0.0.1", args)

    def test_equalsForm(self) -> None:
        """
        C{--listen=DESCRIPTION} is read as well as C{--listen DESCRIPTION}.
        """
        argv = ["--listen=tcp:{port}:interface=127.0.0.2"]
        self.assertEqual(listen_host(argv), "127.0.0.2")
