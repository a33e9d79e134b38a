"""Bare Twisted greeting server: the framework baseline for ``twistd welcome``.

Why: the difference between this and the real service is what our package
(twistd, options, logging, services) costs on top of the Twisted reactor.
No logging, no twistd: a Protocol that writes and closes, on the default
reactor.  Usage: ``python bare_twisted.py --port PORT`` (127.0.0.1 only).
"""

from __future__ import annotations

import argparse
from typing import cast

from twisted.internet.interfaces import IReactorCore, IReactorTCP
from twisted.internet.protocol import Protocol, ServerFactory


class Welcome(Protocol):
    """Greet and hang up, like the real service but with nothing else."""

    def connectionMade(self) -> None:
        """Write the greeting; loseConnection closes once it is flushed."""
        assert self.transport is not None
        self.transport.write(b"Welcome!")
        self.transport.loseConnection()


class WelcomeFactory(ServerFactory):
    """Builds a Welcome per connection; ServerFactory, so no client logic."""

    protocol = Welcome
    noisy = False  # no "Starting factory" log lines


def main() -> None:
    """Listen on loopback and run the reactor until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    from twisted.internet import reactor

    tcp = cast(IReactorTCP, reactor)
    tcp.listenTCP(args.port, WelcomeFactory(), interface="127.0.0.1")
    cast(IReactorCore, reactor).run()


if __name__ == "__main__":
    main()
