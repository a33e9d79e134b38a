"""
Packaging tests: the built wheel, installed into a clean virtual environment,
gives users C{twistd welcome} without touching any file of Twisted's own.

Daphne lost its twistd plugin twice to packaging mistakes; these tests build
and install the project as a user would (Twisted and the other dependencies
come from the package index), so a dropin left out of the wheel, or a
C{twisted/__init__.py} shipped by mistake, fails here first.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from twisted.trial.unittest import TestCase

SOURCE = Path(__file__).resolve().parent.parent
PIP_SECONDS = 600


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    """
    Run C{command}, failing with its output if it fails.

    @return: What it wrote to stdout and stderr.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=PIP_SECONDS,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise AssertionError(f"{command} exited {done.returncode}:\n{output}")
    return output


def _copySource(destination: Path) -> Path:
    """
    Copy the project's tracked files (as git would check them out) so builds
    and editable installs never write into the working tree.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=SOURCE,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        relative = Path(os.fsdecode(name))
        if not (SOURCE / relative).is_file():
            continue
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SOURCE / relative, target)
    return destination


class _Installation:
    """
    A wheel built from a copy of the source, installed into a fresh virtual
    environment; made once per test run, since installing Twisted takes a
    while, and removed when the run ends.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="welcome-packaging-"))
        atexit.register(shutil.rmtree, self.root, True)
        self.source = _copySource(self.root / "source")
        self.venv = self.root / "venv"
        _run(sys.executable, "-m", "venv", self.venv)
        _run(
            self.bin("pip"), "wheel", "--no-deps", "-w", self.root / "dist", self.source
        )
        [self.wheel] = (self.root / "dist").glob("welcome_protocol-*.whl")
        _run(self.bin("pip"), "install", self.wheel)
        [self.sitePackages] = (self.venv / "lib").glob("python*/site-packages")

    def bin(self, name: str) -> Path:
        """
        @return: Command C{name} of the environment.
        """
        return self.venv / "bin" / name


@functools.cache
def installation() -> _Installation:
    """
    @return: The run's one L{_Installation}, made on first use.
    """
    return _Installation()


class InstalledWheelTests(TestCase):
    """
    Build the wheel, install it into a fresh virtual environment, use it.
    """

    def setUp(self) -> None:
        """
        Use the run's installation (the first test makes it).
        """
        self.installed = installation()
        self.root = self.installed.root
        self.bin = self.installed.bin
        self.wheel = self.installed.wheel

    def test_wheelShipsTheDropinAndNothingOfTwisted(self) -> None:
        """
        The wheel holds the package, C{py.typed} and the dropin, and no
        C{twisted/__init__.py}, C{twisted/plugins/__init__.py}, plugin cache,
        tests or benchmarks.
        """
        with zipfile.ZipFile(self.wheel) as wheel:
            names = set(wheel.namelist())
        self.assertIn("twisted/plugins/welcome_plugin.py", names)
        self.assertIn("welcome_protocol/py.typed", names)
        self.assertIn("welcome_protocol/greeting/server.py", names)
        # Every package of the source tree is in setup.cfg's list, so in
        # the wheel: a stage's package left out would fail only at import.
        source = Path(__file__).resolve().parent.parent / "welcome_protocol"
        packages = {
            str(init.parent.relative_to(source.parent))
            for init in source.rglob("__init__.py")
        }
        self.assertIn("welcome_protocol/listening/directtcp", packages)
        for package in packages:
            self.assertIn(f"{package}/__init__.py", names)
        twisted = {n for n in names if n.startswith("twisted/")}
        self.assertEqual(
            twisted,
            {
                "twisted/plugins/welcome_plugin.py",
                "twisted/plugins/welcome_exporter_plugin.py",
                "twisted/plugins/welcome_endpoints.py",
            },
        )
        self.assertEqual(
            {n for n in names if n.startswith(("tests/", "benchmarks/"))}, set()
        )
        self.assertFalse(any(n.endswith("dropin.cache") for n in names))

    def test_installedCommandsWork(self) -> None:
        """
        After C{pip install}, C{twistd welcome --help}, C{twist welcome --help},
        C{welcome-client --help} and C{check_welcome --help} all work and
        document C{--port}; C{twistd welcome-exporter --help} works too (its
        dependency, PyYAML, came with the package).
        """
        commands: list[list[str | Path]] = [
            [self.bin("twistd"), "welcome", "--help"],
            [self.bin("twist"), "welcome", "--help"],
            [self.bin("welcome-client"), "--help"],
            [self.bin("python"), "-m", "welcome_protocol.client", "--help"],
        ]
        for command in commands:
            self.assertIn("--port", _run(*command, cwd=self.root))
        exporter = _run(self.bin("twistd"), "welcome-exporter", "--help", cwd=self.root)
        self.assertIn("--allow-targets", exporter)
        # check_welcome's help exits 3 (UNKNOWN), as check_tcp's does.
        done = subprocess.run(
            [str(self.bin("check_welcome")), "--help"],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=PIP_SECONDS,
        )
        self.assertEqual(done.returncode, 3, done.stderr)
        self.assertIn("--port", done.stdout)

    def test_uninstallThenEditableInstall(self) -> None:
        """
        C{pip uninstall} leaves Twisted's own plugins working; an editable
        install in setuptools' C{compat} mode (the one the README documents)
        makes the dropin visible again, from the source tree.
        """
        sitePackages = self.installed.sitePackages
        plugins = sitePackages / "twisted" / "plugins"
        _run(self.bin("pip"), "uninstall", "-y", "welcome-protocol")
        self.assertTrue((plugins / "__init__.py").exists())
        self.assertTrue((sitePackages / "twisted" / "__init__.py").exists())
        self.assertFalse((plugins / "welcome_plugin.py").exists())
        usage = _run(self.bin("twistd"), "--help", cwd=self.root)
        self.assertIn("web", usage)
        self.assertNotIn("welcome", usage)

        _run(
            self.bin("pip"),
            "install",
            "--no-deps",
            "-e",
            self.installed.source,
            "--config-settings",
            "editable_mode=compat",
        )
        self.assertIn("welcome", _run(self.bin("twistd"), "--help", cwd=self.root))
        self.assertIn(
            "--port", _run(self.bin("twistd"), "welcome", "--help", cwd=self.root)
        )
