"""Bare Twisted greeting server: the framework baseline for ``twistd welcome``.

Why: the difference between this and the real service is what our package
(twistd, options, logging, services) costs on top of the Twisted reactor.
No logging, no twistd: a Protocol that writes and closes, on the default
reactor.  With ``--keep-open`` it writes and leaves the connection open (the
hold mode's row).  Usage: ``python bare_twisted.py --port PORT [--keep-open]``
(127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import resource
from typing import cast

from twisted.internet.interfaces import IReactorCore, IReactorTCP
from twisted.internet.protocol import Protocol, ServerFactory


def raiseFileLimit() -> None:
    """Room for as many open connections as the hold mode makes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Welcome(Protocol):
    """Greet and hang up, like the real service but with nothing else."""

    def connectionMade(self) -> None:
        """Write the greeting; loseConnection closes once it is flushed."""
        assert self.transport is not None
        self.transport.write(b"Welcome!")
        self.transport.loseConnection()


class Holder(Protocol):
    """Greet and keep the connection open until the client closes it."""

    def connectionMade(self) -> None:
        """Write the greeting and nothing else."""
        assert self.transport is not None
        self.transport.write(b"Welcome!")


class WelcomeFactory(ServerFactory):
    """Builds a Welcome per connection; ServerFactory, so no client logic."""

    protocol: type[Protocol] = Welcome
    noisy = False  # no "Starting factory" log lines


def main() -> None:
    """Listen on loopback and run the reactor until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keep-open", action="store_true", help="never close")
    args = parser.parse_args()
    raiseFileLimit()

    from twisted.internet import reactor

    tcp = cast(IReactorTCP, reactor)
    factory = WelcomeFactory()
    if args.keep_open:
        factory.protocol = Holder
    tcp.listenTCP(args.port, factory, backlog=4096, interface="127.0.0.1")
    cast(IReactorCore, reactor).run()


if __name__ == "__main__":
    main()
