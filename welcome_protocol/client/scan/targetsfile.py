# -*- test-case-name: tests.test_client_scan_targetsfile -*-
"""
Read C{--targets-file} without trusting it: a regular file, read line by
line up to a byte cap, and no further than the most targets a run takes.

Reading the file whole, as it was, let C{/dev/zero} fill the memory, a FIFO
hang the client before its timeout began, and a file of millions of lines
cost seconds and hundreds of megabytes before the target limit refused it.
"""

from __future__ import annotations

import os
import stat

MAX_TARGETS_FILE_BYTES = 16 * 2**20
"""
The most bytes of C{--targets-file} read: 16 MiB, room for the most targets
a run takes (L{welcome_protocol.client.scan.plan.MAX_CHECKS}) with comments.
"""


def _problem(path: str, why: str) -> ValueError:
    return ValueError(f"--targets-file {path}: {why}")


def _openRegular(path: str) -> int:
    """
    Open C{path} for reading, refusing anything but a regular file.

    C{O_NONBLOCK} keeps a FIFO without a writer from blocking the open; the
    type is then checked on the open descriptor, so the file checked is the
    file read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        raise _problem(path, (e.strerror or str(e)).lower()) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise _problem(path, f"{kind}; give a file of targets")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def readTargetsFile(
    path: str,
    maxTargets: int,
    maxBytes: int = MAX_TARGETS_FILE_BYTES,
) -> list[tuple[str, str]]:
    """
    Read C{--targets-file}: one target per line; blank lines and text after
    C{#} are ignored.

    @param maxTargets: The most targets taken: reading stops at the next.
    @param maxBytes: The most bytes read: a larger file is refused.
    @return: Each target, with where it was found (C{FILE, line N}).
    @raise ValueError: If the file cannot be read, is not a regular file,
        is too large or names too many targets, saying which in one line.
    """
    fd = _openRegular(path)
    found: list[tuple[str, str]] = []
    read = 0
    try:
        with os.fdopen(fd, "rb") as stream:
            number = 0
            while raw := stream.readline(maxBytes - read + 1):
                # A line is read no further than the cap: one endless line
                # costs no more than many short ones.
                number += 1
                read += len(raw)
                if read > maxBytes:
                    raise _problem(
                        path, f"larger than {maxBytes} bytes; split it into several"
                    )
                line = raw.decode("utf-8", errors="surrogateescape")
                entry = line.partition("#")[0].strip()
                if not entry:
                    continue
                if len(found) == maxTargets:
                    raise _problem(
                        path, f"more than {maxTargets} targets; at most {maxTargets}"
                    )
                found.append((entry, f"--targets-file {path}, line {number}"))
    except OSError as e:
        raise _problem(path, (e.strerror or str(e)).lower()) from None
    if not found:
        raise _problem(path, "no target in it")
    return found
