# -*- test-case-name: tests.test_metrics_boundedhttp -*-
"""
The HTTP channel and site of the metrics port, with every phase of a
scraper's connection bounded: whoever can reach the port may be hostile,
and Prometheus must still be answered.

 - B{One request per connection.}  The answer says C{Connection: close}
   and the connection closes once it is written.  Whatever the client
   sends after its request is dropped unparsed, and reading stops: a
   client that pipelines scrapes and never reads costs one answer, not one
   per request.  A scraper reconnects for each scrape, one TCP handshake
   every scrape interval.
 - B{An absolute deadline.}  C{requestDeadline} seconds after accept
   (C{--metrics-deadline}, by default
   L{REQUEST_DEADLINE<welcome_protocol.metrics.deadline.REQUEST_DEADLINE>}) the
   connection is aborted, whatever it is doing: receiving the request (a
   byte a second does not extend it, unlike twisted.web's idle timeout,
   which every byte resets), or having its answer read (a client that never
   reads does not hold it for ever).
 - B{Bounded headers.}  twisted.web's own bounds, lowered: the request line
   and headers together at most L{MAX_HEADER_BYTES}, at most
   L{MAX_HEADERS} headers; past either, twisted.web answers 400 and
   closes.
 - B{No body.}  A request that announces one (C{Content-Length} above 0,
   or chunked) is answered 413 and closed as soon as its headers are in,
   before a byte of the body is read: twisted.web would otherwise read it
   all first, into a temporary file above 100 kB.
 - B{A cap that drippers cannot hold.}  At most L{MAX_SCRAPERS} connections
   are open; when a new one arrives at the cap, the oldest one that is not
   being answered (still sending its request, or not reading its answer)
   is aborted to make room.  Clients dripping requests a byte at a time
   cannot lock a scraper out: each new connection evicts one of them.
 - B{Errors logged by the incident.}  An error while answering is logged
   through L{RateLimitedLog}, and answered 500 with no traceback.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.resource import IResource
from twisted.web.server import Request, Site

from welcome_protocol.metrics.deadline import REQUEST_DEADLINE
from welcome_protocol.shared.ratelimitedlog import RateLimitedLog

#: Connections open at once, at most.
MAX_SCRAPERS = 16

#: Bytes of the request line and headers together, at most (twisted.web
#: allows 16 KiB).  What Prometheus sends is under 400 bytes; an
#: C{Authorization} header from a proxy in front fits too.
MAX_HEADER_BYTES = 8192

#: Headers in a request, at most (twisted.web allows 500).  Prometheus
#: sends 5.
MAX_HEADERS = 32

_TOO_LARGE = b"Content Too Large: a request to the metrics port has no body\n"


class BoundedRequest(Request):
    """
    A request whose processing errors are logged by the incident, not one
    traceback each, and answered 500 without a traceback.
    """

    site: BoundedSite

    def processingFailed(self, reason: Failure) -> None:
        """
        Log C{reason} (rate-limited) and answer 500, if the client is still
        there.

        @param reason: What went wrong.
        """
        self.site.errors.emit(
            "Metrics port: cannot answer {method} {uri}: {error}",
            log_failure=reason,
            method=self.method,
            uri=self.uri,
            error=reason.getErrorMessage(),
        )
        if self.channel is None or self.finished:
            return
        body = b"Internal Server Error\n"
        self.setResponseCode(http.INTERNAL_SERVER_ERROR)
        # twisted.web.http is unannotated.
        self.setHeader(b"content-type", b"text/plain; charset=utf-8")  # type: ignore[no-untyped-call]
        self.setHeader(b"content-length", b"%d" % (len(body),))  # type: ignore[no-untyped-call]
        self.write(body)  # type: ignore[no-untyped-call]
        self.finish()  # type: ignore[no-untyped-call]


class OneRequestChannel(http.HTTPChannel):
    """
    An L{http.HTTPChannel} that takes one request without a body, within an
    absolute deadline, and then closes.

    @ivar answering: The request is in and its answer not yet finished:
        such a connection is not evicted.
    """

    # twisted.web's own bounds, lowered (see the module's docstring).
    totalHeadersSize = MAX_HEADER_BYTES
    maxHeaders = MAX_HEADERS
    # LineReceiver's bound on one line without its end: no larger than the
    # whole head.
    MAX_LENGTH = MAX_HEADER_BYTES

    site: BoundedSite
    answering = False
    _deadline: IDelayedCall | None = None

    def connectionMade(self) -> None:
        """
        Start the deadline, and count the connection in the site's cap.
        """
        # twisted.web.http is unannotated.
        super().connectionMade()  # type: ignore[no-untyped-call]
        self._deadline = self.site.reactor.callLater(
            self.site.requestDeadline, self._deadlinePassed
        )
        self.site.connectionOpened(self)

    def _deadlinePassed(self) -> None:
        self._deadline = None
        self.abort()

    def abort(self) -> None:
        """
        Close the connection now, without waiting for the client to read.
        """
        assert self.transport is not None
        # ITransport lacks abortConnection; the TCP and TLS transports have it.
        self.transport.abortConnection()  # type: ignore[attr-defined]

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        """
        Stop the deadline and free the connection's place under the cap.
        """
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.site.connectionClosed(self)
        # twisted.web.http is unannotated.
        super().connectionLost(reason)  # type: ignore[no-untyped-call]

    def allHeadersReceived(self) -> None:
        """
        Refuse a request that has a body, before reading any of it.

        C{self.length} is the announced C{Content-Length}, or L{None} for a
        chunked body; twisted.web would next call the request's
        C{gotLength}, which spools a large body to a temporary file.
        """
        if self.length != 0:
            # transport is Optional until connected; this channel is connected.
            self.transport.write(  # type: ignore[union-attr]
                b"HTTP/1.1 413 Content Too Large\r\n"
                b"Connection: close\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
            )
            # twisted.web.http is unannotated.
            self.loseConnection()  # type: ignore[no-untyped-call]
            return
        super().allHeadersReceived()  # type: ignore[no-untyped-call]

    def checkPersistence(self, request: http.Request, version: bytes) -> bool:
        """
        Never keep the connection for another request.

        @return: C{False}, with C{Connection: close} on the answer.
        """
        request.responseHeaders.setRawHeaders(b"connection", [b"close"])
        return False

    def allContentReceived(self) -> None:
        """
        The request is in: it is answered from now on, and not evicted.
        """
        self.answering = True
        # twisted.web.http is unannotated.
        super().allContentReceived()  # type: ignore[no-untyped-call]

    def requestDone(self, request: http.Request) -> None:
        """
        The answer is written (to the transport's buffer); the connection
        closes once the client has read it, or at the deadline.
        """
        self.answering = False
        # twisted.web.http is unannotated.
        super().requestDone(request)  # type: ignore[no-untyped-call]

    def rawDataReceived(self, data: bytes) -> None:
        """
        Drop what follows the request (or a refused request's body), and
        stop reading: a body is never read, and there is no next request.

        twisted.web is in raw mode only to read a body or to buffer what
        follows a request until the answer is done; neither is wanted here.
        """
        assert self.transport is not None
        # A transport closing already reads nothing more.
        if not getattr(self.transport, "disconnecting", False):
            self.transport.pauseProducing()  # type: ignore[attr-defined]


class BoundedSite(Site):
    """
    A L{Site} of L{OneRequestChannel}s: at most C{limit} connections, the
    oldest unanswered one evicted for a new one; no access log (a line per
    scrape, for months, would bury the service's own log).

    @ivar errors: Where errors answering a request are logged, a line per
        incident.
    @ivar evictions: Where evictions are logged, a line per incident.
    """

    # HTTPFactory's type is its own channel factory; any channel will do.
    protocol = OneRequestChannel  # type: ignore[assignment]
    requestFactory = BoundedRequest
    noisy = False
    _log = Logger()

    def __init__(
        self,
        resource: IResource,
        reactor: IReactorTime,
        limit: int = MAX_SCRAPERS,
        requestDeadline: float = REQUEST_DEADLINE,
    ) -> None:
        """
        @param resource: The root of the site.
        @param reactor: Times the deadlines and the log's intervals.
        @param limit: Connections open at once, at most.
        @param requestDeadline: Seconds from accept to close, at most.
        """
        # No idle timeout: the absolute deadline replaces it.
        super().__init__(resource, timeout=None, reactor=reactor)  # type: ignore[no-untyped-call]
        self.limit = limit
        self.requestDeadline = requestDeadline
        # In accept order (dicts keep it): the oldest first.
        self._open: dict[OneRequestChannel, None] = {}
        self.errors = RateLimitedLog(
            self._log,
            reactor,
            "Metrics port: {count} more errors answering in {interval:g} s",
        )
        self.evictions = RateLimitedLog(
            self._log,
            reactor,
            "Metrics port: {count} more connections evicted in {interval:g} s",
        )

    def buildProtocol(self, addr: IAddress | None) -> Any:
        """
        @return: A channel; at the cap, after aborting the oldest channel
            not being answered, or L{None} (closing the new connection) if
            every one is being answered.
        """
        if len(self._open) >= self.limit:
            victim = next((c for c in self._open if not c.answering), None)
            if victim is None:
                return None
            del self._open[victim]
            self.evictions.emit(
                "Metrics port: {limit} connections open; closed the oldest "
                "unanswered one, from {peer}, for a new one",
                limit=self.limit,
                peer=_describe(victim),
            )
            victim.abort()
        # twisted.web.http is unannotated.
        return super().buildProtocol(addr)  # type: ignore[no-untyped-call]

    def stopFactory(self) -> None:
        """
        Sum up what the logs hold back, and stop their timers: the listener
        has stopped.
        """
        self.errors.flush()
        self.evictions.flush()
        super().stopFactory()

    def connectionOpened(self, channel: OneRequestChannel) -> None:
        """
        Count C{channel} under the cap, as the newest.
        """
        self._open[channel] = None

    def connectionClosed(self, channel: OneRequestChannel) -> None:
        """
        Free C{channel}'s place (unless it was evicted already).
        """
        self._open.pop(channel, None)

    @property
    def openConnections(self) -> int:
        """
        Connections counted under the cap.
        """
        return len(self._open)

    def log(self, request: http.Request) -> None:
        """
        Log nothing.
        """


def _describe(channel: OneRequestChannel) -> str:
    # transport is Optional until connected; this channel is connected.
    peer = channel.transport.getPeer()  # type: ignore[union-attr]
    host, port = getattr(peer, "host", None), getattr(peer, "port", None)
    return str(peer) if host is None else f"{host}:{port}"
