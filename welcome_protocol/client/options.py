# -*- test-case-name: tests.test_client_options -*-
"""
The command line of C{welcome-client}, parsed and checked in one place.
"""

from __future__ import annotations

import getopt
import sys
from typing import Any

from twisted.python import usage

from welcome_protocol.client.expectations import Expectations
from welcome_protocol.client.hostnames import hostNameProblem, serverNameProblem
from welcome_protocol.client.judge import STATE_OPTIONS
from welcome_protocol.client.probe import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from welcome_protocol.client.scan.plan import ScanPlan, makePlan, wantsScan
from welcome_protocol.client.scan.scanner import (
    DEFAULT_PARALLEL,
    MAX_PARALLEL,
    descriptorProblem,
)
from welcome_protocol.client.target import addressFamily, splitHostPort
from welcome_protocol.client.thresholds import Range
from welcome_protocol.client.tls import (
    CertificateDays,
    badTrustRootFile,
    loadTrustRoots,
)
from welcome_protocol.client.udpoptions import FLAGS as UDP_FLAGS
from welcome_protocol.client.udpoptions import PARAMETERS as UDP_PARAMETERS
from welcome_protocol.client.udpoptions import checkUDP
from welcome_protocol.shared.commandline import (
    parseCount,
    parsePort,
    parsePositive,
    versionText,
)
from welcome_protocol.shared.defaults import DEFAULT_PORT
from welcome_protocol.shared.descriptions import (
    DescriptionError,
    checkClientDescription,
)
from welcome_protocol.shared.hostinfo import thisHostName

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_COUNT = 10**9
MAX_SECONDS = 86400.0
"""
The longest C{--timeout} and C{--interval}: a day.
"""
MAX_BYTES = 2**30
"""
The largest C{--max-bytes}: 1 GiB, all of it held in memory.
"""


