# -*- test-case-name: tests.test_accesslog -*-
"""
The access log: one line per welcomed client, for almost no CPU.

Sending one L{twisted.logger} event per connection costs more than Twisted's
whole accept-write-close (about 10 µs per event, most of it in the text
observer: C{formatTime} builds a timezone and a C{datetime} for every event,
the formatter parses the format string, and the file is written and flushed
per line).  Like L{twisted.web.http.HTTPFactory}, which formats its log time
once a second and writes to a buffered file, we keep the per-connection work
tiny; unlike it, the lines go to twistd's own log, wherever twistd sends it.

Per connection, L{AccessLog.record} appends the time, host and port to a list.
Every second (and when the service stops, or sooner when many are waiting)
they are handed, in order, to the log observers, at most L{CHUNK_SIZE} per
reactor turn so that a big batch never holds the reactor for long:

  - An observer that writes text to a file (twistd's observer for C{-n},
    C{--logfile}, and so journald under systemd) gets the whole batch as one
    write.  The first line of each second is formatted by that observer's own
    C{formatEvent}, so the time format and the C{[namespace#level]} prefix
    are exactly twistd's; the other lines of the same second reuse that
    prefix.

  - Any other observer (syslog, a C{--logger} of the user's, a filtering
    observer) gets one ordinary event per connection, with the connection's
    own C{log_time}.

So every connection becomes one correctly timestamped line in the usual
format, whatever the log's destination, at most a second late.  A process
killed with SIGKILL loses at most the last second of lines.

The batch write relies on two things Twisted does not make public: the
observer list of a C{LogPublisher} and the file of a C{FileLogObserver}.
Both are read in one module, L{welcome_protocol.observing.twistedlogfiles},
which says why no public way does the job.  Where either is missing, the
observers concerned get one event per connection (correct, only slower); the
tests pin the rest down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any, cast

from twisted.application.service import Service
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import (
    FileLogObserver,
    ILogObserver,
    LogEvent,
    Logger,
    LogLevel,
    globalLogPublisher,
)

from welcome_protocol.observing.twistedlogfiles import (
    WriteText,
    observerFile,
    observersOf,
)
from welcome_protocol.shared.addresses import describeAddress

#: How many IPv6 hosts L{AccessLog} keeps written short at most.
_IPV6_HOSTS = 1024

#: The namespace of the access lines: the one they had when the factory
#: logged each connection itself, so existing log parsers keep working.
NAMESPACE = "welcome_protocol.server.WelcomeFactory"

#: The most time between a connection and its line reaching the log.
FLUSH_INTERVAL = 1.0

#: Pending records that make a flush happen before the timer's: it keeps
#: memory flat under load (a batch this size is already cheap to write).
BATCH_LIMIT = 2048

#: The most records a flush writes per reactor turn; the rest follow on the
#: next turns.  A batch of 2,048 written at once held the reactor for about
#: a millisecond, which showed in the latency of the connections waiting.
#: Measured at 32 clients (p99 with the log against without it): 256 per
#: turn, +17 to +25%; 64, +7 to +17%; 32 could not keep up with 30,000
#: connections a second, and the pending records grew.
CHUNK_SIZE = 64

#: A connection's time and its address as the line shows it.
_Record = tuple[float, str]


class AccessLog(Service):
    """
    Record welcomed clients cheaply; publish their lines at least every second.

    Pending records are kept flat, three items per connection (time, host,
    port; or time, address text, L{None}) in one list: floats, strings and
    ints are not tracked by Python's garbage collector, so thousands of
    pending connections cost it nothing, where as many tuples or address
    objects would make every collection walk them.
    """

    _logger = Logger(namespace=NAMESPACE)

    def __init__(
        self,
        clock: IReactorTime,
        publisher: ILogObserver | None = None,
        namespace: str = NAMESPACE,
        interval: float = FLUSH_INTERVAL,
        batchLimit: int = BATCH_LIMIT,
        writeRecords: Callable[[list[tuple[float, str]]], None] | None = None,
        chunkSize: int = CHUNK_SIZE,
    ) -> None:
        """
        @param clock: Supplies each connection's time and the flush timer.
        @param publisher: Where lines go; the global log publisher (which
            feeds twistd's observer) by default.
        @param namespace: The C{log_namespace} of the lines.
        @param interval: Seconds between flushes.
        @param batchLimit: How many pending records make the next reactor
            iteration flush them.
        @param writeRecords: If given, each flush hands it the records, as
            C{(time, address text)} pairs, instead of publishing them (a
            worker process sends them to its parent this way).
        @param chunkSize: The most records written per reactor turn by the
            timer's flushes.
        """
        self._clock = clock
        self._now: Callable[[], float] = clock.seconds
        self._publisher: ILogObserver = (
            globalLogPublisher if publisher is None else publisher
        )
        self._namespace = namespace
        self._interval = interval
        self._batchLimit = 3 * batchLimit
        self._writeRecords = writeRecords
        self._pending: list[float | str | int | None] = []
        self._ipv6Hosts: dict[str, str] = {}
        self._timer: LoopingCall | None = None
        self._chunk = 3 * chunkSize
        self._flushLeft = 0
        self._step: IDelayedCall | None = None

    def record(self, address: IAddress) -> None:
        """
        Note that the client at C{address} was welcomed just now.

        This is all the work done per connection: three items appended to a
        list (and, once per C{batchLimit} connections, an early flush
        scheduled).

        @param address: The client's address.
        """
        pending = self._pending
        if type(address) is IPv4Address:
            pending += (self._now(), address.host, address.port)
        elif type(address) is IPv6Address:
            # Written short once per host: the same few clients come back,
            # and a dual-stack listener's IPv4 clients are all IPv6.
            host = self._ipv6Hosts.get(address.host)
            if host is None:
                host = self._shortIPv6(address.host)
            pending += (self._now(), host, address.port)
        else:
            pending += (self._now(), describeAddress(address), None)
        if len(pending) == self._batchLimit:
            self._clock.callLater(0, self._flushSoon)

    def _shortIPv6(self, host: str) -> str:
        """
        Write an IPv6 host as the log does, C{[HOST]}, and remember it (for
        up to L{_IPV6_HOSTS} hosts at a time).
        """
        short = describeAddress(IPv6Address("TCP", host, 0)).rpartition(":")[0]
        if len(self._ipv6Hosts) >= _IPV6_HOSTS:
            self._ipv6Hosts.clear()
        self._ipv6Hosts[host] = short
        return short

    def recordAt(self, when: float, peer: str) -> None:
        """
        Note that a client was welcomed at C{when}, e.g. by a worker process.

        @param when: The time of the connection, in seconds since the epoch.
        @param peer: The client's address as the line shows it.
        """
        pending = self._pending
        pending += (when, peer, None)
        if len(pending) == self._batchLimit:
            self._clock.callLater(0, self._flushSoon)

    def startService(self) -> None:
        """
        Publish pending lines every C{interval} seconds from now on.
        """
        # Twisted's Service.startService is unannotated.
        super().startService()  # type: ignore[no-untyped-call]
        timer = LoopingCall(self._flushSoon)
        timer.clock = self._clock
        timer.start(self._interval, now=False)
        self._timer = timer

    def stopService(self) -> None:
        """
        Stop the timer and publish every line still pending.
        """
        # Twisted's Service.stopService is unannotated.
        super().stopService()  # type: ignore[no-untyped-call]
        if self._timer is not None:
            if self._timer.running:
                self._timer.stop()
            self._timer = None
        self.flush()

    def flush(self) -> None:
        """
        Publish every pending record now, in order, and forget them.
        """
        if self._step is not None:
            self._step.cancel()
            self._step = None
        self._flushLeft = 0
        self._publish(len(self._pending))

    def _flushSoon(self) -> None:
        """
        Publish the records pending now, L{CHUNK_SIZE} per reactor turn.
        """
        self._flushLeft = len(self._pending)
        if self._step is None:
            self._flushStep()

    def _flushStep(self) -> None:
        self._step = None
        count = min(self._flushLeft, self._chunk)
        self._flushLeft -= count
        self._publish(count)
        if self._flushLeft > 0:
            self._step = self._clock.callLater(0, self._flushStep)

    def _publish(self, items: int) -> None:
        """
        Publish the first C{items} pending items (three per record).
        """
        if not items:
            return
        pending = self._pending[:items]
        del self._pending[:items]
        records: list[_Record] = [
            (cast(float, when), f"{host}:{port}" if port is not None else str(host))
            for when, host, port in zip(
                pending[0::3], pending[1::3], pending[2::3], strict=True
            )
        ]
        if self._writeRecords is not None:
            self._writeRecords(records)
            return
        fileObservers, otherObservers = _splitObservers(self._publisher)
        for batch in fileObservers:
            _writeBatch(batch, records, self._event)
        if otherObservers is not None:
            for record in records:
                event = self._event(record)
                for other in otherObservers:
                    other(event)

    def _event(self, record: _Record) -> LogEvent:
        """
        @return: The log event for one record, as C{Logger.info} makes it.
        """
        when, peer = record
        return {
            "log_logger": self._logger,
            "log_level": LogLevel.info,
            "log_namespace": self._namespace,
            "log_source": None,
            "log_format": "Welcomed {peer}",
            "peer": peer,
            "log_time": when,
        }


_FileBatch = tuple[FileLogObserver, WriteText, IO[Any]]


def _splitObservers(
    publisher: ILogObserver,
) -> tuple[list[_FileBatch], Iterable[ILogObserver] | None]:
    """
    Sort the observers behind C{publisher} into text-file ones and the rest.

    Where the observer list is not available, C{publisher} itself is the
    only "other" observer, which is correct, only slower; so is a text-file
    observer whose file cannot be found.

    @return: The L{FileLogObserver}s to write batches to, each with how to
        write to its file, and the observers to send one event per record to
        (L{None} if there are none).
    """
    observers = observersOf(publisher)
    if observers is None:
        return [], [publisher]
    files: list[_FileBatch] = []
    others: list[ILogObserver] = []
    for observer in observers:
        if type(observer) is FileLogObserver:
            found = observerFile(observer)
            if found is not None:
                files.append((observer, *found))
                continue
        others.append(observer)
    return files, (others or None)


def _writeBatch(
    batch: _FileBatch,
    records: list[_Record],
    makeEvent: Callable[[_Record], LogEvent],
) -> None:
    """
    Write the lines of C{records} with one write, formatted as the batch's
    observer formats them.

    The observer formats the first and the last record of every second
    itself; when both agree on the prefix before the message (a time format
    with whole seconds, as twistd's), the records between reuse it.
    Otherwise every record of that second is formatted by the observer.
    """
    observer, write, out = batch
    lines: list[str] = []
    index = 0
    count = len(records)
    while index < count:
        nextSecond = int(records[index][0]) + 1
        end = index + 1
        while end < count and records[end][0] < nextSecond:
            end += 1
        _formatSecond(observer, records[index:end], makeEvent, lines)
        index = end
    text = "".join(lines)
    if not text:
        return
    write(text)
    out.flush()


def _formatSecond(
    observer: FileLogObserver,
    records: list[_Record],
    makeEvent: Callable[[_Record], LogEvent],
    lines: list[str],
) -> None:
    """
    Append the formatted lines of C{records}, all from the same second, to
    C{lines}.
    """
    first = observer.formatEvent(makeEvent(records[0]))
    if len(records) == 1:
        if first:
            lines.append(first)
        return
    last = observer.formatEvent(makeEvent(records[-1]))
    firstMessage = _line(records[0][1])
    prefix = first[: -len(firstMessage)] if first else ""
    if (
        not first
        or not first.endswith(firstMessage)
        or last != prefix + _line(records[-1][1])
    ):
        formatted = (observer.formatEvent(makeEvent(r)) for r in records)
        lines.extend(line for line in formatted if line)
        return
    lines.append(first)
    head = prefix + "Welcomed "
    for _, peer in records[1:-1]:
        if "\n" in peer:
            lines.append(prefix + _line(peer))
        else:
            lines.append(f"{head}{peer}\n")
    lines.append(last)


def _line(peer: str) -> str:
    """
    @return: The message of the access line for C{peer} as a text observer
        writes it: continuation lines indented, newline at the end.
    """
    return f"Welcomed {peer}".replace("\n", "\n\t") + "\n"
