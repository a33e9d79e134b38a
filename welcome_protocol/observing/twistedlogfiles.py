"""
The two private names of L{twisted.logger} that the access log relies on,
read here and nowhere else.

The access log writes a second's worth of lines to twistd's log file in one
write, formatted by twistd's own observer (see
L{welcome_protocol.observing.accesslog}); one log event per connection costs
more than the whole greeting.  For that it needs the observers behind the
global publisher and the file a L{FileLogObserver} writes to.  Twisted makes
neither public, and twistd gives its plugins no handle to the log file it
opens (C{AppLogger} picks standard output, C{--logfile} with its rotation,
or syslog, after C{makeService} has run); opening the file again would break
its rotation.  So:

  - C{LogPublisher._observers}: the observers behind a publisher.  Where it
    is missing, the access log sends one ordinary event per connection to
    the publisher (correct, only slower).
  - C{FileLogObserver._outFile}: the file a text observer writes to.  Where
    it is missing, that observer gets one event per connection instead.

The encoding is not read from the observer: like L{FileLogObserver} itself,
L{observerFile} asks the public L{ioType} whether the file takes text.

Both names have been stable since L{twisted.logger} appeared (Twisted 15.2);
C{tests/test_accesslog.py} pins the behaviour down on the oldest and newest
Twisted the project allows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from twisted.logger import FileLogObserver, ILogObserver, LogPublisher
from twisted.python.compat import ioType

#: How a text file takes one batch of text: the file's C{write} for a text
#: file, or one that encodes to UTF-8 first (as L{FileLogObserver} does) for
#: a binary one.
WriteText = Callable[[str], object]


def observersOf(publisher: ILogObserver) -> list[ILogObserver] | None:
    """
    The observers C{publisher} sends each event to.

    @return: A copy of its observer list, or L{None} if C{publisher} is not
        a L{LogPublisher} or its list is not where it used to be.
    """
    if not isinstance(publisher, LogPublisher):
        return None
    observers = getattr(publisher, "_observers", None)
    if not isinstance(observers, list):
        return None
    return list(observers)


def observerFile(observer: FileLogObserver) -> tuple[WriteText, IO[Any]] | None:
    """
    How to write text to the file C{observer} writes to, as it would.

    @return: A function that writes a batch of text to the file, and the
        file (to flush after the batch); L{None} if the observer's file is
        not where it used to be.
    """
    out: IO[Any] | None = getattr(observer, "_outFile", None)
    if out is None:
        return None
    if ioType(out) is str:
        return out.write, out
    write = out.write

    def writeEncoded(text: str) -> object:
        return write(text.encode("utf-8"))

    return writeEncoded, out
