"""Plain asyncio greeting server, optionally on uvloop.

Why: a reference point outside Twisted for the same write-and-close work,
and (with ``--uvloop``) for what a libuv-based loop gains.
Usage: ``python asyncio_server.py --port PORT [--uvloop]`` (127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from typing import cast


class Welcome(asyncio.Protocol):
    """Greet and hang up in connection_made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Write the greeting; close() flushes it before closing the socket."""
        # cast, not isinstance: uvloop's transports are not registered as
        # asyncio.WriteTransport subclasses, yet they have write().
        writer = cast(asyncio.WriteTransport, transport)
        writer.write(b"Welcome!")
        writer.close()


async def serve(port: int) -> None:
    """Listen on loopback until the process is terminated."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Welcome, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse --port/--uvloop and run the server loop."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    args = parser.parse_args()
    try:
        if args.uvloop:
            # Imported by name so uvloop stays optional (also for mypy).
            uvloop = importlib.import_module("uvloop")
            uvloop.run(serve(args.port))
        else:
            asyncio.run(serve(args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
