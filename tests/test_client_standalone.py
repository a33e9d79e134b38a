"""
Tests that the client stands alone: importing it, and parsing its command
line, loads nothing of the server and nothing meant for tests.

Each check runs in a fresh interpreter, because this test process has
already imported the server, trial and the test doubles.
"""

from __future__ import annotations

import json
import subprocess
import sys

from twisted.trial.unittest import TestCase

_ALLOWED = ("welcome_protocol.client", "welcome_protocol.shared")
_TEST_ONLY = ("twisted.trial", "unittest", "twisted.test", "twisted.internet.testing")

_IMPORT_EVERY_CLIENT_MODULE = """
import json, pkgutil, sys, importlib
import welcome_protocol.client as client
names = [client.__name__]
for info in pkgutil.walk_packages(client.__path__, client.__name__ + "."):
    if info.name.endswith("__main__"):
        continue  # running it would run the client
    names.append(info.name)
for name in names:
    importlib.import_module(name)
print(json.dumps({"imported": names, "loaded": sorted(sys.modules)}))
"""

_PARSE = """
import json, sys
from welcome_protocol.client.script import parseArguments
from welcome_protocol.client.checktcp.script import parseCheckArguments
config = parseArguments(sys.argv[1:], sys.stderr)
assert config is not None, "the command line was refused"
assert parseCheckArguments(["-H", "localhost", "-p", "1"], sys.stderr) is not None
print(json.dumps(sorted(sys.modules)))
"""


def _runPython(code: str, *args: str) -> str:
    """
    Run C{code} in a fresh interpreter and return what it printed.
    """
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr}")
    return done.stdout


def _outside(loaded: list[str], allowed: tuple[str, ...]) -> list[str]:
    """
    @return: The C{welcome_protocol} modules in C{loaded} that are not in an
        C{allowed} package (the top package itself is allowed).
    """
    return [
        name
        for name in loaded
        if name.startswith("welcome_protocol.")
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    ]


def _testOnly(loaded: list[str]) -> list[str]:
    """
    @return: The modules in C{loaded} that belong to tests.
    """
    return [
        name
        for name in loaded
        if any(name == t or name.startswith(t + ".") for t in _TEST_ONLY)
    ]


class ClientImportsTests(TestCase):
    """
    Importing every module of the client (C{welcome-client} and
    C{check_welcome}) loads only the client and the shared leaf package.
    """

    def test_outsideHelper(self) -> None:
        """
        The helper finds a server module and lets the client and shared
        ones, and the top package, pass: the check below can fail.
        """
        self.assertEqual(
            _outside(
                [
                    "welcome_protocol",
                    "welcome_protocol.client.probe",
                    "welcome_protocol.shared.descriptions",
                    "welcome_protocol.settings",
                    "welcome_protocol.clientele",
                ],
                _ALLOWED,
            ),
            ["welcome_protocol.settings", "welcome_protocol.clientele"],
        )

    def test_everyClientModuleStandsAlone(self) -> None:
        """
        A fresh interpreter that imports C{welcome_protocol.client} and every
        module under it has no other C{welcome_protocol} module loaded.
        """
        found = json.loads(_runPython(_IMPORT_EVERY_CLIENT_MODULE))
        imported = found["imported"]
        self.assertIn("welcome_protocol.client.checktcp.script", imported)
        self.assertIn("welcome_protocol.client.scan.run", imported)
        self.assertEqual(_outside(found["loaded"], _ALLOWED), [])

    def test_everyClientModuleLoadsNoTestCode(self) -> None:
        """
        Importing every client module loads nothing meant for tests.
        """
        found = json.loads(_runPython(_IMPORT_EVERY_CLIENT_MODULE))
        self.assertEqual(_testOnly(found["loaded"]), [])


class DescriptionCheckImportsTests(TestCase):
    """
    Checking a C{--connect} description at start-up builds its endpoint
    against a stand-in reactor from non-test code.
    """

    def assertParsesClean(self, *argv: str) -> None:
        """
        Parsing C{argv} (and a C{check_welcome} command line) in a fresh
        interpreter leaves no test module, and no server module, loaded.
        """
        loaded = json.loads(_runPython(_PARSE, *argv))
        self.assertIn("welcome_protocol.shared.descriptions", loaded)
        self.assertEqual(_testOnly(loaded), [])
        self.assertEqual(_outside(loaded, _ALLOWED), [])

    def test_tcpDescription(self) -> None:
        """
        C{--connect tcp:...} is checked without trial, C{unittest} or
        C{twisted.test}.
        """
        self.assertParsesClean("--connect", "tcp:host=localhost:port=12000")

    def test_unixDescription(self) -> None:
        """
        C{--connect unix:...} is checked without them too.
        """
        self.assertParsesClean("--connect", "unix:path=/run/welcome.sock")

    def test_hostAndPort(self) -> None:
        """
        The common command line, C{HOST:PORT}, loads none of them.
        """
        self.assertParsesClean("localhost:12000", "--expect", "Welcome")

    def test_tlsDescriptionLoadsNoTestDouble(self) -> None:
        """
        C{--connect tls:...} is parsed by a Twisted plugin: the lookup
        unpickles Twisted's plugin cache, which imports the interface of
        every installed plugin, trial's C{itrial} (and with it C{unittest})
        among them.  That is Twisted's plugin system, not the check: the
        check itself loads neither C{twisted.test} nor Twisted's doubles.
        """
        loaded = json.loads(
            _runPython(_PARSE, "--connect", "tls:host=localhost:port=12000")
        )
        self.assertEqual(
            [
                name
                for name in _testOnly(loaded)
                if name.startswith(("twisted.test", "twisted.internet.testing"))
            ],
            [],
        )
        self.assertEqual(_outside(loaded, _ALLOWED), [])
