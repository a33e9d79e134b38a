"""
Tests for L{welcome_protocol.listening.containment}: on Twisted's own
ports, a connection whose protocol cannot be built is closed, not left open.
"""

from __future__ import annotations

from twisted.internet.address import UNIXAddress
from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from welcome_protocol.listening.containment import ContainingFactory
from welcome_protocol.listening.directreactor import DirectListeningReactor


class _Failing(Factory):
    """
    A factory whose protocols cannot be built, and which notes its start
    and stop.
    """

    started = 0
    stopped = 0

    def buildProtocol(self, addr: IAddress | None) -> Protocol | None:
        raise ZeroDivisionError("building the protocol")

    def startFactory(self) -> None:
        self.started += 1

    def stopFactory(self) -> None:
        self.stopped += 1


_PEER = UNIXAddress(b"/run/welcome.sock")


class ContainingFactoryTests(TestCase):
    """
    L{ContainingFactory} turns an exception from C{buildProtocol} into
    L{None}, which makes Twisted's port close the connection.
    """

    def test_protocolPassedOn(self) -> None:
        """
        The wrapped factory's protocol is returned as it is.
        """
        factory = Factory.forProtocol(Protocol)
        protocol = ContainingFactory(factory, Clock()).buildProtocol(_PEER)
        assert isinstance(protocol, Protocol)
        self.assertIs(protocol.factory, factory)

    def test_errorIsNoneAndLogged(self) -> None:
        """
        An exception from C{buildProtocol} becomes L{None}, logged with its
        traceback once per interval; the rest are summed up at the stop.
        """
        failing = _Failing()
        containing = ContainingFactory(failing, Clock())
        containing.doStart()
        self.assertIsNone(containing.buildProtocol(_PEER))
        self.assertIsNone(containing.buildProtocol(_PEER))
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        containing.doStop()
        self.assertEqual((failing.started, failing.stopped), (1, 1))

    def test_logPrefixNamesTheWrappedFactory(self) -> None:
        """
        The port's log lines name the service's factory, not the wrapper.
        """
        self.assertEqual(ContainingFactory(_Failing(), Clock()).logPrefix(), "_Failing")

    def test_unixListenersContained(self) -> None:
        """
        The listener builder's reactor listens on UNIX sockets behind a
        L{ContainingFactory}.
        """
        memory = MemoryReactorClock()
        factory = _Failing()
        DirectListeningReactor(memory).listenUNIX("/run/welcome.sock", factory)
        [(path, listened, _, _, _)] = memory.unixServers
        self.assertEqual(path, "/run/welcome.sock")
        self.assertIsInstance(listened, ContainingFactory)
        self.assertIsNone(listened.buildProtocol(_PEER))
        self.flushLoggedErrors(ZeroDivisionError)
