"""
Tests for L{welcome_protocol.greeting.reloading}: a reload replaces the message or
keeps the old one and says why.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import LogLevel, capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from welcome_protocol.greeting.message import Message, MessageError
from welcome_protocol.greeting.reloading import MessageReloader
from welcome_protocol.shared.stats import ServerStats

NEW = Message(b"new")


class MessageReloaderTests(TestCase):
    """
    L{MessageReloader} loads, applies and logs.
    """

    def setUp(self) -> None:
        """
        Collect what the reloader applies.
        """
        self.applied: list[Message] = []

    def test_reloadApplies(self) -> None:
        """
        A message that loads is applied and the change is logged.
        """
        reloader = MessageReloader(
            "message file m", lambda: succeed(NEW), self.applied.append
        )
        with capturedLogs() as events:
            reloader.reload()
        self.assertEqual(self.applied, [NEW])
        self.assertEqual(
            [formatEvent(e) for e in events],
            [
                "Re-reading message file m",
                "Now sending the message from message file m",
            ],
        )

    def test_badMessageKeepsOld(self) -> None:
        """
        A message that does not load is not applied; one error line says why.
        """
        problem = MessageError("cannot read message file m: permission denied")
        reloader = MessageReloader(
            "message file m", lambda: fail(problem), self.applied.append
        )
        with capturedLogs() as events:
            reloader.reload()
        self.assertEqual(self.applied, [])
        errors = [e for e in events if e["log_level"] is LogLevel.error]
        self.assertEqual(
            [formatEvent(e) for e in errors],
            [
                "Kept the previous message: "
                "cannot read message file m: permission denied"
            ],
        )

    def test_unexpectedErrorKeepsOld(self) -> None:
        """
        Any other failure also keeps the old message, naming the source.
        """
        reloader = MessageReloader(
            "message file m",
            lambda: fail(RuntimeError("thread pool gone")),
            self.applied.append,
        )
        with capturedLogs() as events:
            reloader.reload()
        self.assertEqual(self.applied, [])
        self.assertIn(
            "Kept the previous message: message file m: thread pool gone",
            [formatEvent(e) for e in events],
        )

    def test_requestsDuringLoadAreFolded(self) -> None:
        """
        Requests while a load is under way make one more load after it,
        not one each.
        """
        loads: list[Deferred[Message]] = []

        def load() -> Deferred[Message]:
            loads.append(Deferred())
            return loads[-1]

        reloader = MessageReloader("m", load, self.applied.append)
        reloader.reload()
        reloader.reload()
        reloader.reload()
        self.assertEqual(len(loads), 1)
        loads[0].callback(Message(b"first"))
        self.assertEqual(len(loads), 2)
        loads[1].callback(NEW)
        self.assertEqual(self.applied, [Message(b"first"), NEW])
        self.assertIsNone(reloader.loading)


class ReloadCountTests(TestCase):
    """
    Reloads are counted for the stats and the metrics.
    """

    def test_counted(self) -> None:
        """
        Each reload that applies counts as one, each that fails as one
        failure.
        """
        stats = ServerStats(0.0)
        problem = MessageError("cannot read message file m: permission denied")
        results = [succeed(NEW), fail(problem), succeed(NEW)]
        reloader = MessageReloader(
            "m", lambda: results.pop(0), lambda message: None, stats
        )
        with capturedLogs():
            for _ in range(3):
                reloader.reload()
        self.assertEqual((stats.messageReloads, stats.messageReloadFailures), (2, 1))
