"""
Run installed programs against servers on a link-local IPv6 address with a
zone (C{[fe80::1%lo]:PORT}), on loopback only.

Loopback has no link-local address of its own, and adding one to the
machine's would change it for everyone: the programs run in their own user
and network namespace (C{unshare}), whose loopback gets C{fe80::1}; a TCP
server and a UDP server there answer C{Welcome!}.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence

from twisted.trial.unittest import SkipTest

from tests.silentresolver import requireNamespaces
from tests.support import _environment, installedScript

ADDRESS = "fe80::1"
ZONE = "lo"

_LAUNCHER = """
import json, socket, subprocess, sys, threading
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(
    ["ip", "-6", "addr", "add", "fe80::1/64", "dev", "lo", "nodad"], check=True
)
scope = socket.if_nametoindex("lo")
tcp = socket.socket(socket.AF_INET6)
tcp.bind(("fe80::1", 0, 0, scope))
tcp.listen(8)
port = tcp.getsockname()[1]
udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
udp.bind(("fe80::1", port, 0, scope))

def serveTCP():
    while True:
        conn, _ = tcp.accept()
        conn.sendall(b"Welcome!")
        conn.close()

def serveUDP():
    while True:
        data, peer = udp.recvfrom(65535)
        udp.sendto(b"Welcome!", peer)

threading.Thread(target=serveTCP, daemon=True).start()
threading.Thread(target=serveUDP, daemon=True).start()
results = []
for command in json.loads(sys.argv[1]):
    command = [part.replace("PORT", str(port)) for part in command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    results.append([done.returncode, done.stdout, done.stderr])
print(json.dumps(results))
"""


def runAgainstLinkLocal(
    commands: Sequence[Sequence[str]],
) -> list[tuple[int, str, str]]:
    """
    Run each command (an installed program's name and its arguments, with
    C{PORT} for the servers' port) in the namespace.

    @return: Each command's status, stdout and stderr.
    @raise SkipTest: If namespaces cannot be made here.
    """
    requireNamespaces()
    full = [[installedScript(c[0]), *c[1:]] for c in commands]
    done = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            sys.executable,
            "-c",
            _LAUNCHER,
            json.dumps(full),
        ],
        cwd=tempfile.gettempdir(),
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SkipTest(f"no link-local namespace here: {done.stderr[-500:]}")
    return [(r[0], r[1], r[2]) for r in json.loads(done.stdout)]
