"""
Read the options a L{twisted.python.usage.Options} subclass parses, as the
C{options-table} directive shows them and C{tests/test_docs.py} checks them.

Kept free of Sphinx, so that the tests can use it without the docs extra.
"""

from __future__ import annotations

import inspect
import re

import attrs
from twisted.python import usage

_DEFAULT_MARK = re.compile(r"\s*([\[(])default: ")
"""
Where a help text states a default, as options whose real default is computed
later (C{None} in C{optParameters}) do: C{[default: 12000]}.
"""

_CLOSING = {"[": "]", "(": ")"}


def _splitDefault(helpText: str) -> tuple[str, str | None]:
    """
    Take a default stated in a help text out of it.

    @return: The help text without the default, and the default or L{None}.
    """
    found = _DEFAULT_MARK.search(helpText)
    if found is None:
        return helpText, None
    opening = found.group(1)
    depth, end = 1, found.end()
    while end < len(helpText) and depth:
        char = helpText[end]
        depth += char == opening
        depth -= char == _CLOSING[opening]
        end += 1
    if depth:
        return helpText, None
    default = helpText[found.end() : end - 1]
    rest = (helpText[: found.start()] + helpText[end:]).strip()
    return (rest if rest.endswith(".") else rest.rstrip(".") + "."), default


@attrs.frozen
class OptionEntry:
    """
    One option of a command, as its reference table shows it.

    @ivar name: The long name, without dashes (C{idle-timeout}).
    @ivar short: The one-letter form, or C{None}.
    @ivar takesValue: Whether the option is followed by a value.
    @ivar default: The default as text, or C{""} when there is none.
    @ivar help: What the option does, in one paragraph.
    """

    name: str
    short: str | None
    takesValue: bool
    default: str
    help: str

    @property
    def usage(self) -> str:
        """
        @return: The option as typed, e.g. C{--port=VALUE} or C{--keep-open}.
        """
        return f"--{self.name}=VALUE" if self.takesValue else f"--{self.name}"


def _oneParagraph(text: str | None) -> str:
    return " ".join(inspect.cleandoc(text or "").split())


def readOptions(optionsClass: type[usage.Options]) -> list[OptionEntry]:
    """
    Read every option an L{usage.Options} subclass parses, as Twisted's own
    parser gathers them.

    @param optionsClass: The class, e.g. C{welcome_protocol.tap.Options}.
    @return: One entry per option, in the order C{--help} lists them.
    """
    options = optionsClass()
    takesValue = {long.rstrip("=") for long in options.longOpt if long.endswith("=")}
    names = list(dict.fromkeys(long.rstrip("=") for long in options.longOpt))
    canonical = [name for name in names if options.synonyms.get(name, name) == name]
    shorts = {
        options.synonyms[short]: short
        for short in options.synonyms
        if len(short) == 1 and options.synonyms[short] != short
    }
    entries = []
    for name in canonical:
        helpText = _oneParagraph(options.docs.get(name))
        default = options.defaults.get(name)
        if default is None:
            helpText, default = _splitDefault(helpText)
        if name in options.defaults and name not in takesValue:
            default = None  # a flag's 0 means "off": say nothing
        entries.append(
            OptionEntry(
                name=name,
                short=shorts.get(name),
                takesValue=name in takesValue,
                default="" if default is None else str(default),
                help=helpText,
            )
        )
    return sorted(entries, key=lambda entry: _order(options, canonical, entry))


def _order(
    options: usage.Options, names: list[str], entry: OptionEntry
) -> tuple[int, int, str]:
    """
    Sort parameters, then flags, as declared; then options with their own
    C{opt_} methods; C{--help} and C{--version} last.
    """
    if entry.name in ("help", "version"):
        return (3, 0, entry.name)
    if entry.name not in options.defaults:
        return (2, 0, entry.name)
    return (0 if entry.takesValue else 1, names.index(entry.name), "")
