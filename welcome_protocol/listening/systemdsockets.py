# -*- test-case-name: tests.test_systemdsockets -*-
"""
C{systemd:} listening on the sockets a socket activator passed, named or not.

sd_listen_fds(3) passes sockets as descriptors 3, 4, ... with C{LISTEN_PID}
and C{LISTEN_FDS}; C{LISTEN_FDNAMES} is optional, and activators other than
systemd (C{systemd-socket-activate} without C{--fdname}, for one) often send
none.  Twisted's C{systemd:} parser adopts sockets only when names come with
them, and reads the variables once, when C{twisted.internet.endpoints} is
imported, removing C{LISTEN_PID} and C{LISTEN_FDS} from C{os.environ}.

So the variables are read here from the environment the process started
with (C{/proc/self/environ} on Linux, which removing a variable does not
change), falling back to C{os.environ}; a socket is adopted by index whether
or not names came with it, by name when they did; and when nothing usable
was passed, the error says what was.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from attrs import frozen
from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.interfaces import IReactorSocket

from welcome_protocol.shared.addresses import printable
from welcome_protocol.shared.descriptions import DescriptionError

FIRST_DESCRIPTOR = 3
"""
The first descriptor an activator passes (C{SD_LISTEN_FDS_START}).
"""


class SystemdSocketError(DescriptionError, ValueError):
    """
    No usable socket was passed for a C{systemd:} description; C{str()} is
    the reason, saying what was passed.
    """


def startingEnvironment() -> Mapping[str, str]:
    """
    @return: The environment the process started with, where the system
        keeps it (Linux's C{/proc/self/environ}), else C{os.environ}.
    """
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return os.environ
    environment: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        name, equals, value = entry.partition(b"=")
        if equals:
            environment[os.fsdecode(name)] = os.fsdecode(value)
    return environment


@frozen
class InheritedSockets:
    """
    The sockets an activator passed to this process.

    @ivar descriptors: Their descriptors, in order.
    @ivar names: Their names, in the same order, if names were passed.
    @ivar passed: What the environment said, for error messages.
    """

    descriptors: tuple[int, ...]
    names: tuple[str, ...] | None
    passed: str

    @classmethod
    def fromEnvironment(
        cls, environment: Mapping[str, str], pid: int
    ) -> InheritedSockets:
        """
        Read C{LISTEN_PID}, C{LISTEN_FDS} and C{LISTEN_FDNAMES}.

        @param environment: The process's starting environment.
        @param pid: This process's ID.
        """
        count = environment.get("LISTEN_FDS")
        listenPID = environment.get("LISTEN_PID")
        if count is None:
            return cls((), None, "no LISTEN_FDS in the environment")
        described = f"LISTEN_FDS={printable(count)}"
        if listenPID != str(pid):
            return cls(
                (),
                None,
                f"{described} but LISTEN_PID="
                f"{printable(listenPID or '')} is not this process ({pid})",
            )
        digits = count.strip()
        if not (digits.isascii() and digits.isdigit()):
            return cls((), None, f"{described} is not a number")
        descriptors = tuple(
            range(FIRST_DESCRIPTOR, FIRST_DESCRIPTOR + min(int(digits), 65536))
        )
        rawNames = environment.get("LISTEN_FDNAMES")
        if rawNames is None:
            return cls(descriptors, None, f"{described} but no LISTEN_FDNAMES")
        names = tuple(rawNames.split(":"))
        described += f", LISTEN_FDNAMES={printable(rawNames)}"
        if len(names) != len(descriptors):
            # Names that do not match the sockets name none of them.
            return cls(descriptors, None, described)
        return cls(descriptors, names, described)

    def byIndex(self, index: int) -> int:
        """
        @return: The descriptor at C{index}.
        @raise SystemdSocketError: If there is none.
        """
        if not 0 <= index < len(self.descriptors):
            raise SystemdSocketError(
                f"systemd passed no socket at index {index} ({self.passed})"
            )
        return self.descriptors[index]

    def byName(self, name: str) -> int:
        """
        @return: The descriptor named C{name}.
        @raise SystemdSocketError: If there is none.
        """
        if self.names is not None and name in self.names:
            return self.descriptors[self.names.index(name)]
        raise SystemdSocketError(
            f"systemd passed no socket named {printable(name)!r} ({self.passed})"
        )


_inherited: InheritedSockets | None = None


def inheritedSockets() -> InheritedSockets:
    """
    @return: The sockets passed to this process, read once.
    """
    global _inherited
    if _inherited is None:
        _inherited = InheritedSockets.fromEnvironment(
            startingEnvironment(), os.getpid()
        )
    return _inherited


def systemdEndpoint(
    reactor: IReactorSocket,
    description: str,
    inherited: InheritedSockets | None = None,
) -> AdoptedStreamServerEndpoint:
    """
    Build the endpoint of a C{systemd:domain=INET:index=0} (or C{name=...})
    description, as Twisted's parser would, but by index without names.

    @param reactor: The reactor that adopts the socket.
    @param description: The description, starting with C{systemd:}.
    @param inherited: The sockets passed; this process's by default.
    @raise SystemdSocketError: If the description is bad or names no socket
        that was passed, saying why.
    """
    options: dict[str, str] = {}
    for part in description.split(":")[1:]:
        key, equals, value = part.partition("=")
        if not equals or key not in ("domain", "index", "name") or key in options:
            raise SystemdSocketError(f"unknown parameter {printable(part)!r}")
        options[key] = value
    if ("index" in options) == ("name" in options):
        raise SystemdSocketError("give exactly one of index= and name=")
    family = getattr(socket, "AF_" + options.get("domain", ""), None)
    if options.get("domain") not in ("INET", "INET6", "UNIX") or family is None:
        raise SystemdSocketError("unknown socket domain (use INET, INET6 or UNIX)")
    if inherited is None:
        inherited = inheritedSockets()
    if "index" in options:
        index = options["index"]
        if not (index.isascii() and index.isdigit()):
            raise SystemdSocketError(f"{printable(index)!r} is not a whole number")
        descriptor = inherited.byIndex(int(index))
    else:
        descriptor = inherited.byName(options["name"])
    return AdoptedStreamServerEndpoint(reactor, descriptor, family)
