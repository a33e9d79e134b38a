"""
End-to-end tests: the installed C{twistd welcome} and C{welcome-client}
run as processes, as a user runs them.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests import optionranges
from tests.support import ServerProcess, runClient


def _closedPort() -> int:
    """
    @return: A loopback TCP port that nothing listens on (just released).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class ServerAndClientTests(TestCase):
    """
    The installed server greets the installed client.
    """

    def startServer(
        self, *args: str, program: str = "twistd", launcher: Sequence[str] = ()
    ) -> ServerProcess:
        """
        Start the installed server with C{args}; stop it after the test.
        """
        server = ServerProcess(args, program=program, launcher=launcher)
        self.addCleanup(server.kill)
        return server

    def test_clientPrintsWelcome(self) -> None:
        """
        C{welcome-client} prints C{Welcome!} from C{twistd -n welcome} and
        exits 0; the server logs the client's address and port.
        """
        server = self.startServer("--port", "0")
        port = server.tcpPort()
        result = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual((result.stdout, result.stderr), ("Welcome!\n", ""))
        self.assertEqual(result.returncode, 0)
        server.waitForLine(r"Welcomed 127\.0\.0\.1:\d+")

    def test_twistRunsThePlugin(self) -> None:
        """
        C{twist welcome} runs the same service as C{twistd welcome}.
        """
        server = self.startServer("--port", "0", program="twist")
        port = server.tcpPort()
        result = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual(result.stdout, "Welcome!\n")

    def assertStopsCleanlyOn(self, sig: signal.Signals) -> None:
        """
        C{sig} closes the listener, logs the shutdown and ends the process by
        that signal (twistd's convention) without a traceback.
        """
        server = self.startServer("--port", "0")
        port = server.tcpPort()
        server.waitRunning()
        status = server.stop(sig)
        log = "\n".join(server.output)
        self.assertEqual(status, -sig, log)
        self.assertIn(f"Port {port} Closed", log)
        self.assertIn("Server Shut Down", log)
        self.assertNotIn("Traceback", log)
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", port)), 0)

    def test_sigtermStopsCleanly(self) -> None:
        """
        SIGTERM (systemd's stop) stops the service cleanly.
        """
        self.assertStopsCleanlyOn(signal.SIGTERM)

    def test_sigintStopsCleanly(self) -> None:
        """
        SIGINT (Ctrl-C) stops the service cleanly.
        """
        self.assertStopsCleanlyOn(signal.SIGINT)

    def test_portInUse(self) -> None:
        """
        A port already in use ends the server with exit status 1 and one
        line naming the port and the reason, without a traceback.
        """
        with socket.socket() as taken:
            taken.bind(("0.0.0.0", 0))
            taken.listen()
            port = taken.getsockname()[1]
            server = self.startServer("--port", str(port))
            status = server.wait()
        output = "\n".join(server.output)
        self.assertEqual(status, 1, output)
        self.assertIn(
            f"twistd welcome: cannot listen on tcp:{port}: address already in use",
            server.output,
        )
        self.assertNotIn("Traceback", output)

    def test_lowPortNeedsPrivilege(self) -> None:
        """
        Without the privilege to bind a low port, the server exits 1 with one
        line saying so (as root, the test drops just that capability).
        """
        firstFree = int(
            Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text()
        )
        self.assertGreater(firstFree, 1, "every port is unprivileged here")
        launcher = ["setpriv", "--bounding-set=-net_bind_service"]
        if os.getuid() != 0:
            launcher = []
        port = min(firstFree, 1024) - 1
        server = self.startServer("--port", str(port), launcher=launcher)
        status = server.wait()
        self.assertEqual(status, 1, "\n".join(server.output))
        self.assertIn(
            f"twistd welcome: cannot listen on tcp:{port}: permission denied "
            "(ports below 1024 need root or CAP_NET_BIND_SERVICE)",
            server.output,
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_badPortOption(self) -> None:
        """
        A port that is not a number is a usage error, exit status 1
        (twistd's), whose last line names the option and the value after
        twistd's usual help text.
        """
        server = self.startServer("--port", "http")
        status = server.wait()
        self.assertEqual(status, 1)
        self.assertRegex(
            server.output[-1],
            r"^\S*twistd --nodaemon: --port must be a port from 0 to 65535 or a "
            r"range of them such as 20000-20099, not 'http'$",
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_clientAgainstClosedPort(self) -> None:
        """
        The client exits 1 with one line when nothing listens on the port.
        """
        port = _closedPort()
        result = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(
            result.stderr,
            f"welcome-client: cannot connect to 127.0.0.1:{port}: connection refused\n",
        )


class OptionRangeTests(TestCase):
    """
    The installed commands refuse a numeric option outside its range in
    one line, with their usage status and no traceback.
    """

    @staticmethod
    def absurd(entry: optionranges.OptionRange) -> list[str]:
        """
        @return: One value past the top of C{entry}'s range, and 1e308.
        """
        return [entry.refused()[1 if entry.kind == "count" else 3], "1e308"]

    def test_server(self) -> None:
        """
        C{twistd welcome} stops with status 1, its last line naming the
        option, the range and the value.
        """
        runs = []
        for entry in optionranges.SERVER:
            for value in self.absurd(entry):
                server = ServerProcess([f"--{entry.option}", value])
                self.addCleanup(server.kill)
                runs.append((server, entry.error(value)))
        for server, error in runs:
            self.assertEqual(server.wait(30), 1, server.output)
            self.assertTrue(server.output[-1].endswith(f": {error}"), server.output)
            self.assertNotIn("Traceback", "\n".join(server.output))

    def test_client(self) -> None:
        """
        C{welcome-client} exits 2 with one line on stderr naming the option,
        the range and the value, and nothing on stdout.
        """
        for entry in optionranges.CLIENT:
            for value in self.absurd(entry):
                result = runClient([f"--{entry.option}", value, "127.0.0.1"])
                self.assertEqual(
                    (result.returncode, result.stdout, result.stderr),
                    (2, "", f"welcome-client: {entry.error(value)} (see --help)\n"),
                )
