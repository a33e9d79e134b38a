"""
The systemd units in C{contrib/systemd}: checked by the real
C{systemd-analyze} (C{verify}, and C{security} for their exposure), and
their C{ExecStart} run under C{systemd-socket-activate} with what of the
sandbox a process can apply to itself without systemd.
"""

from __future__ import annotations

import ctypes
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.metricshelpers import samples, scrape, value
from tests.support import ServerProcess, freePort, installedScript, readAll, runClient

SYSTEMD = Path(__file__).resolve().parent.parent / "contrib" / "systemd"
#: The highest exposure C{systemd-analyze security} may give a service.
MOST_EXPOSURE = 2.0
#: prctl(2) options: refuse memory that is writable and executable (what
#: MemoryDenyWriteExecute= asks for; Linux 6.3 and later), and
#: NoNewPrivileges=.
PR_SET_MDWE = 65
PR_MDWE_REFUSE_EXEC_GAIN = 1
PR_SET_NO_NEW_PRIVS = 38


def requireCommand(name: str) -> str:
    """
    @return: The path of command C{name}.
    @raise AssertionError: If it is missing (C{.ci/run} installs it).
    """
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} is not installed; .ci/run installs it")
    return path


def services() -> list[Path]:
    """
    @return: Every service unit in C{contrib/systemd}, templates included.
    """
    found = sorted(SYSTEMD.glob("*.service"))
    assert found, "no service units"
    return found


def setting(unit: Path, key: str) -> str:
    """
    @return: The one value of C{key} in C{unit}.
    """
    [found] = re.findall(rf"^{key}=(.*)$", unit.read_text(), re.MULTILINE)
    result: str = found
    return result


def execStart(unit: Path, instance: str = "", options: str = "") -> list[str]:
    """
    @return: The arguments of C{twistd welcome} in C{unit}'s C{ExecStart},
        after the plugin's name, as systemd would pass them for C{instance}
        (C{%i}) with C{$WELCOME_OPTIONS} set to C{options}.  Those of twistd
        itself must be the ones L{ServerProcess} gives: in the foreground,
        no pid file, the log on stdout.
    """
    command = shlex.split(setting(unit, "ExecStart"))
    twistd = ["twistd", "--nodaemon", "--pidfile=", "--logfile=-", "welcome"]
    assert command[:5] == twistd, command
    arguments: list[str] = []
    for word in command[5:]:
        if word == "$WELCOME_OPTIONS":
            arguments += shlex.split(options)
        else:
            arguments.append(word.replace("%i", instance))
    return arguments


