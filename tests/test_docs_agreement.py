"""
What the guide says about the server agrees with what the server does:
the README's example can run after its install command, and the worker
numbers the guide shows are the ones the log writes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

from twisted.internet.error import ProcessTerminated
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, LogEvent, formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from welcome_protocol.metrics.workertotals import WorkerTotals
from welcome_protocol.shared.stats import ServerStats
from welcome_protocol.workers.pool import WorkerPool

ROOT = Path(__file__).resolve().parent.parent


def consoleBlocks(text: str) -> list[list[str]]:
    """
    @return: The lines of each C{console} fenced block of Markdown C{text}.
    """
    return [
        block.splitlines()
        for block in re.findall(r"^```console\n(.*?)^```", text, re.M | re.S)
    ]


class ReadmeTests(TestCase):
    """
    README.md's tiny example runs in the shell its install command leaves.
    """

    def test_programsOnPathBeforeUse(self) -> None:
        """
        The install command puts the programs in C{.venv/bin}, never on
        C{PATH}: every command of the examples that runs C{twistd} or
        C{welcome-client} by name comes after the environment is activated
        in the same block, or names C{.venv/bin}.
        """
        text = (ROOT / "README.md").read_text()
        self.assertIn("python3 -m venv .venv && .venv/bin/pip install .", text)
        commands = 0
        for block in consoleBlocks(text):
            activated = False
            for line in block:
                if not line.startswith("$ "):
                    continue
                command = line[2:]
                if command in (". .venv/bin/activate", "source .venv/bin/activate"):
                    activated = True
                first = command.split()[0]
                if first in ("twistd", "welcome-client"):
                    commands += 1
                    self.assertTrue(activated, command)
        self.assertGreater(commands, 0)


class _Port:
    """
    The listener's port, as the pool sees it: it stops reading, and hands
    its descriptor down.
    """

    def stopReading(self) -> None:
        """
        Nothing to stop.
        """

    def fileno(self) -> int:
        """
        @return: A descriptor number the workers would be given.
        """
        return 7


class _Listener:
    """
    A listener whose port the workers share.
    """

    port = _Port()


class _ProcessReactor(MemoryReactorClock):
    """
    A fake reactor that records the processes it is asked to start.
    """

    def __init__(self) -> None:
        super().__init__()
        self.processes: list[ProcessProtocol] = []

    def spawnProcess(
        self, processProtocol: ProcessProtocol, *a: object, **k: object
    ) -> None:
        """
        Record C{processProtocol}; start nothing.
        """
        self.processes.append(processProtocol)


class WorkerNumberTests(TestCase):
    """
    docs/deployments.md numbers workers as the log does.
    """

    def test_documentedLineIsTheFirstWorkers(self) -> None:
        """
        The line the log writes when the first worker started ends is the
        one the guide shows (the pid and the reason aside).
        """
        reactor = _ProcessReactor()
        # Fakes of the reactor and the listener: no process is started.
        totals = WorkerTotals(ServerStats(0))
        pool = WorkerPool(reactor, _Listener(), 2, [], None, totals)  # type: ignore[arg-type]  # a fake listener
        events: list[LogEvent] = []
        observer = cast(ILogObserver, events.append)
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        pool.startService()
        first = pool.workers[0]
        first.pid = 4242
        pool.workerEnded(first, Failure(ProcessTerminated(signal=9)))
        logged = [
            formatEvent(e) for e in events if "starting another" in formatEvent(e)
        ]
        text = (ROOT / "docs" / "deployments.md").read_text()
        shown = re.findall(
            r"`(Worker \d+ \(pid 4242\) ended \(\.\.\.\); starting another)`", text
        )
        self.assertEqual(
            [re.sub(r"ended \(.*\);", "ended (...);", line) for line in logged], shown
        )
