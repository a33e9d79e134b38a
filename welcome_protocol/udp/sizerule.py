# -*- test-case-name: tests.test_udp_sizerule -*-
"""
The size rule: a reply is always smaller than the datagram it answers.

A reflection attack pays off when the reply is larger than the request
(US-CERT TA14-017A: 140 times for QOTD, 557 for NTP's monlist).  Here a
datagram not larger than the welcome gets no reply at all, rather than the
welcome cut to its size:

  - a cut welcome is not the welcome: a client checking it (C{--expect})
    would blame the server for a mismatch it did not make;
  - even a reply of equal size lets a spoofer launder traffic through this
    service at no cost, one datagram for one;
  - strictly smaller, not merely no larger: two services that follow the
    rule cannot keep a loop going between them (a datagram forged from one
    to the other), since each hop shrinks the datagram, and the first
    reply, the welcome itself, is never larger than the welcome.

The client pads its probe (to 1,200 bytes by default, as QUIC clients pad
their first datagram), so it never meets the rule.
"""

from __future__ import annotations

from welcome_protocol.greeting.message import Message


def mayAnswer(replySize: int, datagramSize: int) -> bool:
    """
    @param replySize: The bytes the reply would carry.
    @param datagramSize: The bytes the datagram it answers carried.
    @return: Whether the reply is smaller than the datagram.
    """
    return replySize < datagramSize


def smallestWelcome(template: Message) -> int:
    """
    The fewest bytes C{template} can render to: its literal text alone.

    A datagram no larger than this is too small whatever the placeholders
    become, so it is turned away without rendering the template or taking
    a token from the rate limiter.

    @param template: A message with placeholders.
    @return: A lower bound of the size of every welcome it renders.
    """
    literal = "".join(text for text, _ in template.parts)
    return len(literal.encode(template.encoding, "replace"))
