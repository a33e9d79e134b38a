"""
End-to-end tests of where the installed C{twistd welcome} listens, with the
real peers: C{openssl s_client}, C{systemd-socket-activate}, C{haproxy}, and
the installed C{welcome-client}.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.certificates import makeCertificate
from tests.hostileclients import waitClosedByServer
from tests.support import (
    ServerProcess,
    freePort,
    readAll,
    runClient,
    waitConnectable,
)

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"


def requireCommand(name: str) -> str:
    """
    @return: The path of command C{name}.
    @raise AssertionError: If it is missing; C{.ci/run} installs it, so a
        missing peer fails the test rather than skipping it.
    """
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed; .ci/run installs it")
    return path


class EndToEndCase(TestCase):
    """
    Start installed servers and clean them up.
    """

    def startServer(self, *args: str, launcher: tuple[str, ...] = ()) -> ServerProcess:
        """
        Start C{twistd -n welcome ARGS}; kill it after the test.
        """
        server = ServerProcess(args, launcher=launcher)
        self.addCleanup(server.kill)
        return server

    def scratch(self) -> Path:
        """
        @return: A new directory, removed after the test.
        """
        path = Path(tempfile.mkdtemp(prefix="welcome-test-"))
        self.addCleanup(shutil.rmtree, path, True)
        return path


class TLSTests(EndToEndCase):
    """
    C{--listen ssl:...} serves the welcome over TLS to real TLS clients.
    """

    def setUp(self) -> None:
        """
        Make a certificate for localhost and 127.0.0.1, a trust-roots
        directory holding it, and a server that uses it.
        """
        base = self.scratch()
        self.cert, key = makeCertificate(base / "server")
        self.roots = base / "roots"
        self.roots.mkdir()
        shutil.copy(self.cert, self.roots / "ca.pem")
        self.server = self.startServer(
            "--listen",
            f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={self.cert}",
            "--message",
            "Secret welcome\n",
        )
        self.port = self.server.tcpPort()

    def test_opensslClient(self) -> None:
        """
        C{openssl s_client}, verifying the certificate chain, the host name
        and the address, reads exactly the welcome.
        """
        result = subprocess.run(
            [
                requireCommand("openssl"),
                "s_client",
                "-connect",
                f"127.0.0.1:{self.port}",
                "-servername",
                "localhost",
                "-CAfile",
                str(self.cert),
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-verify_ip",
                "127.0.0.1",
                "-quiet",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, b"Secret welcome\n")

    def test_welcomeClient(self) -> None:
        """
        C{welcome-client --connect tls:...} verifies the server and prints
        the welcome.
        """
        result = runClient(
            [
                "--connect",
                f"tls:host=localhost:port={self.port}:trustRoots={self.roots}",
            ]
        )
        self.assertEqual((result.stdout, result.stderr), ("Secret welcome\n", ""))
        self.assertEqual(result.returncode, 0)

    def test_welcomeClientUntrusted(self) -> None:
        """
        Without the certificate among its trust roots, C{welcome-client}
        refuses the server: one line, exit 1.
        """
        description = f"tls:host=localhost:port={self.port}"
        result = runClient(["--connect", description])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stdout, "")
        self.assertEqual(
            result.stderr,
            f"welcome-client: cannot connect to {description}: TLS certificate "
            "verification failed: the server's certificate is not signed by a "
            "trusted authority (see trustRoots=), or has expired\n",
        )


class SystemdSocketActivationTests(EndToEndCase):
    """
    Started by C{systemd-socket-activate} as C{contrib/systemd} describes, the
    server adopts the socket systemd opened.
    """

    def unitCommand(self) -> list[str]:
        """
        @return: The arguments of C{twistd welcome} in C{welcome.service}'s
            C{ExecStart}, after the plugin name.
        """
        service = (CONTRIB / "systemd" / "welcome.service").read_text()
        found = re.search(r"^ExecStart=(.*)$", service, re.MULTILINE)
        assert found is not None
        command = shlex.split(found.group(1))
        self.assertEqual(command[0], "twistd")
        self.assertIn("--nodaemon", command)
        return command[command.index("welcome") + 1 :]

    def test_socketActivation(self) -> None:
        """
        The first client's connection starts the server, which greets it
        and every later client on the socket systemd made.
        """
        socketUnit = (CONTRIB / "systemd" / "welcome.socket").read_text()
        # The unit listens on all IPv4 addresses; the test only on loopback.
        self.assertIn("\nListenStream=0.0.0.0:12000\n", socketUnit)
        name = re.search(r"^FileDescriptorName=(.*)$", socketUnit, re.MULTILINE)
        assert name is not None
        port = freePort()
        server = self.startServer(
            *self.unitCommand(),
            launcher=(
                requireCommand("systemd-socket-activate"),
                f"--listen=127.0.0.1:{port}",
                f"--fdname={name.group(1)}",
                "--setenv=PYTHONUNBUFFERED=1",
            ),
        )
        server.waitForLine(rf"Listening on 127\.0\.0\.1:{port} as 3\.")
        first = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual((first.stdout, first.stderr), ("Welcome!\n", ""))
        server.waitForLine(
            rf"Listening on 127\.0\.0\.1:{port} \(systemd:domain=INET:index=0\)"
        )
        second = runClient(["--connect", f"tcp:host=127.0.0.1:port={port}"])
        self.assertEqual(second.stdout, "Welcome!\n")
        server.waitForLine(r"Welcomed 127\.0\.0\.1:\d+")

    def test_withoutSystemd(self) -> None:
        """
        Run by hand, with no socket from systemd, the server says so in its
        usage error.
        """
        server = self.startServer(*self.unitCommand())
        self.assertEqual(server.wait(), 1)
        self.assertRegex(
            server.output[-1],
            r"^\S*twistd --nodaemon: --listen 'systemd:domain=INET:index=0': "
            r"systemd passed no socket at index 0 "
            r"\(no LISTEN_FDS in the environment\)$",
        )

    def test_unnamedSocket(self) -> None:
        """
        An activator that passes the socket without a name (as
        C{systemd-socket-activate} does without C{--fdname}) works too: the
        socket is adopted by its index.
        """
        port = freePort()
        server = self.startServer(
            "--listen",
            "systemd:domain=INET:index=0",
            launcher=(
                requireCommand("systemd-socket-activate"),
                f"--listen=127.0.0.1:{port}",
                "--setenv=PYTHONUNBUFFERED=1",
            ),
        )
        server.waitForLine(rf"Listening on 127\.0\.0\.1:{port} as 3\.")
        first = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual((first.stdout, first.stderr), ("Welcome!\n", ""))

    def test_proxyHeaderDeadlineOnSystemdSocket(self) -> None:
        """
        A C{haproxy:} listener on a socket systemd passed has the deadline
        too: a silent client is closed at it, a real header is greeted.
        """
        port = freePort()
        server = self.startServer(
            "--listen",
            "haproxy:systemd:domain=INET:index=0",
            "--handshake-timeout",
            "1",
            launcher=(
                requireCommand("systemd-socket-activate"),
                f"--listen=127.0.0.1:{port}",
                "--setenv=PYTHONUNBUFFERED=1",
            ),
        )
        server.waitForLine(rf"Listening on 127\.0\.0\.1:{port} as 3\.")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as real:
                real.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 12000\r\n")
                self.assertEqual(readAll(real), b"Welcome!")
            # Aborted: a reset, within a second or so of the deadline.
            self.assertEqual(waitClosedByServer([silent], 3), 1)
        server.waitForLine(r"its PROXY header was not complete 1 s after accept")
        server.waitForLine(r"Welcomed 192\.0\.2\.7:40000")

    def test_unnamedSocketAskedByName(self) -> None:
        """
        Asked for a socket by name when the activator passed none, the
        server's one-line error says what was passed.
        """
        port = freePort()
        server = self.startServer(
            "--listen",
            "systemd:domain=INET:name=welcome",
            launcher=(
                requireCommand("systemd-socket-activate"),
                f"--listen=127.0.0.1:{port}",
                "--setenv=PYTHONUNBUFFERED=1",
            ),
        )
        waitConnectable("127.0.0.1", port)
        self.assertEqual(server.wait(), 1)
        self.assertRegex(
            server.output[-1],
            r"--listen 'systemd:domain=INET:name=welcome': systemd passed no "
            r"socket named 'welcome' \(LISTEN_FDS=1 but no LISTEN_FDNAMES\)$",
        )


class HAProxyTests(EndToEndCase):
    """
    Behind a real HAProxy sending the PROXY protocol, the greeting and the
    log name the client, not HAProxy.
    """

    def startHAProxy(self, backend: int, frontend: str, sendProxy: str) -> None:
        """
        Run a real HAProxy with C{contrib/haproxy}'s configuration, its
        C{send-proxy} changed to C{sendProxy}, in front of C{backend}.

        @param frontend: Where clients connect: C{127.0.0.1:PORT}, or
            C{unix@PATH} for a UNIX socket.
        """
        config = (CONTRIB / "haproxy" / "welcome.cfg").read_text()
        self.assertEqual(config.count(" send-proxy\n"), 1)
        path = self.scratch() / "welcome.cfg"
        path.write_text(config.replace(" send-proxy\n", f" {sendProxy}\n"))
        env = dict(
            os.environ,
            WELCOME_FRONTEND=frontend,
            WELCOME_BACKEND=f"127.0.0.1:{backend}",
        )
        haproxy = subprocess.Popen(
            [requireCommand("haproxy"), "-db", "-f", str(path)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.addCleanup(haproxy.wait, 10)
        self.addCleanup(haproxy.terminate)

    def test_greetingNamesClient(self) -> None:
        """
        A client connecting through HAProxy (with C{contrib/haproxy}'s
        configuration, sending version 1 or version 2 headers) is told its
        own address and port.
        """
        server = self.startServer(
            "--listen",
            "haproxy:tcp:0:interface=127.0.0.1",
            "--message",
            "You are {peer_host} port {peer_port}\n",
        )
        backend = server.tcpPort()
        for sendProxy in ["send-proxy", "send-proxy-v2"]:
            frontend = freePort()
            self.startHAProxy(backend, f"127.0.0.1:{frontend}", sendProxy)
            waitConnectable("127.0.0.1", frontend)
            with socket.create_connection(("127.0.0.1", frontend)) as client:
                clientPort = client.getsockname()[1]
                greeting = readAll(client)
            self.assertEqual(
                greeting, f"You are 127.0.0.1 port {clientPort}\n".encode()
            )
            server.waitForLine(rf"Welcomed 127\.0\.0\.1:{clientPort}$")
            result = runClient(["--connect", f"tcp:host=127.0.0.1:port={frontend}"])
            self.assertRegex(result.stdout, r"^You are 127\.0\.0\.1 port \d+\n$")

    def test_headersAsTheNetworkSplitsThem(self) -> None:
        """
        Over real TCP, a version 2 header whose first segment is 13 bytes
        and a bare C{PROXY UNKNOWN} sent a byte per segment are read whole
        and greeted; a port written C{+80} or C{8_0} is refused unwelcomed.
        """
        server = self.startServer(
            "--listen",
            "haproxy:tcp:0:interface=127.0.0.1",
            "--message",
            "You are {peer_host}\n",
        )
        port = server.tcpPort()
        v2 = (
            b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"
            + bytes([192, 0, 2, 7, 127, 0, 0, 1])
            + b"\x9c\x40\x2e\xe0"
        )
        cases = [
            ([v2[:13], v2[13:15], v2[15:]], b"You are 192.0.2.7\n"),
            ([bytes([b]) for b in b"PROXY UNKNOWN\r\n"], b"You are 127.0.0.1\n"),
            ([b"PROXY TCP4 192.0.2.7 127.0.0.1 +80 12000\r\n"], b""),
            ([b"PROXY TCP4 192.0.2.7 127.0.0.1 8_0 12000\r\n"], b""),
        ]
        for pieces, expected in cases:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for piece in pieces:
                    s.sendall(piece)
                    time.sleep(0.02)
                self.assertEqual(readAll(s), expected, pieces)
        server.waitForLine(
            r"invalid PROXY header \(a port is not a decimal number from 0 to 65535\)"
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_unixClientsGreeted(self) -> None:
        """
        For a client on a UNIX socket HAProxy has no address to send: a
        version 1 header is the bare C{PROXY UNKNOWN} the specification
        defines, version 2 says as much in binary.  Either way the client is
        greeted, with the address of the connection from HAProxy.
        """
        server = self.startServer(
            "--listen",
            "haproxy:tcp:0:interface=127.0.0.1",
            "--message",
            "You are {peer_host}\n",
        )
        backend = server.tcpPort()
        for sendProxy in ["send-proxy", "send-proxy-v2"]:
            path = self.scratch() / "front.sock"
            self.startHAProxy(backend, f"unix@{path}", sendProxy)
            greeting = b""
            for _ in range(200):
                if path.exists():
                    with socket.socket(socket.AF_UNIX) as client:
                        client.connect(str(path))
                        greeting = readAll(client)
                    break
                time.sleep(0.05)
            self.assertEqual(greeting, b"You are 127.0.0.1\n", sendProxy)
        self.assertNotIn("invalid PROXY header", "\n".join(server.output))


class ListenAnywhereTests(EndToEndCase):
    """
    IPv6, UNIX sockets, several listeners, and bad descriptions.
    """

    def test_ipv6(self) -> None:
        """
        A server on C{::1} greets an IPv6 client and logs its address.
        """
        server = self.startServer(
            "--listen", r"tcp6:0:interface=\:\:1", "--message", "[{peer_host}]\n"
        )
        address = server.waitListening()[0]
        self.assertRegex(address, r"^\[::1\]:\d+$")
        port = int(address.rsplit(":", 1)[1])
        result = runClient(["--connect", rf"tcp:host=\:\:1:port={port}"])
        self.assertEqual(result.stdout, "[::1]\n")
        server.waitForLine(r"Welcomed \[::1\]:\d+")

    def test_unixSocketAndTCPAtOnce(self) -> None:
        """
        One server listens on a UNIX socket and TCP at once and greets on
        both.
        """
        path = self.scratch() / "welcome.sock"
        server = self.startServer(
            "--listen", "tcp:0:interface=127.0.0.1", "--listen", f"unix:{path}"
        )
        tcp, unix = server.waitListening(2)
        self.assertEqual(unix, f"unix:{path}")
        port = int(tcp.rsplit(":", 1)[1])
        viaTCP = runClient(["--connect", f"tcp:host=127.0.0.1:port={port}"])
        viaUNIX = runClient(["--connect", f"unix:path={path}"])
        self.assertEqual((viaTCP.stdout, viaUNIX.stdout), ("Welcome!\n", "Welcome!\n"))

    def test_badDescription(self) -> None:
        """
        A bad description is a usage error naming it (exit 1, twistd's).
        """
        server = self.startServer("--listen", "tcp:0", "--listen", "tcp:zero")
        self.assertEqual(server.wait(), 1)
        self.assertRegex(
            server.output[-1],
            r"^\S*twistd --nodaemon: --listen 'tcp:zero': "
            r"'zero' is not a whole number$",
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_unixSocketInMissingDirectory(self) -> None:
        """
        A UNIX socket that cannot be made ends the server with one line.
        """
        path = self.scratch() / "missing" / "welcome.sock"
        server = self.startServer("--listen", f"unix:{path}")
        self.assertEqual(server.wait(), 1)
        self.assertIn(
            f"twistd welcome: cannot listen on unix:{path}: no such file or directory",
            server.output,
        )
        self.assertNotIn("Traceback", "\n".join(server.output))

    def test_missingKeyFile(self) -> None:
        """
        An C{ssl:} listener whose key is missing is a usage error naming it.
        """
        key = self.scratch() / "missing.pem"
        server = self.startServer("--listen", f"ssl:0:privateKey={key}:certKey={key}")
        self.assertEqual(server.wait(), 1)
        self.assertTrue(
            server.output[-1].endswith(f": {key}: no such file or directory"),
            server.output[-1],
        )
        self.assertNotIn("Traceback", "\n".join(server.output))
