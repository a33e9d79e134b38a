# -*- test-case-name: tests.test_client_scan_plan -*-
"""
Which ports of which hosts to check: targets, C{--ports}, C{--targets-file}
and C{--expect-closed}, turned into one plan.

A target is C{HOST}, C{HOST:PORTS} or C{[ADDRESS]:PORTS}, where C{PORTS} is
a port list (L{welcome_protocol.shared.portlists}).  A target without ports gets
C{--ports} (or C{--port}, or the default port); the ports of
C{--expect-closed} are added to every target, expected to refuse or time
out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import attrs

from welcome_protocol.client.hostnames import checkHostName
from welcome_protocol.client.scan.targetsfile import readTargetsFile
from welcome_protocol.client.target import splitHostPort
from welcome_protocol.shared.portlists import isPortList, parsePorts

MAX_CHECKS = 100_000
"""
The most port checks in one run: every result is kept for the sorted table.
"""


@attrs.frozen
class PortCheck:
    """
    One port of one host to check.

    @ivar target: The index of the host's target, in the order given.
    @ivar host: The host name or address, as given.
    @ivar port: The port.
    @ivar expectClosed: Whether the port must refuse or time out.
    @ivar transport: C{tcp}, or C{udp} in a C{--udp} scan.
    """

    target: int
    host: str
    port: int
    expectClosed: bool
    transport: str = "tcp"


@attrs.frozen
class ScanTarget:
    """
    One host and its ports.
    """

    host: str
    ports: tuple[int, ...]
    closedPorts: tuple[int, ...] = ()


@attrs.frozen
class ScanPlan:
    """
    Every target of a run.

    @ivar transport: C{tcp}, or C{udp} in a C{--udp} scan.
    """

    targets: tuple[ScanTarget, ...]
    transport: str = "tcp"

    @property
    def hosts(self) -> tuple[str, ...]:
        """
        The distinct hosts, in the order given.
        """
        return tuple(dict.fromkeys(t.host for t in self.targets))

    def __len__(self) -> int:
        return sum(len(t.ports) + len(t.closedPorts) for t in self.targets)

    def checks(self) -> Iterator[PortCheck]:
        """
        Every check, target by target, generated as they are needed.
        """
        for index, target in enumerate(self.targets):
            for port in target.ports:
                yield PortCheck(index, target.host, port, False, self.transport)
            for port in target.closedPorts:
                yield PortCheck(index, target.host, port, True, self.transport)


def wantsScan(
    targets: Sequence[str],
    ports: str | None,
    targetsFile: str | None,
    expectClosed: str | None,
) -> bool:
    """
    @return: Whether the command line asks for more than one port or host,
        which the port table reports, rather than one probe.
    """
    if ports is not None or targetsFile is not None or expectClosed is not None:
        return True
    if len(targets) > 1:
        return True
    if len(targets) == 1:
        try:
            _, portText = splitHostPort(targets[0])
        except ValueError:
            return False
        return portText is not None and isPortList(portText)
    return False


def _ports(option: str, text: str) -> tuple[int, ...]:
    try:
        return parsePorts(text)
    except ValueError as e:
        raise ValueError(f"{option} {text!r}: {e}") from None


def _target(
    text: str, where: str, defaultPorts: tuple[int, ...], closed: tuple[int, ...]
) -> ScanTarget:
    try:
        host, portText = splitHostPort(text)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    problem = checkHostName(host)
    if problem is not None:
        raise ValueError(f"{where}: {host!r} is not a valid host name: {problem}")
    ports = defaultPorts
    if portText is not None:
        try:
            ports = parsePorts(portText)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    closedSet = set(closed)
    return ScanTarget(host, tuple(p for p in ports if p not in closedSet), closed)


def makePlan(
    targets: Sequence[str],
    host: str | None,
    port: str | None,
    ports: str | None,
    targetsFile: str | None,
    expectClosed: str | None,
    defaultHost: Callable[[], str],
    defaultPort: int,
    transport: str = "tcp",
) -> ScanPlan:
    """
    Build the plan from the command line's values.

    @raise ValueError: For any mistake, in one line naming the option (or
        the file and line) and the value.
    """
    if port is not None and ports is not None:
        raise ValueError("--port and --ports cannot be combined")
    if host is not None and targets:
        raise ValueError(f"{targets[0]!r} cannot be combined with --host")
    # "HOST --expect-closed 22" checks that 22 is closed, not also 12000.
    onlyClosed = expectClosed is not None and port is None
    defaultPorts: tuple[int, ...] = () if onlyClosed else (defaultPort,)
    if ports is not None:
        defaultPorts = _ports("--ports", ports)
    elif port is not None:
        defaultPorts = _ports("--port", port)
        if len(defaultPorts) > 1:
            raise ValueError(f"--port {port!r}: one port only; use --ports")
    closed = () if expectClosed is None else _ports("--expect-closed", expectClosed)
    given = [(text, repr(text)) for text in targets]
    if host is not None:
        given.append((host if ":" not in host else f"[{host}]", "--host"))
    if targetsFile is not None:
        given += readTargetsFile(targetsFile, MAX_CHECKS)
    if not given:
        given = [(defaultHost(), "this host's name")]
    plan = ScanPlan(
        tuple(_target(text, where, defaultPorts, closed) for text, where in given),
        transport,
    )
    if len(plan) > MAX_CHECKS:
        raise ValueError(
            f"{len(plan)} port checks asked for; at most {MAX_CHECKS} in one run"
        )
    return plan
