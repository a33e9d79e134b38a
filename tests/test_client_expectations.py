"""
Tests for L{welcome_protocol.client.expectations}.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from welcome_protocol.client.expectations import Expectations, bannerText, excerpt


class ExpectationsTests(TestCase):
    """
    Every text must appear and every pattern be found.
    """

    def test_nothingExpectedAlwaysMet(self) -> None:
        """
        Without expectations any welcome passes, and C{any} says so.
        """
        expectations = Expectations.fromOptions([], [])
        self.assertFalse(expectations.any)
        self.assertTrue(expectations.met("anything"))

    def test_allTextsMustAppear(self) -> None:
        """
        Two texts: both must be in the welcome (C{check_tcp -A}).
        """
        expectations = Expectations.fromOptions(["Wel", "come"], [])
        self.assertTrue(expectations.met("Welcome!"))
        self.assertFalse(expectations.met("Well"))

    def test_patternsSearched(self) -> None:
        """
        A pattern is searched anywhere in the welcome, not only at its start.
        """
        expectations = Expectations.fromOptions([], [r"v\d+\.\d+"])
        self.assertTrue(expectations.met("Welcome to v1.2"))
        self.assertFalse(expectations.met("Welcome to v1"))

    def test_textsAndPatternsTogether(self) -> None:
        """
        Texts and patterns combine: all of them must hold.
        """
        expectations = Expectations.fromOptions(["Welcome"], ["!$"])
        self.assertTrue(expectations.met("Welcome!"))
        self.assertFalse(expectations.met("Welcome."))

    def test_badPattern(self) -> None:
        """
        A pattern that does not compile raises L{ValueError} naming it.
        """
        e = self.assertRaises(ValueError, Expectations.fromOptions, [], ["("])
        self.assertIn("'(' is not a valid regular expression", str(e))


class ExcerptTests(TestCase):
    """
    Welcomes quoted in messages are short, escaped and on one line.
    """

    def test_controlCharactersEscaped(self) -> None:
        """
        Newlines, escape sequences and bidirectional overrides are escaped.
        """
        self.assertEqual(excerpt("Service Unavailable\n"), "'Service Unavailable\\n'")
        self.assertEqual(excerpt("\x1b[2J\u202e"), "'\\x1b[2J\\u202e'")

    def test_longTextCut(self) -> None:
        """
        Only the first characters are kept, followed by C{...}.
        """
        self.assertEqual(excerpt("x" * 100, limit=5), "'xxxxx'...")

    def test_pipeEscaped(self) -> None:
        """
        A pipe would start a Nagios plugin's performance data: escaped.
        """
        self.assertEqual(excerpt("a|b"), "'a\\x7cb'")
        self.assertEqual(bannerText("a|b\r\n"), "a\\x7cb")

    def test_bannerWithoutQuotesOrTrailingSpace(self) -> None:
        """
        The banner C{check_tcp} shows in brackets: no quotes, no final
        newline.
        """
        self.assertEqual(bannerText("Welcome!\n"), "Welcome!")
        self.assertEqual(bannerText("two\nlines\n"), "two\\nlines")