def sandbox(limitFiles: int) -> None:
    """
    In the child, before it runs the command: apply C{LimitNOFILE},
    C{NoNewPrivileges} and C{MemoryDenyWriteExecute} as systemd would.
    """
    resource.setrlimit(resource.RLIMIT_NOFILE, (limitFiles, limitFiles))
    libc = ctypes.CDLL(None, use_errno=True)
    for option, argument in (
        (PR_SET_NO_NEW_PRIVS, 1),
        (PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN),
    ):
        if libc.prctl(option, argument, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl({option})")


class AnalyzeTests(TestCase):
    """
    C{systemd-analyze} accepts the units and rates them unexposed.
    """

    def test_exposure(self) -> None:
        """
        C{systemd-analyze security --offline=yes} gives every service unit
        an overall exposure of at most 2.0 ("OK").
        """
        for unit in services():
            result = subprocess.run(
                [requireCommand("systemd-analyze"), "security", "--offline=yes", unit],
                capture_output=True,
                text=True,
                timeout=60,
            )
            found = re.search(
                r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout
            )
            assert found is not None, result.stdout + result.stderr
            self.assertLessEqual(
                float(found.group(1)), MOST_EXPOSURE, f"{unit.name}: {found.group(0)}"
            )

    def verify(self, *names: str, replace: tuple[str, str] = ("", "")) -> str:
        """
        Run C{systemd-analyze verify} on copies of the units in which
        C{ExecStart} names the installed C{twistd}: systemd looks for a bare
        command name on its own search path only, and the tests' C{twistd}
        is in a virtual environment (as a unit for one names it in full).

        @param replace: Text to replace in the copies, to break them.
        @return: What it wrote, when it exits 0.
        """
        directory = Path(tempfile.mkdtemp(prefix="welcome-units-"))
        self.addCleanup(shutil.rmtree, directory, True)
        for unit in SYSTEMD.iterdir():
            text = unit.read_text().replace(
                "\nExecStart=twistd ", f"\nExecStart={installedScript('twistd')} "
            )
            (directory / unit.name).write_text(text.replace(*replace))
        result = subprocess.run(
            [requireCommand("systemd-analyze"), "verify", "--man=no", *names],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout + result.stderr

    def test_verify(self) -> None:
        """
        C{systemd-analyze verify} finds nothing wrong with any unit, or with
        an instance of the template.
        """
        names = sorted(unit.name for unit in SYSTEMD.iterdir())
        self.assertIn("welcome@.service", names)
        self.assertEqual(self.verify(*names, "welcome@12001.service"), "")

    def test_verifyNoticesMistakes(self) -> None:
        """
        The check can fail: a misspelt setting is reported.
        """
        output = self.verify(
            "welcome.service", replace=("ProtectHome=", "ProtectHomes=")
        )
        self.assertIn("Unknown key 'ProtectHomes' in section [Service]", output)


class UnitCommandTests(TestCase):
    """
    Each unit's C{ExecStart}, started as systemd would start it, with its
    C{LimitNOFILE} and the parts of its sandbox a process can apply itself.
    """

    def start(self, unit: Path, args: list[str], port: int) -> ServerProcess:
        """
        Run C{twistd ARGS} under C{systemd-socket-activate} on C{port} (which
        passes the socket without a name, as systemd passes it with one),
        sandboxed; kill it after the test.
        """
        limit = int(setting(unit, "LimitNOFILE"))
        server = ServerProcess(
            args,
            launcher=(
                requireCommand("systemd-socket-activate"),
                f"--listen=127.0.0.1:{port}",
                "--setenv=PYTHONUNBUFFERED=1",
            ),
            preexec=lambda: sandbox(limit),
        )
        self.addCleanup(server.kill)
        return server

    def test_socketActivatedService(self) -> None:
        """
        C{welcome.service}'s command greets on the socket it is handed, with
        an open-file limit that fits C{--max-connections} (no warning), and
        memory that is never writable and executable.
        """
        unit = SYSTEMD / "welcome.service"
        port = freePort()
        server = self.start(unit, execStart(unit), port)
        server.waitForLine(rf"Listening on 127\.0\.0\.1:{port} as 3\.")
        result = runClient(["--host", "127.0.0.1", "--port", str(port)])
        self.assertEqual((result.stdout, result.stderr), ("Welcome!\n", ""))
        server.waitForLine(r"Welcomed 127\.0\.0\.1:\d+")
        limit = setting(unit, "LimitNOFILE")
        server.waitForLine(rf"Open-file limit \(RLIMIT_NOFILE\) is {limit}$")
        # twistd ends by the signal that stopped it, which systemd counts as
        # a clean stop.
        self.assertEqual(server.stop(), -signal.SIGTERM)
        self.assertRegex(server.output[-1], r"Server Shut Down\.$")
        self.assertEqual(
            [line for line in server.output if "--max-connections" in line], []
        )
        self.assertEqual([line for line in server.output if "Traceback" in line], [])

    def test_templateInstance(self) -> None:
        """
        An instance of C{welcome@.service} (its name the port) serves a
        client whose PROXY header a balancer sent, and the metrics port
        given in its C{WELCOME_OPTIONS}.
        """
        unit = SYSTEMD / "welcome@.service"
        port = freePort()
        limit = int(setting(unit, "LimitNOFILE"))
        server = ServerProcess(
            execStart(unit, str(port), "--metrics tcp:0:interface=127.0.0.1"),
            preexec=lambda: sandbox(limit),
        )
        self.addCleanup(server.kill)
        welcome, metrics = server.waitListening(2)
        self.assertEqual(welcome, f"127.0.0.1:{port}")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 12000\r\n")
            self.assertEqual(readAll(client), b"Welcome!")
        server.waitForLine(r"Welcomed 192\.0\.2\.7:40000")
        found = samples(scrape(int(metrics.rsplit(":", 1)[1])))
        self.assertEqual(
            value(found, "welcome_connections_closed_total", outcome="served"), 1
        )
        self.assertEqual(server.stop(), -signal.SIGTERM)
        self.assertRegex(server.output[-1], r"Server Shut Down\.$")
