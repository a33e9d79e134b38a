# -*- test-case-name: tests.test_reloading -*-
"""
Re-read the message file on request, keeping the old message if it went bad.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from welcome_protocol.greeting.message import Message, MessageError
from welcome_protocol.shared.stats import ServerStats

Load = Callable[[], Deferred[Message]]


class MessageReloader:
    """
    Load the message again and hand it over, or log why not.

    Requests that arrive while a load is under way are folded into one more
    load after it, so the last request always sees the file's last state.

    @ivar loading: Fires when the current load is done, or L{None}.
    """

    _log = Logger()

    def __init__(
        self,
        source: str,
        load: Load,
        apply: Callable[[Message], object],
        stats: ServerStats | None = None,
    ) -> None:
        """
        @param source: How to name the message in the log, e.g. its path.
        @param load: Reads the message without blocking the reactor (in a
            thread), failing with L{MessageError} if it is bad.
        @param apply: Puts a new message into service.
        @param stats: Counts the reloads and the failed ones, if given.
        """
        self._source = source
        self._load = load
        self._apply = apply
        self._stats = stats
        self._again = False
        self.loading: Deferred[None] | None = None

    def reload(self) -> None:
        """
        Start loading the message again, unless a load is under way.
        """
        if self.loading is not None:
            self._again = True
            return
        self._log.info("Re-reading {source}", source=self._source)
        self.loading = self._load().addCallbacks(self._loaded, self._failed)
        self.loading.addBoth(self._done)

    def _loaded(self, message: Message) -> None:
        self._apply(message)
        if self._stats is not None:
            self._stats.messageReloads += 1
        self._log.info("Now sending the message from {source}", source=self._source)

    def _failed(self, reason: Failure) -> None:
        if self._stats is not None:
            self._stats.messageReloadFailures += 1
        why = (
            reason.getErrorMessage()
            if reason.check(MessageError)
            else f"{self._source}: {reason.getErrorMessage()}"
        )
        self._log.error("Kept the previous message: {why}", why=why)

    def _done(self, result: object) -> None:
        self.loading = None
        if self._again:
            self._again = False
            self.reload()
