"""Plain asyncio greeting server, optionally on uvloop.

Why: a reference point outside Twisted for the same write-and-close work,
and (with ``--uvloop``) for what a libuv-based loop gains.
With ``--keep-open`` it writes and leaves the connection open (the hold
mode's row).
Usage: ``python asyncio_server.py --port PORT [--uvloop] [--keep-open]``
(127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import resource
from typing import cast


def raiseFileLimit() -> None:
    """Room for as many open connections as the hold mode makes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Welcome(asyncio.Protocol):
    """Greet and hang up in connection_made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Write the greeting; close() flushes it before closing the socket."""
        # cast, not isinstance: uvloop's transports are not registered as
        # asyncio.WriteTransport subclasses, yet they have write().
        writer = cast(asyncio.WriteTransport, transport)
        writer.write(b"Welcome!")
        writer.close()


class Holder(asyncio.Protocol):
    """Greet and keep the connection open until the client closes it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Write the greeting and nothing else."""
        cast(asyncio.WriteTransport, transport).write(b"Welcome!")


async def serve(port: int, keepOpen: bool = False) -> None:
    """Listen on loopback until the process is terminated."""
    loop = asyncio.get_running_loop()
    protocol = Holder if keepOpen else Welcome
    server = await loop.create_server(protocol, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse --port/--uvloop and run the server loop."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--keep-open", action="store_true", help="never close")
    args = parser.parse_args()
    raiseFileLimit()
    try:
        if args.uvloop:
            # Imported by name so uvloop stays optional (also for mypy).
            uvloop = importlib.import_module("uvloop")
            uvloop.run(serve(args.port, args.keep_open))
        else:
            asyncio.run(serve(args.port, args.keep_open))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
