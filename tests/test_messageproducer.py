"""
Tests for L{welcome_protocol.greeting.messageproducer}.
"""

from __future__ import annotations

from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from welcome_protocol.greeting.messageproducer import MessageProducer


class MessageProducerTests(TestCase):
    """
    L{MessageProducer} writes a shared message a chunk per request.
    """

    def test_chunksThenUnregisters(self) -> None:
        """
        Each C{resumeProducing} writes one chunk; after the last the
        producer unregisters and reports the end, and progress adds up.
        """
        transport = StringTransport()
        progress: list[int] = []
        finished: list[bool] = []
        producer = MessageProducer(
            b"abcdefghij", transport, progress.append, lambda: finished.append(True), 4
        )
        transport.registerProducer(producer, False)
        producer.resumeProducing()
        self.assertEqual(transport.value(), b"abcd")
        producer.resumeProducing()
        producer.resumeProducing()
        self.assertEqual(transport.value(), b"abcdefghij")
        self.assertEqual(progress, [4, 4, 2])
        self.assertEqual(finished, [True])
        self.assertIsNone(transport.producer)
        producer.resumeProducing()
        self.assertEqual(transport.value(), b"abcdefghij")

    def test_stopProducing(self) -> None:
        """
        After C{stopProducing} nothing more is written.
        """
        transport = StringTransport()
        producer = MessageProducer(
            b"abcdefgh", transport, lambda n: None, lambda: None, 4
        )
        producer.resumeProducing()
        producer.stopProducing()
        producer.resumeProducing()
        self.assertEqual(transport.value(), b"abcd")

    def test_messageIsShared(self) -> None:
        """
        Producers keep a view of the message, not copies of it.
        """
        message = b"x" * 100000
        producers = [
            MessageProducer(message, StringTransport(), lambda n: None, lambda: None)
            for _ in range(3)
        ]
        for producer in producers:
            self.assertIs(producer._message.obj, message)
