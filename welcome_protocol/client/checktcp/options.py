# -*- test-case-name: tests.test_client_checktcp_options -*-
"""
C{check_tcp}'s command line, read with C{check_tcp}'s meanings.

Every option C{check_tcp} shares with the welcome is here with its short
and long name: C{-H -p -4 -6 -E -s -e -A -q -r -M -j -m -d -D -S --sni -w
-c -t -v}.  Where the welcome's own defaults differ they still apply: the
port is 12000, a welcome must arrive (C{check_tcp} without C{-e} only
connects), and TLS is verified.  What is stricter or wider than
C{check_tcp} (fractions of a second for C{-t}, ranges for C{-w} and C{-c},
a bad value refused instead of read as 0) is in the documentation.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from twisted.python import usage

from welcome_protocol.client.checktcp.conversation import unescape
from welcome_protocol.client.expectations import Expectations
from welcome_protocol.client.hostnames import hostNameProblem, serverNameProblem
from welcome_protocol.client.judge import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
)
from welcome_protocol.client.options import MAX_BYTES, MAX_SECONDS
from welcome_protocol.client.probe import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from welcome_protocol.client.target import addressFamily
from welcome_protocol.client.thresholds import Range
from welcome_protocol.client.tls import CertificateDays, loadTrustRoots
from welcome_protocol.shared.commandline import parseCount, parsePositive, versionText
from welcome_protocol.shared.defaults import DEFAULT_PORT
from welcome_protocol.shared.hostinfo import thisHostName

PROGRAM = "check_welcome"
STATE_PREFIXES = (("ok", OK), ("warn", WARNING), ("crit", CRITICAL))
"""
C{-r} and C{-M} values; as in C{check_tcp}, only the start is read
(C{warning} is C{warn}).
"""


def _state(option: str, text: str) -> int:
    for prefix, state in STATE_PREFIXES:
        if text.startswith(prefix):
            return state
    raise usage.UsageError(f"{option} must be one of ok, warn, crit, not {text!r}")


class CheckTCPOptions(usage.Options):
    """
    The options of C{check_welcome}.

    After parsing: C{self["expectations"]}, C{self["family"]} (4, 6 or
    L{None}), C{self["send"]} and C{self["quit"]} as bytes, C{self["tls"]},
    and the states and ranges as values.
    """

    synopsis = (
        "Usage: check_welcome [-H host] [-p port] [-w <warning time>]\n"
        "         [-c <critical time>] [-s <send string>] [-e <expect string>]\n"
        "         [-q <quit string>] [-m <maximum bytes>] [-d <delay>]\n"
        "         [-t <timeout seconds>] [-r <refuse state>] [-M <mismatch state>]\n"
        "         [-v] [-4|-6] [-j] [-D <warn days>[,<crit days>]] [-S] [--sni NAME]"
    )
    longdesc = (
        "A Nagios/Icinga plugin that checks a welcome server, taking "
        "check_tcp's options with check_tcp's meanings: one line, "
        "exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."
    )
    optFlags = [
        ["use-ipv4", "4", "Use IPv4 connection."],
        ["use-ipv6", "6", "Use IPv6 connection."],
        ["all", "A", "All expect strings need to occur in the welcome."],
        ["jail", "j", "Hide the welcome from the output."],
        ["ssl", "S", "Use TLS (the certificate and host name are verified)."],
        ["verbose", "v", "Add lines with the details after the status line."],
    ]
    optParameters = [
        ["hostname", "H", None, "Host name, IP address, or UNIX socket (a path)."],
        ["port", "p", str(DEFAULT_PORT), "Port number."],
        ["refuse", "r", "crit", "State for a refused connection: ok, warn, crit."],
        ["mismatch", "M", "warn", "State for an unexpected welcome: ok, warn, crit."],
        [
            "maxbytes",
            "m",
            str(DEFAULT_MAX_BYTES),
            "Close the connection once this many bytes are received.",
        ],
        [
            "delay",
            "d",
            None,
            "Seconds between sending and reading (a positive integer); "
            "the welcome is read as it arrives, so this only checks the value.",
        ],
        [
            "certificate",
            "D",
            None,
            "WARN[,CRIT]: days a certificate must still be valid (implies -S).",
        ],
        ["sni", None, None, "TLS server name (implies -S) [default: the host]."],
        [
            "ca-file",
            None,
            None,
            "PEM file of the certificates to trust [default: the system's].",
        ],
        ["warning", "w", None, "Response time (seconds, or a range) that warns."],
        [
            "critical",
            "c",
            None,
            "Response time (seconds, or a range) that is critical.",
        ],
        [
            "timeout",
            "t",
            f"{DEFAULT_TIMEOUT:g}",
            "Seconds before the connection times out.",
        ],
    ]

    def __init__(self) -> None:
        # Twisted's usage.Options is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        # Twisted keeps a handler's docstring as written, its line breaks
        # and indentation included: --help showed runs of spaces.
        self.docs = {
            name: " ".join(doc.split()) if doc else doc
            for name, doc in self.docs.items()
        }
        self["expect"] = []
        self["send"] = None
        self["quit"] = None
        self["escape"] = False
        self["positional"] = False

    def opt_escape(self) -> None:
        """
        Read \\n, \\r, \\t and \\\\ in the send and quit strings given after
        this option; nothing is then added to the quit string.
        """
        self["escape"] = True

    opt_E = opt_escape

    def opt_send(self, text: str) -> None:
        """
        String to send once connected.
        """
        self["send"] = unescape(text) if self["escape"] else text

    opt_s = opt_send

    def opt_quit(self, text: str) -> None:
        """
        String to send before closing (\\r\\n is added unless -E came first).
        """
        self["quit"] = unescape(text) if self["escape"] else text + "\r\n"

    opt_q = opt_quit

    def opt_expect(self, text: str) -> None:
        """
        String to expect in the welcome (may be repeated; any one will do
        unless -A).
        """
        self["expect"].append(text)

    opt_e = opt_expect

    def opt_version(self) -> None:
        """
        Print the version, and exit 3 (UNKNOWN) as check_tcp does.
        """
        print(versionText())
        sys.exit(UNKNOWN)

    opt_V = opt_version

    def opt_help(self) -> None:
        """
        Print this help, and exit 3 (UNKNOWN) as check_tcp does.
        """
        print(self.__str__())
        sys.exit(UNKNOWN)

    opt_h = opt_help

    def parseOptions(self, options: list[str] | None = None) -> None:
        """
        As C{check_tcp}: a first argument that is not an option is the host
        (C{check_welcome HOST -p 80}); options end at the first argument
        that is not one, which may also be the host.
        """
        argv = sys.argv[1:] if options is None else list(options)
        if argv and not argv[0].startswith("-"):
            argv = [*argv[1:], argv[0]]
        # Twisted's usage.Options is unannotated.
        super().parseOptions(argv)  # type: ignore[no-untyped-call]

    def parseArgs(self, host: str | None = None) -> None:
        """
        Take the host given without C{-H} (the output then names only the
        port, as C{check_tcp}'s does).
        """
        if host is not None and self["hostname"] is None:
            self["hostname"] = host
            self["positional"] = True

    def postOptions(self) -> None:
        """
        Check every value, naming the option.
        """
        host = self["hostname"]
        if host is None:
            # check_tcp without -H checks the local host, and its line names
            # only the port; the welcome's default host is this host's name
            # (welcome-client's too).
            host = self["hostname"] = thisHostName()
            self["positional"] = True
        self["unix"] = host.startswith("/")
        if not self["unix"]:
            problem = hostNameProblem("-H", host)
            if problem is not None:
                raise usage.UsageError(problem)
        self["port"] = parseCount("port", str(self["port"]), 1, 65535)
        self["timeout"] = parsePositive(
            "--timeout", self["timeout"], float, MAX_SECONDS
        )
        self["maxbytes"] = parsePositive("--maxbytes", self["maxbytes"], int, MAX_BYTES)
        if self["delay"] is not None:
            parseCount("delay", str(self["delay"]), 1, int(MAX_SECONDS))
        self["refuse"] = _state("-r", self["refuse"])
        self["mismatch"] = _state("-M", self["mismatch"])
        for option in ("warning", "critical"):
            if self[option] is not None:
                try:
                    self[option] = Range.parse(self[option])
                except ValueError as e:
                    raise usage.UsageError(f"--{option} {e}") from None
        self._checkFamily(host)
        self._checkTLS()
        texts = self["expect"]
        if self["all"] or len(texts) < 2:
            self["expectations"] = Expectations(tuple(texts))
        else:
            anyOne = re.compile("|".join(re.escape(text) for text in texts))
            self["expectations"] = Expectations(patterns=(anyOne,))
        for option in ("send", "quit"):
            text: Any = self[option]
            self[option] = (
                b"" if text is None else text.encode("utf-8", "surrogateescape")
            )

    def _checkFamily(self, host: str) -> None:
        if self["use-ipv4"] and self["use-ipv6"]:
            raise usage.UsageError("-4 and -6 cannot be combined")
        family = 4 if self["use-ipv4"] else 6 if self["use-ipv6"] else None
        literal = addressFamily(host)
        if family is not None and literal is not None and literal != family:
            raise usage.UsageError(
                f"-{family} cannot be used with the IPv{literal} address {host}"
            )
        self["family"] = family

    def _checkTLS(self) -> None:
        # As in check_tcp, --sni and -D imply -S.
        self["tls"] = bool(
            self["ssl"] or self["sni"] is not None or self["certificate"] is not None
        )
        if self["sni"] is not None:
            problem = serverNameProblem("--sni", self["sni"])
            if problem is not None:
                raise usage.UsageError(problem)
        if self["ca-file"] is not None:
            if not self["tls"]:
                raise usage.UsageError("--ca-file needs -S")
            try:
                loadTrustRoots(self["ca-file"])
            except ValueError as e:
                raise usage.UsageError(f"--ca-file {e}") from None
        if self["certificate"] is not None:
            try:
                self["certificate"] = CertificateDays.parse(self["certificate"])
            except ValueError as e:
                raise usage.UsageError(f"--certificate {e}") from None
        if self["tls"] and self["unix"]:
            raise usage.UsageError("-S cannot be used with a UNIX socket")
