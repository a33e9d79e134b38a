"""
End-to-end tests: the installed C{twistd welcome} and C{welcome-client}
run as processes, as a user runs them.
"""

from __future__ import annotations

import signal
import socket

from twisted.trial.unittest import TestCase

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

    def startServer(self, *args: str, program: str = "twistd") -> ServerProcess:
        """
        Start the installed server with C{args}; stop it after the test.
        """
        server = ServerProcess(args, program=program)
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

    def test_sigtermStopsCleanly(self) -> None:
        """
        SIGTERM closes the listener, logs the shutdown and ends the process
        by that signal (twistd's convention) without a traceback.
        """
        server = self.startServer("--port", "0")
        port = server.tcpPort()
        server.waitRunning()
        status = server.stop(signal.SIGTERM)
        log = "\n".join(server.output)
        self.assertEqual(status, -signal.SIGTERM, log)
        self.assertIn(f"Port {port} Closed", log)
        self.assertIn("Server Shut Down", log)
        self.assertNotIn("Traceback", log)
        with socket.socket() as probe:
            self.assertNotEqual(probe.connect_ex(("127.0.0.1", port)), 0)

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
            r"^\S*twistd --nodaemon: --port must be an integer from 0 to 65535, "
            r"not 'http'$",
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
