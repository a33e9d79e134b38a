"""
Every shell example of the guide whose output is shown is run against the
installed programs on loopback, and what it prints, and its exit status (the
guide shows it with C{echo $?}), must be what the guide shows, after the
normalisation rule of L{tests.docexamples}.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from twisted.trial.unittest import TestCase

from tests.docexamples import (
    Example,
    Step,
    docPorts,
    examples,
    matches,
    movePorts,
    normalise,
)
from tests.support import ServerProcess, freePortRange, installedScript

ROOT = Path(__file__).resolve().parent.parent

NOT_IN_CI = {
    "README.md": 0,
    "docs/getting-started.md": 1,
    "docs/server.md": 0,
    "docs/messages.md": 0,
    "docs/client.md": 1,
    "docs/deadlines.md": 1,
    "docs/deployments.md": 1,
    "docs/udp.md": 1,
    "docs/firewall-testing.md": 1,
    "docs/monitoring.md": 0,
}
"""
How many examples of each page are marked C{not-in-ci}: a new mark fails
here until it is counted, so that no example stops being run unnoticed.
Every page with an example is here (L{ExamplesTests.test_everyPageRun}).
"""

COMMAND_SECONDS = 30.0
"""
How long a command may run: none of the guide's takes a second; a command
still running then is killed, and fails on what it printed.
"""

_ACTIVATE = {". .venv/bin/activate", "source .venv/bin/activate"}


def _shellWords(words: str, cwd: str) -> list[bytes]:
    """
    @return: C{words} as the shell reads them (quotes, C{$'...'} escapes).
    """
    result = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {words}"],
        cwd=cwd,
        capture_output=True,
        check=True,
    )
    return result.stdout.split(b"\0")[:-1]


class _Run:
    """
    One example being run: its scratch directory, its ports, its files and
    its server.
    """

    def __init__(self, case: TestCase, example: Example) -> None:
        self.example = example
        self.bindir = str(Path(installedScript("twistd")).parent)
        self.scratch = tempfile.mkdtemp(prefix="welcome-doc-")
        case.addCleanup(shutil.rmtree, self.scratch, True)
        texts = [s.command for s in example.steps] + [rest for _, rest in example.marks]
        self.moves: dict[int, int] = {}
        for ports in docPorts(texts):
            base = freePortRange(ports[-1] - ports[0] + 1)
            # The whole span: a range names the ports between its ends.
            span = range(ports[0], ports[-1] + 1)
            self.moves.update({p: base + p - ports[0] for p in span})
        self.paths: dict[str, str] = {}
        for rest in example.mark("file"):
            shown, _, word = rest.partition(" ")
            real = Path(self.scratch) / shown.lstrip("/")
            real.parent.mkdir(parents=True, exist_ok=True)
            real.write_bytes(b"".join(_shellWords(word, self.scratch)))
            self.paths[shown] = str(real)
        for rest in example.mark("server"):
            args = _shellWords(self.rewrite(rest), self.scratch)
            server = ServerProcess([os.fsdecode(a) for a in args])
            case.addCleanup(server.kill)
            server.waitListening()

    def rewrite(self, command: str) -> str:
        """
        @return: C{command} as it runs here: ports moved, files in the
            scratch directory, C{.venv/bin/} the installed programs.
        """
        command = movePorts(command, self.moves)
        for shown, real in self.paths.items():
            command = command.replace(shown, real)
        return command.replace(".venv/bin/", self.bindir + "/")

    def printed(self, step: Step, status: int) -> tuple[list[str], int]:
        """
        Run one command, after C{status} (for C{echo $?}).

        @return: Its lines of output (stdout and stderr, as a terminal shows
            them), as the guide would write them, and its exit status.
        """
        if step.command in _ACTIVATE:
            return [], 0
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        env["PATH"] = f"{self.bindir}{os.pathsep}{env.get('PATH', '')}"
        process = subprocess.Popen(
            ["bash", "-c", f"(exit {status}); {self.rewrite(step.command)}"],
            cwd=self.scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        lines: list[bytes] = []
        interrupt = [int(n) for n in self.example.mark("interrupt")]
        timer = threading.Timer(
            COMMAND_SECONDS, os.killpg, (process.pid, signal.SIGKILL)
        )
        timer.start()
        try:
            for line in process.stdout:
                lines.append(line)
                if interrupt and len(lines) == interrupt[0]:
                    os.killpg(process.pid, signal.SIGINT)
            returncode = process.wait()
        finally:
            timer.cancel()
        text = b"".join(lines).decode("utf-8", "replace")
        text = movePorts(text, {real: shown for shown, real in self.moves.items()})
        for shown, real in self.paths.items():
            text = text.replace(real, shown)
        text = normalise(text, self.bindir, socket.gethostname())
        return text.splitlines(), returncode


class ExamplesTests(TestCase):
    """
    Each page's examples print what the page shows.
    """

    def runPage(self, page: str) -> None:
        """
        Run every example of C{page} that is not marked C{not-in-ci}; fail
        naming each that differs, with what it printed.
        """
        found = examples(ROOT / page, ROOT)
        self.assertGreater(len(found), 0, page)
        marked = [e for e in found if e.mark("not-in-ci")]
        self.assertEqual(len(marked), NOT_IN_CI[page], [e.where() for e in marked])
        failures = []
        for example in found:
            if example.mark("not-in-ci"):
                continue
            run = _Run(self, example)
            status = 0
            for step in example.steps:
                printed, status = run.printed(step, status)
                shown = tuple(normalise(line, run.bindir, "") for line in step.output)
                if not matches(shown, printed):
                    failures.append(
                        f"{example.where()}: $ {step.command}\n  shown:\n    "
                        + "\n    ".join(shown)
                        + "\n  printed:\n    "
                        + "\n    ".join(printed)
                    )
        self.assertEqual(failures, [], "\n\n".join(failures))

    def test_everyPageRun(self) -> None:
        """
        Every page of the guide (and the README) that has an example is run
        by a test of this class: a page that gains its first example fails
        here until it is.
        """
        pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        withExamples = {str(p.relative_to(ROOT)) for p in pages if examples(p, ROOT)}
        self.assertEqual(withExamples, set(NOT_IN_CI))
        tested = {name for name in dir(self) if name.startswith("test_")} - {
            "test_everyPageRun"
        }
        self.assertEqual(len(tested), len(NOT_IN_CI))

    def test_monitoring(self) -> None:
        """
        docs/monitoring.md's examples.
        """
        self.runPage("docs/monitoring.md")

    def test_readme(self) -> None:
        """
        README.md's examples.
        """
        self.runPage("README.md")

    def test_gettingStarted(self) -> None:
        """
        docs/getting-started.md's examples.
        """
        self.runPage("docs/getting-started.md")

    def test_server(self) -> None:
        """
        docs/server.md's examples.
        """
        self.runPage("docs/server.md")

    def test_messages(self) -> None:
        """
        docs/messages.md's examples.
        """
        self.runPage("docs/messages.md")

    def test_client(self) -> None:
        """
        docs/client.md's examples.
        """
        self.runPage("docs/client.md")

    def test_deadlines(self) -> None:
        """
        docs/deadlines.md's examples.
        """
        self.runPage("docs/deadlines.md")

    def test_deployments(self) -> None:
        """
        docs/deployments.md's examples.
        """
        self.runPage("docs/deployments.md")

    def test_udp(self) -> None:
        """
        docs/udp.md's examples.
        """
        self.runPage("docs/udp.md")

    def test_firewallTesting(self) -> None:
        """
        docs/firewall-testing.md's examples.
        """
        self.runPage("docs/firewall-testing.md")


class RuleTests(TestCase):
    """
    The reading of examples and the normalisation rule of
    L{tests.docexamples}.
    """

    def test_marksAndSteps(self) -> None:
        """
        A block's marks are the comments right above its fence; a block
        without output shown is no example, nor is a fence of another
        language; an indented fence (in a list) is read without its indent.
        """
        page = Path(tempfile.mkdtemp()) / "page.md"
        self.addCleanup(shutil.rmtree, page.parent)
        page.write_text(
            "```console\n$ true\n```\n\n"
            "<!-- example: server --port 12000 -->\n"
            "<!-- example: file /a $'x' -->\n"
            "```console\n$ echo hi\nhi\n$ echo $?\n0\n```\n"
            "```sh\n$ not an example\nshown\n```\n"
            "- in a list:\n\n  ```text\n  $ echo x\n  x\n  ```\n"
        )
        example, indented = examples(page, page.parent)
        self.assertEqual(indented.steps, (Step("echo x", ("x",)),))
        self.assertEqual(example.line, 7)
        self.assertEqual(example.mark("server"), ["--port 12000"])
        self.assertEqual(example.mark("file"), ["/a $'x'"])
        self.assertEqual(
            example.steps, (Step("echo hi", ("hi",)), Step("echo $?", ("0",)))
        )

    def test_portsMoveTogether(self) -> None:
        """
        Ports keep their distances when moved, and only those from 10000
        to 29999 move.
        """
        ports = docPorts(["--port 12000", "127.0.0.1:12001 and 22, 8080 20003"])
        self.assertEqual(ports, [[12000, 12001], [20003]])
        self.assertEqual(
            movePorts("tcp:12001 port 22", {12000: 40000, 12001: 40001}),
            "tcp:40001 port 22",
        )

    def test_normalise(self) -> None:
        """
        The programs' directory, the host name, durations and times are
        written in one form.
        """
        self.assertEqual(
            normalise(
                "/x/bin/twistd -n: on box in 1.25 ms at 2026-12-02T03:50:09Z",
                "/x/bin",
                "box",
            ),
            "twistd -n: on vm in <time> at <time>",
        )
        self.assertEqual(
            normalise('{"seconds": 0.004326, "port": 22} 0.0% 1.4/2.1 ms', "/x", ""),
            '{"seconds": <n>, "port": 22} <n>% <n>/<time>',
        )
        self.assertEqual(
            normalise("22     refused   6.3 ms   5e-06", "/x", ""),
            "22  refused  <time>  <n>",
        )

    def test_wildcardLines(self) -> None:
        """
        A line C{...text...} stands for any lines or none; other lines must
        be equal.
        """
        shown = ("...usage...", "last")
        self.assertTrue(matches(shown, ["a", "b", "last"]))
        self.assertTrue(matches(shown, ["last"]))
        self.assertFalse(matches(shown, ["last", "more"]))
        self.assertFalse(matches(("a",), ["b"]))
