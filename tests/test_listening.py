"""
Tests for L{welcome_protocol.listening.service}: listening, and failing in one line.
"""

from __future__ import annotations

import errno
import socket

from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IListeningPort,
    IProtocolFactory,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import EventLoggingObserver, RaisingMemoryReactor
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from welcome_protocol.listening.service import (
    ListenFailed,
    ListeningService,
    explainListenFailure,
)


@implementer(IListeningPort)
class RecordingPort:
    """
    A listening port that remembers whether it was stopped.
    """

    def __init__(self) -> None:
        self.stopped = False

    def startListening(self) -> None:
        """
        Already listening.
        """

    def stopListening(self) -> None:
        """
        Record the stop.
        """
        self.stopped = True

    def getHost(self) -> IPv4Address:
        """
        A fixed address.
        """
        return IPv4Address("TCP", "0.0.0.0", 4321)


@implementer(IStreamServerEndpoint)
class FixedEndpoint:
    """
    An endpoint whose C{listen} returns a given L{Deferred}.
    """

    def __init__(self, result: Deferred[IListeningPort]) -> None:
        self.result = result

    def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
        """
        Hand back the prepared result.
        """
        return self.result


def service(result: Deferred[IListeningPort]) -> ListeningService:
    """
    A L{ListeningService} on an endpoint that answers with C{result}.
    """
    return ListeningService(
        "tcp:4321", FixedEndpoint(result), Factory.forProtocol(Protocol)
    )


class ExplainListenFailureTests(TestCase):
    """
    L{explainListenFailure} names the endpoint and the reason in one line.
    """

    def test_addressInUse(self) -> None:
        """
        EADDRINUSE reads as the system says it, in lower case.
        """
        error = CannotListenError("", 80, OSError(errno.EADDRINUSE, "in use"))
        self.assertEqual(
            explainListenFailure("tcp:80", error),
            "cannot listen on tcp:80: address already in use",
        )

    def test_permissionDenied(self) -> None:
        """
        EACCES on a low port says what would allow it.
        """
        error = CannotListenError("", 80, OSError(errno.EACCES, "denied"))
        self.assertEqual(
            explainListenFailure("tcp:80", error),
            "cannot listen on tcp:80: permission denied "
            "(ports below 1024 need root or CAP_NET_BIND_SERVICE)",
        )

    def test_otherError(self) -> None:
        """
        Any other exception is described by its message, on one line.
        """
        self.assertEqual(
            explainListenFailure("unix:/x", ValueError("no such directory")),
            "cannot listen on unix:/x: no such directory",
        )


class ListeningServiceTests(TestCase):
    """
    L{ListeningService} listens when started and stops when stopped.
    """

    def test_listensAndLogsAddress(self) -> None:
        """
        Once listening, the port is kept and its address logged.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        port = RecordingPort()
        listener = service(succeed(port))
        listener.startService()
        self.assertIs(listener.port, port)
        [event] = [e for e in events if "address" in e]
        self.assertEqual(
            (event["address"], event["description"]), ("0.0.0.0:4321", "tcp:4321")
        )

    def test_stopStopsListening(self) -> None:
        """
        Stopping the service stops the listening port.
        """
        port = RecordingPort()
        listener = service(succeed(port))
        listener.startService()
        listener.stopService()
        self.assertTrue(port.stopped)
        self.assertIsNone(listener.port)

    def test_privilegedStartListensOnce(self) -> None:
        """
        twistd calls privilegedStartService, then startService: one listen.
        """
        calls = []

        @implementer(IStreamServerEndpoint)
        class CountingEndpoint:
            def listen(self, factory: IProtocolFactory) -> Deferred[IListeningPort]:
                calls.append(factory)
                return succeed(RecordingPort())

        listener = ListeningService(
            "tcp:1", CountingEndpoint(), Factory.forProtocol(Protocol)
        )
        listener.privilegedStartService()
        listener.startService()
        self.assertEqual(len(calls), 1)

    def test_immediateFailureRaises(self) -> None:
        """
        An endpoint that fails at once makes start-up raise L{ListenFailed}
        with the one-line explanation.
        """
        error = CannotListenError("", 4321, OSError(errno.EADDRINUSE, "x"))
        listener = service(fail(error))
        with self.assertRaises(ListenFailed) as caught:
            listener.privilegedStartService()
        self.assertEqual(
            str(caught.exception), "cannot listen on tcp:4321: address already in use"
        )

    def test_realReactorFailure(self) -> None:
        """
        With a reactor whose C{listenTCP} raises, as a busy port makes the
        real one do, start-up raises L{ListenFailed}.
        """
        error = CannotListenError("", 4321, OSError(errno.EADDRINUSE, "x"))
        reactor = RaisingMemoryReactor(listenException=error)
        listener = ListeningService(
            "tcp:4321",
            TCP4ServerEndpoint(reactor, 4321),
            Factory.forProtocol(Protocol),
        )
        self.assertRaises(ListenFailed, listener.startService)

    def test_laterFailureLogged(self) -> None:
        """
        An endpoint that fails after start-up is reported as one critical
        log event, not raised.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        pending: Deferred[IListeningPort] = Deferred()
        listener = service(pending)
        listener.startService()
        pending.errback(ValueError("the proxy went away"))
        [event] = [e for e in events if e["log_level"] == LogLevel.critical]
        self.assertEqual(event["why"], "cannot listen on tcp:4321: the proxy went away")

    def test_laterSuccess(self) -> None:
        """
        An endpoint that listens after start-up is recorded when it does.
        """
        pending: Deferred[IListeningPort] = Deferred()
        listener = service(pending)
        listener.startService()
        port = RecordingPort()
        pending.callback(port)
        self.assertIs(listener.port, port)

    def test_stopWhilePendingCancels(self) -> None:
        """
        Stopping before a slow endpoint listens cancels the attempt quietly.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        cancelled: list[object] = []
        pending: Deferred[IListeningPort] = Deferred(cancelled.append)
        listener = service(pending)
        listener.startService()
        listener.stopService()
        self.assertEqual(len(cancelled), 1)
        self.assertEqual([e for e in events if e["log_level"] >= LogLevel.error], [])


class RealListeningTests(TestCase):
    """
    L{ListeningService} with the real reactor, on loopback.
    """

    def test_portInUse(self) -> None:
        """
        A TCP port already taken gives the one-line EADDRINUSE explanation.
        """
        from twisted.internet import reactor

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            listener = ListeningService(
                f"tcp:{port}",
                TCP4ServerEndpoint(reactor, port, interface="127.0.0.1"),
                Factory.forProtocol(Protocol),
            )
            with self.assertRaises(ListenFailed) as caught:
                listener.startService()
        self.assertEqual(
            str(caught.exception),
            f"cannot listen on tcp:{port}: address already in use",
        )