def _isNumber(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Options(usage.Options):
    """
    Command-line options of C{welcome-client}.

    After parsing, C{self["expectations"]} holds the L{Expectations},
    C{self["family"]} 4, 6 or L{None}, and the thresholds and states of
    C{--nagios} are parsed values.
    """

    synopsis = "Usage: welcome-client [options] [HOST[:PORTS] | [ADDRESS]:PORTS ...]"
    longdesc = (
        "Connect to a welcome server, print the welcome it sends and exit 0. "
        "Exit 1, with one line on stderr, if it cannot connect, times out, "
        "the server sends nothing, or a check fails; exit 2 for bad options. "
        "--count repeats the probe with a line per attempt and a summary "
        "(exit 1 if one failed, or when interrupted); --json writes JSON "
        "Lines; --nagios follows the Nagios plugin conventions (exit 0 OK, "
        "1 WARNING, 2 CRITICAL, 3 UNKNOWN). Many ports (--ports, HOST:PORTS, "
        "several targets, --targets-file, --expect-closed) print a port "
        "table and exit 0 only when every port was as expected (a welcome, "
        "or refused or timed out with --expect-closed), 1 otherwise or when "
        "interrupted."
    )
    optFlags = [
        [
            "tls",
            "S",
            "Speak TLS to --host/--port, verifying the certificate and the host name.",
        ],
        ["ipv4", "4", "Connect over IPv4 only."],
        ["ipv6", "6", "Connect over IPv6 only."],
        [
            "json",
            None,
            "Write JSON Lines: an object per attempt, then a summary object.",
        ],
        [
            "nagios",
            None,
            "Behave as a Nagios/Icinga plugin: one line with performance data, "
            "exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for bad options).",
        ],
        [
            "sorted",
            None,
            "With --json in the many-ports mode: write the port objects "
            "sorted, at the end, rather than each as its check ends.",
        ],
        [
            "connect-only",
            None,
            "Report a port that accepts (and completes the TLS handshake, "
            "with --tls) as open, without waiting for a welcome (tcping, "
            "check_tcp without -e).",
        ],
        *UDP_FLAGS,
    ]
    optParameters = [
        [
            "host",
            "H",
            None,
            "Server host name or address [default: this host's name, "
            "resolved as the tutorial's client does].",
        ],
        [
            "port",
            "p",
            None,
            f"Server port, TCP (UDP with --udp) [default: {DEFAULT_PORT}].",
        ],
        [
            "timeout",
            "t",
            f"{DEFAULT_TIMEOUT:g}",
            "Seconds allowed for connecting and for the welcome to arrive "
            "(0.001 to 86400).",
        ],
        [
            "max-bytes",
            None,
            str(DEFAULT_MAX_BYTES),
            "Most bytes of welcome to accept, 1 to 1073741824 (1 GiB); the "
            "rest is not read.",
        ],
        [
            "connect",
            "c",
            None,
            "Connect as this Twisted client endpoint description says, instead "
            "of --host/--port: tcp:host=HOST:port=PORT, "
            "tls:host=HOST:port=PORT[:trustRoots=DIR] (the certificate and host "
            "name are verified), unix:path=PATH.",
        ],
        [
            "count",
            "n",
            None,
            "Probe this many times (0: until interrupted), printing a line per "
            "attempt and a summary.",
        ],
        [
            "interval",
            "i",
            "1",
            "Seconds from the start of one attempt to the next (0.001 to 86400).",
        ],
        [
            "sni",
            None,
            None,
            "With --tls: the server name to send and verify [default: --host].",
        ],
        [
            "ca-file",
            None,
            None,
            "With --tls: PEM file of the certificates to trust "
            "[default: the system's].",
        ],
        [
            "certificate-days",
            "D",
            None,
            "WARN[,CRIT]: fail (in --nagios: warn, or go critical) when the "
            "server's certificate expires within this many days.",
        ],
        [
            "warning",
            "w",
            None,
            "With --nagios: response time range in seconds that warns "
            "(10, 10:, ~:10, @10:20).",
        ],
        [
            "critical",
            None,
            None,
            "With --nagios: response time range in seconds that is critical.",
        ],
        [
            "ports",
            None,
            None,
            "Check these ports and print a table: 22,80,20000-20099 "
            "(for every target without ports of its own).",
        ],
        [
            "targets-file",
            None,
            None,
            "Check the targets in this file too: one HOST[:PORTS] a line, "
            "# starts a comment.",
        ],
        [
            "expect-closed",
            None,
            None,
            "These ports (22,23,8000-8099) must refuse or time out, on every "
            "target; a welcome from one fails the run.",
        ],
        [
            "parallel",
            None,
            str(DEFAULT_PARALLEL),
            f"Check at most this many ports at once (1-{MAX_PARALLEL}).",
        ],
        [
            "mismatch",
            "M",
            "warn",
            "With --nagios: state for an unexpected welcome: ok, warn or crit.",
        ],
        [
            "refused",
            "r",
            "crit",
            "With --nagios: state for a refused connection: ok, warn or crit.",
        ],
        *UDP_PARAMETERS,
    ]

    def __init__(self) -> None:
        # Twisted's usage.Options is unannotated.
        super().__init__()  # type: ignore[no-untyped-call]
        self["expect"] = []
        self["expect-regex"] = []

    def opt_expect(self, text: str) -> None:
        """Text the welcome must contain; repeat for more, all must appear."""
        self["expect"].append(text)

    opt_e = opt_expect

    def opt_expect_regex(self, pattern: str) -> None:
        """Python regex to find in the decoded welcome; repeatable, all must match."""
        self["expect-regex"].append(pattern)

    def parseOptions(self, options: list[str] | None = None) -> None:
        """
        Parse C{options}, which may stand before or after the target, as
        with C{tcping} and C{check_tcp} (C{welcome-client HOST:PORT --count
        3}); C{--} ends the options.

        Twisted's parser stops at the first argument that is not an option
        (C{getopt.getopt}); the options are put first here, in the order
        given, with C{getopt.gnu_getopt}, which reads them the same way.
        """
        argv = sys.argv[1:] if options is None else list(options)
        try:
            found, arguments = getopt.gnu_getopt(argv, self.shortOpt, self.longOpt)
        except getopt.GetoptError as e:
            raise usage.UsageError(str(e)) from None
        withValue = {"--" + name[:-1] for name in self.longOpt if name.endswith("=")}
        ordered: list[str] = []
        for option, value in found:
            if option in withValue or (
                len(option) == 2 and f"{option[1]}:" in self.shortOpt
            ):
                ordered += [option, value]
            else:
                ordered.append(option)
        # Twisted's usage.Options is unannotated.
        super().parseOptions([*ordered, "--", *arguments])  # type: ignore[no-untyped-call]

    def opt_version(self) -> None:
        """
        Display the versions of welcome-protocol and Twisted, and exit.
        """
        print(versionText())
        sys.exit(EXIT_OK)

    def parseArgs(self, *targets: str) -> None:
        """
        Take C{HOST}, C{HOST:PORT} or C{[ADDRESS]:PORT}, or several targets
        (each C{HOST[:PORTS]}) for a scan.
        """
        self["targets"] = list(targets)
        self["target"] = targets[0] if len(targets) == 1 else None

    def postOptions(self) -> None:
        """
        Validate every value, naming the option that is wrong.
        """
        self._checkModes()
        self["parallel"] = parseCount(
            "parallel", str(self["parallel"]), 1, MAX_PARALLEL
        )
        self["scan"] = self._checkScan()
        checkUDP(self)
        if self["scan"] is None:
            self._checkTarget()
            self._checkConnect()
        elif self["connect"] is not None or self["count"] is not None:
            option = "--connect" if self["count"] is None else "--count"
            raise usage.UsageError(f"{option} checks one port; it takes no port list")
        if self["sorted"] and (self["scan"] is None or not self["json"]):
            raise usage.UsageError(
                "--sorted orders the --json objects of several ports; it "
                "needs --json and several ports"
            )
        if self["scan"] is None:
            self._checkHost()
        self["timeout"] = parsePositive(
            "--timeout", self["timeout"], float, MAX_SECONDS
        )
        self["max-bytes"] = parsePositive(
            "--max-bytes", self["max-bytes"], int, MAX_BYTES
        )
        self["interval"] = parsePositive(
            "--interval", self["interval"], float, MAX_SECONDS
        )
        if self["count"] is not None:
            self["count"] = parseCount("count", str(self["count"]), 0, MAX_COUNT)
        self._checkFamily()
        self._checkTLS()
        self._checkExpectations()
        self._checkNagios()

    def _checkHost(self) -> None:
        """
        Default and check C{--host} and C{--port} of a single probe.
        """
        if self["port"] is None:
            self["port"] = str(DEFAULT_PORT)
        if self["host"] is None:
            self["host"] = thisHostName()
        if not str(self["host"]).strip():
            raise usage.UsageError("--host must not be empty")
        problem = hostNameProblem("--host", str(self["host"]))
        if problem is not None:
            raise usage.UsageError(problem)
        self["port"] = parsePort(str(self["port"]), minimum=1)

    def _checkScan(self) -> ScanPlan | None:
        """
        Build the plan of a run over several ports or hosts, if asked for.
        """
        if not wantsScan(
            self["targets"],
            self["ports"],
            self["targets-file"],
            self["expect-closed"],
        ):
            return None
        try:
            plan = makePlan(
                self["targets"],
                self["host"],
                self["port"],
                self["ports"],
                self["targets-file"],
                self["expect-closed"],
                thisHostName,
                DEFAULT_PORT,
                "udp" if self["udp"] else "tcp",
            )
        except ValueError as e:
            raise usage.UsageError(str(e)) from None
        problem = descriptorProblem(self["parallel"])
        if problem is not None:
            raise usage.UsageError(problem)
        return plan

    def _checkModes(self) -> None:
        connect = self["connect"]
        if connect is not None and _isNumber(connect):
            # check_tcp's -c is the critical time; here -c is --connect.
            raise usage.UsageError(
                f"-c is --connect (an endpoint description), not a time: {connect!r}; "
                "the critical time is --critical, or use check_welcome, which "
                "takes check_tcp's options"
            )
        if self["json"] and self["nagios"]:
            raise usage.UsageError("--json and --nagios cannot be combined")
        if len(self["targets"]) > 1 and self["host"] is not None:
            raise usage.UsageError("several targets cannot be combined with --host")
        if self["nagios"] and self["count"] is not None:
            raise usage.UsageError("--nagios makes one check; it takes no --count")

    def _checkTarget(self) -> None:
        """
        Fold the positional argument into C{--host} and C{--port}.
        """
        target = self["target"]
        if target is None:
            return
        if self["host"] is not None or self["connect"] is not None:
            raise usage.UsageError(
                f"{target!r} cannot be combined with --host or --connect"
            )
        try:
            host, port = splitHostPort(target)
        except ValueError as e:
            raise usage.UsageError(str(e)) from None
        if port is not None and self["port"] is not None:
            raise usage.UsageError(f"{target!r} names a port; --port cannot too")
        self["host"] = host
        if port is not None:
            self["port"] = port

    def _checkConnect(self) -> None:
        """
        Check C{--connect}, which replaces C{--host} and C{--port}.
        """
        description = self["connect"]
        if description is None:
            return
        if self["host"] is not None or self["port"] is not None:
            raise usage.UsageError("--connect cannot be combined with --host or --port")
        for flag in ("tls", "ipv4", "ipv6"):
            if self[flag]:
                raise usage.UsageError(f"--{flag} cannot be combined with --connect")
        try:
            checkClientDescription(description)
        except DescriptionError as e:
            badFile = badTrustRootFile(description)
            why = f"trustRoots: {badFile}" if badFile is not None else str(e)
            raise usage.UsageError(f"--connect {description!r}: {why}") from None

    def _checkFamily(self) -> None:
        if self["ipv4"] and self["ipv6"]:
            raise usage.UsageError("-4 and -6 cannot be combined")
        family = 4 if self["ipv4"] else 6 if self["ipv6"] else None
        if family is not None:
            literal = addressFamily(str(self["host"]))
            if literal is not None and literal != family:
                raise usage.UsageError(
                    f"-{family} cannot be used with the IPv{literal} address "
                    f"{self['host']}"
                )
        self["family"] = family

    def _checkTLS(self) -> None:
        for option in ("sni", "ca-file"):
            if self[option] is not None and not self["tls"]:
                raise usage.UsageError(f"--{option} needs --tls")
        if self["sni"] is not None and not self["sni"].strip():
            raise usage.UsageError("--sni must not be empty")
        if self["sni"] is not None:
            problem = serverNameProblem("--sni", self["sni"])
            if problem is not None:
                raise usage.UsageError(problem)
        if self["ca-file"] is not None:
            try:
                loadTrustRoots(self["ca-file"])
            except ValueError as e:
                raise usage.UsageError(f"--ca-file {e}") from None
        days = self["certificate-days"]
        if days is not None:
            if not self["tls"] and not str(self["connect"] or "").startswith("tls:"):
                raise usage.UsageError("--certificate-days needs --tls")
            try:
                self["certificate-days"] = CertificateDays.parse(days)
            except ValueError as e:
                raise usage.UsageError(f"--certificate-days {e}") from None

    def _checkExpectations(self) -> None:
        if self["connect-only"]:
            if self["udp"]:
                raise usage.UsageError(
                    "--connect-only cannot be combined with --udp (UDP has "
                    "no connection; a reply is the answer)"
                )
            if self["expect"] or self["expect-regex"]:
                raise usage.UsageError(
                    "--connect-only waits for no welcome; it cannot be "
                    "combined with --expect or --expect-regex"
                )
        try:
            self["expectations"] = Expectations.fromOptions(
                self["expect"], self["expect-regex"]
            )
        except ValueError as e:
            raise usage.UsageError(f"--expect-regex {e}") from None

    def _checkNagios(self) -> None:
        for option in ("warning", "critical"):
            text = self[option]
            if text is None:
                continue
            if not self["nagios"]:
                raise usage.UsageError(f"--{option} needs --nagios")
            try:
                self[option] = Range.parse(text)
            except ValueError as e:
                raise usage.UsageError(f"--{option} {e}") from None
        for option in ("mismatch", "refused"):
            value: Any = self[option]
            if value not in STATE_OPTIONS:
                raise usage.UsageError(
                    f"--{option} must be ok, warn or crit, not {value!r}"
                )
            self[option] = STATE_OPTIONS[value]
