# -*- test-case-name: tests.test_client_expectations -*-
"""
What the welcome must contain: C{--expect} texts and C{--expect-regex}
patterns, and the short, escaped excerpt shown when it does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

EXCERPT_LENGTH = 60
"""
The most characters of a welcome quoted in a one-line message.
"""


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """
    Quote C{text} so it is safe on a terminal and in one line.

    Control characters (newlines, escape sequences, bidirectional overrides)
    are shown escaped, as Python's C{repr} does; a long text is cut, with
    C{...} after the closing quote.  The pipe, which separates a Nagios
    plugin's text from its performance data, is escaped too.

    @param text: The decoded welcome.
    @param limit: The most characters of C{text} kept.
    @return: For example C{'Service Unavailable\\n'}.
    """
    quoted = repr(text[:limit]).replace("|", "\\x7c")
    return quoted + ("..." if len(text) > limit else "")


def bannerText(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """
    The welcome as C{check_tcp} shows it in brackets: trailing white space
    dropped, escaped like L{excerpt} but without the quotes.
    """
    stripped = text.rstrip()
    quoted = repr(stripped[:limit])[1:-1].replace("|", "\\x7c")
    return quoted + ("..." if len(stripped) > limit else "")


@attrs.frozen
class Expectations:
    """
    Everything a welcome must contain (C{check_tcp -A}: all must match).

    @ivar texts: Substrings that must all appear.
    @ivar patterns: Compiled regular expressions that must all be found
        (C{re.search}) in the decoded welcome.
    """

    texts: Sequence[str] = ()
    patterns: Sequence[re.Pattern[str]] = ()

    @classmethod
    def fromOptions(cls, texts: Sequence[str], patterns: Sequence[str]) -> Expectations:
        """
        Build expectations from the command line's strings.

        @raise ValueError: For a pattern that is not a valid regular
            expression, naming it and the reason.
        """
        compiled = []
        for pattern in patterns:
            try:
                compiled.append(re.compile(pattern))
            except re.error as e:
                raise ValueError(
                    f"{pattern!r} is not a valid regular expression: {e}"
                ) from None
        return cls(tuple(texts), tuple(compiled))

    @property
    def any(self) -> bool:
        """
        Whether anything is expected at all.
        """
        return bool(self.texts or self.patterns)

    def met(self, welcome: str) -> bool:
        """
        @param welcome: The decoded welcome.
        @return: Whether every text appears and every pattern is found.
        """
        return all(text in welcome for text in self.texts) and all(
            pattern.search(welcome) for pattern in self.patterns
        )
