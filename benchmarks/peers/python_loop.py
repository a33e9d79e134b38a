"""The tutorial's greeting server: a blocking loop of socket calls.

Why: no event loop, no framework, no objects per connection beyond the
socket itself; it shows what the kernel and Python's socket calls cost
together, the floor any Python server sits on.  With ``--keep-open`` it
keeps every socket (in a list) instead of closing it, the floor of memory
per held connection.
Usage: ``python python_loop.py --port PORT [--keep-open]`` (127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import resource
import socket


def raiseFileLimit() -> None:
    """Room for as many open connections as the hold mode makes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    """Accept, send, close (or keep), forever, until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keep-open", action="store_true", help="never close")
    args = parser.parse_args()
    raiseFileLimit()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(4096)
    held: list[socket.socket] = []
    try:
        while True:
            client, _ = listener.accept()
            client.send(b"Welcome!")
            if args.keep_open:
                held.append(client)
            else:
                client.close()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
