"""
Tests for L{welcome_protocol.listening.fdexhaustion}, with Twisted's real C{tcp.Port}
reading a scripted socket on a L{MemoryReactorClock}.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from twisted.internet import tcp
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from welcome_protocol.listening.fdexhaustion import AcceptPauser, PausingAcceptEndpoint
from welcome_protocol.shared.stats import ServerStats


class _ScriptedSocket:
    """
    A listening socket whose C{accept} results are scripted: an errno to
    raise, or C{None} for "nobody waiting" (C{EAGAIN}).
    """

    def __init__(self, script: list[int | None]) -> None:
        self.script = script
        self.accepts = 0

    def accept(self) -> tuple[socket.socket, Any]:
        self.accepts += 1
        code = self.script.pop(0) if self.script else None
        if code is None:
            code = errno.EAGAIN
        raise OSError(code, "scripted")

    def fileno(self) -> int:
        return -1


def _listeningPort(
    script: list[int | None],
) -> tuple[tcp.Port, _ScriptedSocket, MemoryReactorClock]:
    """
    A real C{tcp.Port}, marked as listening, reading a scripted socket.
    """
    reactor = MemoryReactorClock()
    port = tcp.Port(0, Factory.forProtocol(Protocol), reactor=reactor)
    scripted = _ScriptedSocket(script)
    port.socket = scripted
    port.connected = True
    port.numberAccepts = 100
    port.startReading()
    return port, scripted, reactor


class AcceptPauserTests(TestCase):
    """
    L{AcceptPauser} stops reading on EMFILE and friends, and starts again.
    """

    def test_emfilePausesAndRetries(self) -> None:
        """
        EMFILE stops reading the listening socket (no spinning), logs a
        warning, and reading starts again after the retry delay.
        """
        port, scripted, reactor = _listeningPort([errno.EMFILE])
        stats = ServerStats(0)
        pauser = AcceptPauser(port, reactor, stats, retryDelay=0.5)
        with capturedLogs() as events:
            port.doRead()
        self.assertNotIn(port, reactor.readers)
        self.assertTrue(pauser.paused)
        self.assertEqual((pauser.pauses, stats.acceptPauses), (1, 1))
        self.assertEqual(scripted.accepts, 1)
        lines = [formatEvent(e) for e in events]
        self.assertEqual(
            lines,
            [
                "Cannot accept connections: EMFILE (too many open files); clients "
                "wait in the listen queue, retrying every 0.5 s"
            ],
        )
        reactor.advance(0.5)
        self.assertIn(port, reactor.readers)
        self.assertFalse(pauser.paused)

    def test_otherResourceErrors(self) -> None:
        """
        ENFILE, ENOBUFS and ENOMEM pause too: Twisted would otherwise log
        and return with the socket still readable, and spin.
        """
        for code in (errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
            port, _, reactor = _listeningPort([code])
            AcceptPauser(port, reactor)
            port.doRead()
            self.assertNotIn(port, reactor.readers, errno.errorcode[code])

    def test_repeatedExhaustionLogsSparingly(self) -> None:
        """
        Exhaustion that lasts gives one warning and then one summary per
        interval, not a line per attempt.
        """
        port, _, reactor = _listeningPort([errno.EMFILE] * 50)
        AcceptPauser(port, reactor, retryDelay=0.1, logInterval=10)
        with capturedLogs() as events:
            for _ in range(50):
                port.doRead()
                reactor.advance(0.1)
            reactor.advance(10)
        lines = [formatEvent(e) for e in events]
        self.assertEqual(len(lines), 2, lines)
        self.assertIn("accepting paused 49 more times", lines[1])

    def test_noResumeAfterStopListening(self) -> None:
        """
        A port that stopped listening while paused is not read again, and
        L{AcceptPauser.stop} leaves no timer.
        """
        port, _, reactor = _listeningPort([errno.EMFILE])
        pauser = AcceptPauser(port, reactor)
        port.doRead()
        port.connected = False
        pauser.stop()
        self.assertEqual(reactor.getDelayedCalls(), [])
        self.assertNotIn(port, reactor.readers)

    def test_otherErrorsUntouched(self) -> None:
        """
        Errors that are not about resources reach Twisted as before.
        """
        port, scripted, reactor = _listeningPort([errno.EPERM, None])
        AcceptPauser(port, reactor)
        port.doRead()
        self.assertEqual(scripted.accepts, 2)
        self.assertIn(port, reactor.readers)


class PausingAcceptEndpointTests(TestCase):
    """
    L{PausingAcceptEndpoint} listens with the wrapped endpoint.
    """

    def test_memoryPortsUnchanged(self) -> None:
        """
        Ports that are not socket ports (here, a L{MemoryReactor}'s) are
        returned as they are, listening with the wrapped endpoint's options.
        """
        reactor = MemoryReactorClock()
        endpoint = PausingAcceptEndpoint(
            TCP4ServerEndpoint(reactor, 0, backlog=777), reactor
        )
        port = self.successResultOf(endpoint.listen(Factory.forProtocol(Protocol)))
        self.assertIsNone(endpoint.pauser)
        self.assertEqual(reactor.tcpServers[0][2], 777)
        self.assertIsNotNone(port)

    def test_realPortGuarded(self) -> None:
        """
        A real TCP port gets a pauser, which stopping the port cancels.
        """
        from twisted.internet import reactor

        endpoint = PausingAcceptEndpoint(
            TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1"), reactor
        )
        port = self.successResultOf(endpoint.listen(Factory.forProtocol(Protocol)))
        self.addCleanup(port.stopListening)
        self.assertIsInstance(endpoint.pauser, AcceptPauser)
