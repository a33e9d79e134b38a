"""A plain Python UDP echo loop: recvfrom, sendto, forever.

Why: the floor of a Python UDP server, with no event loop, no framework, no
rules; beside it, ``twistd welcome --listen udp:`` shows what Twisted's UDP
port and the service's rules (size, rate limits, counters) cost per
datagram.  It echoes whole datagrams (the welcome row answers with the much
shorter welcome), so it also moves more bytes.
Usage: ``python udp_echo_loop.py --port PORT`` (127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import socket


def main() -> None:
    """Echo every datagram to its sender until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", args.port))
    try:
        while True:
            data, source = sock.recvfrom(65535)
            sock.sendto(data, source)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
