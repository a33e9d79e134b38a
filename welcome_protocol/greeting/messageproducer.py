# -*- test-case-name: tests.test_messageproducer -*-
"""
Send one shared message to a connection a chunk at a time, as it drains.

Writing a long message in one C{transport.write} makes Twisted join it into
the connection's own buffer: a full copy per connection, held for as long
as the client does not read.  A thousand clients that never read a 1 MB
welcome would cost a gigabyte.  A pull producer instead hands the transport
one chunk whenever its buffer has drained, so a connection holds at most one
chunk besides the kernel's socket buffer, and every connection slices the
same message bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IConsumer, IPullProducer
from zope.interface import implementer

CHUNK_SIZE = 16384


@implementer(IPullProducer)
class MessageProducer:
    """
    Write C{message} to C{consumer} in chunks, when the consumer asks.

    Register it as a pull producer (C{streaming=False}); the transport then
    calls L{resumeProducing} each time its buffer is empty.  Once the last
    chunk is written, it unregisters itself and calls C{onFinished}.

    @ivar sent: How many bytes of the message have been written.
    """

    def __init__(
        self,
        message: bytes,
        consumer: IConsumer,
        onProgress: Callable[[int], object],
        onFinished: Callable[[], object],
        chunkSize: int = CHUNK_SIZE,
    ) -> None:
        """
        @param message: The bytes to send; shared, never copied whole.
        @param consumer: The transport.
        @param onProgress: Called with the size of each chunk written.
        @param onFinished: Called once the whole message has been written.
        @param chunkSize: The most bytes handed over at a time.
        """
        self._message = memoryview(message)
        self._consumer = consumer
        self._onProgress = onProgress
        self._onFinished = onFinished
        self._chunkSize = chunkSize
        self.sent = 0
        self._stopped = False

    def resumeProducing(self) -> None:
        """
        Write the next chunk; after the last one, unregister and finish.
        """
        if self._stopped:
            return
        end = min(self.sent + self._chunkSize, len(self._message))
        # bytes() copies one chunk: every transport (TLS included) takes
        # bytes, and the transport would copy a memoryview into its buffer.
        chunk = bytes(self._message[self.sent : end])
        self.sent = end
        self._consumer.write(chunk)
        self._onProgress(len(chunk))
        if end == len(self._message):
            self._stopped = True
            self._consumer.unregisterProducer()
            self._onFinished()

    def stopProducing(self) -> None:
        """
        Write nothing more: the connection is gone.
        """
        self._stopped = True
