"""
Tests for L{welcome_protocol.configuration}: the option groups, and what
checking the options loads.
"""

from __future__ import annotations

import subprocess
import sys

from twisted.python import usage
from twisted.trial.unittest import TestCase

from welcome_protocol.configuration.groups import (
    listenerGroup,
    metricsGroup,
    timeoutGroup,
    workerGroup,
)
from welcome_protocol.configuration.options import Options


def _raw(*argv: str) -> Options:
    """
    @return: Options with C{argv} read but not yet checked (no
        C{postOptions}), as the groups see them.
    """

    class Unchecked(Options):
        def postOptions(self) -> None:
            pass

    options = Unchecked()
    options.parseOptions(list(argv))
    return options


class ListenerGroupTests(TestCase):
    """
    L{listenerGroup}: C{--port} and C{--listen}.
    """

    def test_portRange(self) -> None:
        """
        C{--port 20000-20002} is one C{tcp:} listener for the range, of
        three ports.
        """
        listeners = listenerGroup(_raw("--port", "20000-20002"))
        self.assertEqual(
            (listeners.descriptions, listeners.port, listeners.ports),
            (("tcp:20000-20002",), "20000-20002", 3),
        )

    def test_singlePort(self) -> None:
        """
        C{--port 7} is C{tcp:7}, and the port an integer.
        """
        listeners = listenerGroup(_raw("--port", "7"))
        self.assertEqual((listeners.descriptions, listeners.port), (("tcp:7",), 7))

    def test_listenCountsEveryPort(self) -> None:
        """
        Every description counts its ports, ranges expanded.
        """
        listeners = listenerGroup(
            _raw("--listen", "tcp:1-4", "--listen", "udp:9", "--listen", "unix:/x")
        )
        self.assertEqual(listeners.ports, 6)

    def test_badDescription(self) -> None:
        """
        A bad description names the option and the description.
        """
        error = self.assertRaises(
            usage.UsageError, listenerGroup, _raw("--listen", "bogus:1")
        )
        self.assertEqual(
            str(error), "--listen 'bogus:1': unknown endpoint type 'bogus'"
        )


class OtherGroupTests(TestCase):
    """
    The timeouts, workers and metrics groups.
    """

    def test_timeouts(self) -> None:
        """
        0 is never for the idle and handshake timeouts, and at once for
        the shutdown.
        """
        timeouts = timeoutGroup(
            _raw(
                "--idle-timeout",
                "0",
                "--handshake-timeout",
                "0",
                "--shutdown-timeout",
                "0",
            )
        )
        self.assertEqual(
            (timeouts.idle, timeouts.handshake, timeouts.shutdown), (None, None, 0.0)
        )

    def test_workersNeedOnePlainListener(self) -> None:
        """
        Workers share one plain TCP socket, not a range.
        """
        raw = _raw("--workers", "2", "--listen", "tcp:1-2")
        self.assertRaises(usage.UsageError, workerGroup, raw, listenerGroup(raw))
        raw = _raw("--workers", "2", "--port", "0")
        self.assertEqual(workerGroup(raw, listenerGroup(raw)), 2)

    def test_metrics(self) -> None:
        """
        C{--metrics} is checked and kept as written.
        """
        self.assertEqual(metricsGroup(_raw("--metrics", "tcp:9112")), "tcp:9112")
        self.assertIsNone(metricsGroup(_raw()))

    def test_settingsCarryTheTree(self) -> None:
        """
        The settings say what the service tree needs beyond the greeting:
        the workers, the metrics port and the workers' command line.
        """
        options = Options()
        options.parseOptions(["--port", "0", "--workers", "3", "--metrics", "tcp:1"])
        settings = options.settings
        self.assertEqual(
            (settings.workers, settings.metrics, settings.workerArguments),
            (3, "tcp:1", ("--port", "0", "--metrics", "tcp:1")),
        )


class StartupImportsTests(TestCase):
    """
    Checking the options loads nothing a running service has no use for.
    """

    def test_noTestModules(self) -> None:
        """
        After C{Options().parseOptions(['--listen', 'tcp:0'])}, in a fresh
        interpreter, neither C{twisted.trial} nor C{unittest} is loaded:
        the description check listens on nothing, with no test double.
        """
        script = (
            "import sys\n"
            "from welcome_protocol.tap import Options\n"
            "Options().parseOptions(['--listen', 'tcp:0', '--listen', 'udp:0'])\n"
            "print(sorted(m for m in sys.modules if m == 'unittest'"
            " or m.startswith(('unittest.', 'twisted.trial', 'twisted.test'))))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        self.assertEqual(result.stdout.strip(), "[]", result.stderr)
