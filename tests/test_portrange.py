"""
Tests for port ranges on the server: L{buildEndpoints} builds a listener per
port, every kind the same way, and L{PortRangeService} starts them with one
line.
"""

from __future__ import annotations

from pathlib import Path

from twisted.application.service import MultiService
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import capturedLogs
from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.support import freePortRange, temporaryPath
from welcome_protocol.admission.admission import Admission
from welcome_protocol.configuration.filelimit import listenerLimitProblem
from welcome_protocol.configuration.settings import ServerSettings
from welcome_protocol.listening.builder import buildEndpoints
from welcome_protocol.listening.directtcp import DirectPort
from welcome_protocol.listening.portrange import PortRangeService, describeRange
from welcome_protocol.listening.service import ListeningService
from welcome_protocol.shared.stats import ServerStats


class BuildEndpointsTests(TestCase):
    """
    L{buildEndpoints} on the real reactor, on loopback.
    """

    def listenAll(self, description: str, count: int) -> list[DirectPort]:
        """
        Build and listen on every port C{description} names.
        """
        admission = Admission(ServerSettings(), ServerStats(0), reactor)
        self.addCleanup(admission.unfinished.stop)
        built = buildEndpoints(reactor, description, admission)
        self.assertEqual(len(built), count)
        ports = []
        for _, endpoint in built:
            port = self.successResultOf(endpoint.listen(Factory.forProtocol(Protocol)))
            self.addCleanup(port.stopListening)
            assert isinstance(port, DirectPort)
            ports.append(port)
        return ports

    def test_everyKind(self) -> None:
        """
        C{tcp:}, C{tcp6:}, C{ssl:}, C{tls:} and C{haproxy:tcp:} ranges: a
        L{DirectPort} per port, on consecutive ports, each built with the
        same stages as a single listener; the ports of a range do not log
        their own start.
        """
        scratch = Path(temporaryPath(self))
        scratch.mkdir()
        cert, key = makeCertificate(scratch)
        (scratch / "localhost.pem").write_bytes(key.read_bytes() + cert.read_bytes())
        for template, host in [
            ("tcp:{range}:interface=127.0.0.1", "127.0.0.1"),
            (r"tcp6:{range}:interface=\:\:1", "::1"),
            (
                f"ssl:{{range}}:interface=127.0.0.1:privateKey={key}:certKey={cert}",
                "127.0.0.1",
            ),
            (f"tls:{scratch}:port={{range}}:interface=127.0.0.1", "127.0.0.1"),
            ("haproxy:tcp:{range}:interface=127.0.0.1", "127.0.0.1"),
        ]:
            first = freePortRange(3, host)
            description = template.format(range=f"{first}-{first + 2}")
            ports = self.listenAll(description, 3)
            self.assertEqual(
                [p.getHost().port for p in ports], [first, first + 1, first + 2]
            )
            self.assertEqual({p.announce for p in ports}, {False}, description)

    def test_singleAnnounces(self) -> None:
        """
        A single port still logs its own start.
        """
        (port,) = self.listenAll("tcp:0:interface=127.0.0.1", 1)
        self.assertTrue(port.announce)


class PortRangeServiceTests(TestCase):
    """
    L{PortRangeService}.
    """

    def test_oneLine(self) -> None:
        """
        Started, every port listens and one line names the range; stopped,
        every port is closed.
        """
        first = freePortRange(4)
        description = f"tcp:{first}-{first + 3}:interface=127.0.0.1"
        factory = Factory.forProtocol(Protocol)
        listeners = [
            ListeningService(single, endpoint, factory)
            for single, endpoint in buildEndpoints(reactor, description)
        ]
        parent = MultiService()
        PortRangeService(description, listeners).setServiceParent(parent)
        with capturedLogs() as events:
            parent.privilegedStartService()
            parent.startService()
        self.addCleanup(parent.stopService)
        lines = [e for e in events if e.get("log_format", "").startswith("Listening")]
        self.assertEqual(len(lines), 1)
        self.assertEqual(lines[0]["address"], f"127.0.0.1:{first}-{first + 3}")
        self.assertEqual((lines[0]["description"], lines[0]["count"]), (description, 4))
        self.assertNotIn("starting on", str([e.get("log_format") for e in events]))
        self.assertTrue(all(listener.port is not None for listener in listeners))

    def test_describeRange(self) -> None:
        """
        Consecutive ports of one host are a range; anything else is listed.
        """
        self.assertEqual(describeRange([]), "no ports")


class ListenerLimitTests(TestCase):
    """
    L{listenerLimitProblem}: the listeners must fit the hard open-file limit.
    """

    def test_fits(self) -> None:
        """
        Within the hard limit, with the spare descriptors: fine.
        """
        self.assertIsNone(listenerLimitProblem(4064, lambda _: (1024, 4096)))

    def test_tooMany(self) -> None:
        """
        Beyond it: one line with the need, the limit and what to do.
        """
        self.assertEqual(
            listenerLimitProblem(5000, lambda _: (1024, 4096)),
            "5000 listening ports need 5032 open files, above the hard open-file "
            "limit of 4096 (ulimit -Hn; LimitNOFILE= in systemd); listen on fewer "
            "ports or raise it",
        )
