"""
Tests for L{welcome_protocol.udp.sizerule}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.trial.unittest import TestCase

from welcome_protocol.greeting.message import parseMessage
from welcome_protocol.udp.sizerule import mayAnswer, smallestWelcome


class MayAnswerTests(TestCase):
    """
    L{mayAnswer} allows only replies smaller than their datagram.
    """

    def test_smallerAnswered(self) -> None:
        """
        A reply a byte smaller than its datagram may go.
        """
        self.assertTrue(mayAnswer(8, 9))
        self.assertTrue(mayAnswer(8, 1200))

    def test_equalNotAnswered(self) -> None:
        """
        A reply as large as its datagram may not: one for one would still
        launder a spoofer's traffic, and let two such services loop.
        """
        self.assertFalse(mayAnswer(8, 8))

    def test_largerNotAnswered(self) -> None:
        """
        A reply larger than its datagram may not go: that is amplification.
        """
        self.assertFalse(mayAnswer(8, 1))
        self.assertFalse(mayAnswer(8, 0))


class SmallestWelcomeTests(TestCase):
    """
    L{smallestWelcome} bounds a template's rendered size from below.
    """

    def test_literalTextOnly(self) -> None:
        """
        The bound is the size of the literal text, encoded.
        """
        template = parseMessage("Hi {peer_host} ü\n", "utf-8", "--message")
        self.assertEqual(smallestWelcome(template), len("Hi  ü\n".encode()))

    def test_boundHoldsForEveryRendering(self) -> None:
        """
        No rendering is smaller than the bound, even with empty values.
        """
        template = parseMessage("{peer_host}:{peer_port} at {time}", "utf-8", "x")
        rendered = template.render(
            IPv4Address("UDP", "1.2.3.4", 5), IPv4Address("UDP", "5.6.7.8", 9), 0.0
        )
        self.assertLessEqual(smallestWelcome(template), len(rendered))
