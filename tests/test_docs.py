"""
The documentation agrees with the commands: every option of C{twistd welcome}
and C{welcome-client} has exactly one reference table, and every option the
pages and the README show still exists.

The tables are made by the C{options-table} directive from the same
C{Options} classes these tests import, through the same reader
(C{docs/_ext/optionsreader.py}).
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from twisted.python import reflect, usage
from twisted.trial.unittest import TestCase

SERVER_OPTIONS = "welcome_protocol.tap.Options"
CLIENT_OPTIONS = "welcome_protocol.client.Options"
CHECK_OPTIONS = "welcome_protocol.client.checktcp.options.CheckTCPOptions"
"""
Where each command's options are defined: the argument of its
C{options-table} directive in C{docs/}.
"""

TWISTD_OPTIONS = "twisted.scripts.twistd.ServerOptions"
"""
twistd's own options (C{--nodaemon}, C{--pidfile}, ...), for this platform.
"""

COMMANDS = {
    "twistd welcome": SERVER_OPTIONS,
    "welcome-client": CLIENT_OPTIONS,
    "check_welcome": CHECK_OPTIONS,
}

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _loadReader() -> ModuleType:
    path = DOCS / "_ext" / "optionsreader.py"
    spec = importlib.util.spec_from_file_location("optionsreader", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


optionsreader = _loadReader()


def pages() -> list[Path]:
    """
    @return: Every Markdown page of the documentation, and the README.
    """
    found = [p for p in DOCS.rglob("*.md") if "_build" not in p.parts]
    return [*sorted(found), ROOT / "README.md"]


def optionNames(optionsClass: type[usage.Options]) -> set[str]:
    """
    @return: Every spelling C{optionsClass} accepts, long (C{port}) and short
        (C{p}), as Twisted's parser knows them.
    """
    return set(optionsClass().synonyms)


_TABLE_DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{options-table\}\s+(\S+)", re.M)


def tableDirectives(text: str) -> list[str]:
    """
    @return: The class paths of the C{options-table} directives in C{text}.
    """
    # An example of the directive, shown inside a longer fence, is not one.
    text = re.sub(r"^(`{4,})[^\n]*\n.*?^\1\s*$", "", text, flags=re.M | re.S)
    return [found.group(2) for found in _TABLE_DIRECTIVE.finditer(text)]


_FENCE = re.compile(r"^(`{3,}|~{3,})([^\n]*)\n(.*?)^\1\s*$", re.M | re.S)
_INLINE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_BARE_OPTION = re.compile(r"(--[a-z][a-z0-9_-]*)(?:[ =].*)?")
_OURS = {"twistd", "twist", "welcome-client", "check_welcome"}
_STOP = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>&1", "<<", "$"}


def _commandLines(text: str) -> Iterator[str]:
    """
    Everything that may be a command line: each line of a fenced block (with
    backslash continuations joined, a C{$ } prompt removed; in a C{console}
    block only the prompted lines, the others being output), and each inline
    code span outside fenced blocks.
    """
    for block in _FENCE.finditer(text):
        console = block.group(2).strip() == "console"
        body = block.group(3).replace("\\\n", " ")
        for line in body.splitlines():
            if console and not line.startswith("$ "):
                continue
            yield line.removeprefix("$ ")
    for span in _INLINE.finditer(_FENCE.sub("", text)):
        yield " ".join(span.group(2).split())


def _tokens(line: str) -> list[str]:
    line = re.sub(r"(^|\s)#.*$", "", line)
    try:
        return shlex.split(line)
    except ValueError:
        return line.split()


def _optionsIn(tokens: list[str]) -> Iterator[str]:
    """
    The option names in C{tokens}, up to the end of the command.
    """
    for token in tokens:
        if token in _STOP or token.startswith(("2>", ">")):
            return
        if token.startswith("--") and len(token) > 2:
            yield token[2:].split("=")[0]
        elif re.fullmatch(r"-[A-Za-z]", token):
            yield token[1:]


def shownOptions(text: str) -> Iterator[tuple[str, str]]:
    """
    The options C{text} shows, with the program they are shown for.

    @return: Pairs of program and option name, such as C{("twistd welcome",
        "port")}, C{("twistd", "nodaemon")}, C{("welcome-client", "p")};
        C{("", name)} for an option named alone in inline code, like
        C{`--idle-timeout SECONDS`}; C{("other", name)} for other programs'
        command lines.
    """
    for line in _commandLines(text):
        bare = _BARE_OPTION.fullmatch(line)
        if bare is not None:
            yield ("", bare.group(1)[2:])
            continue
        tokens = _tokens(line)
        names = [Path(token).name for token in tokens]
        if "welcome-client" in names or "welcome_protocol.client" in tokens:
            start = (
                names.index("welcome-client")
                if "welcome-client" in names
                else tokens.index("welcome_protocol.client")
            )
            for option in _optionsIn(tokens[start + 1 :]):
                yield ("welcome-client", option)
        elif "check_welcome" in names:
            start = names.index("check_welcome")
            for option in _optionsIn(tokens[start + 1 :]):
                yield ("check_welcome", option)
        elif ("twistd" in names or "twist" in names) and "welcome" in tokens:
            runner = names.index("twistd" if "twistd" in names else "twist")
            service = tokens.index("welcome", runner)
            for option in _optionsIn(tokens[runner + 1 : service]):
                yield ("twistd" if names[runner] == "twistd" else "twist", option)
            for option in _optionsIn(tokens[service + 1 :]):
                yield ("twistd welcome", option)
        elif tokens and re.fullmatch(r"[\w./-]+", tokens[0]) and names[0] not in _OURS:
            for option in _optionsIn(tokens[1:]):
                yield ("other", option)


def _scriptOptions() -> set[str]:
    """
    @return: The options of the benchmark and soak scripts (argparse), read
        from their source.
    """
    found = set()
    for script in (ROOT / "benchmarks").glob("*.py"):
        for node in ast.walk(ast.parse(script.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"
            ):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and str(arg.value).startswith(
                        "--"
                    ):
                        found.add(str(arg.value)[2:])
    return found


def unknownOptions(text: str, shownElsewhere: set[str]) -> list[str]:
    """
    @param text: A page.
    @param shownElsewhere: Options of other programs that the pages show in
        those programs' command lines.
    @return: Each option C{text} shows that its program does not have, as
        C{"PROGRAM --NAME"}.
    """
    server = optionNames(reflect.namedAny(SERVER_OPTIONS))
    client = optionNames(reflect.namedAny(CLIENT_OPTIONS))
    twistd = optionNames(reflect.namedAny(TWISTD_OPTIONS))
    check = optionNames(reflect.namedAny(CHECK_OPTIONS))
    known = {"twistd welcome": server, "welcome-client": client, "check_welcome": check}
    anyKnown = server | client | check | twistd | _scriptOptions() | shownElsewhere
    unknown = []
    for program, option in shownOptions(text):
        if program in known:
            ok = option in known[program]
        elif program in ("twistd", "twist"):
            # twist has options of its own; twistd's are checked.
            ok = program == "twist" or option in twistd
        elif program == "":
            ok = option in anyKnown
        else:
            continue
        if not ok:
            dashes = "-" if len(option) == 1 else "--"
            unknown.append(f"{program or 'option'} {dashes}{option}")
    return unknown


def otherProgramsOptions() -> set[str]:
    """
    @return: The options the pages show in command lines of other programs
        (C{pip}, C{systemd-socket-activate}, ...).
    """
    return {
        option
        for page in pages()
        for program, option in shownOptions(page.read_text("utf-8"))
        if program == "other"
    }


_ROW = re.compile(r"^\|(.*)\|\s*$", re.M)


def handWrittenTables(text: str, names: set[str]) -> int:
    """
    @return: How many Markdown tables in C{text} list options of a command
        whose options are C{names}: tables of two or more rows whose first
        cells all name one of them.
    """
    count = 0
    for table in re.split(r"\n(?!\|)", text):
        firstCells = [
            row.group(1).split("|")[0] for row in _ROW.finditer(table.strip())
        ][2:]
        options = [re.findall(r"`-{1,2}([A-Za-z][\w-]*)", cell) for cell in firstCells]
        if len(options) >= 2 and all(
            found and found[0] in names and all(o in names for o in found)
            for found in options
        ):
            count += 1
    return count


class OptionsReaderTests(TestCase):
    """
    The reader behind the reference tables sees every option the commands
    parse.
    """

    def test_everyOptionOnce(self) -> None:
        """
        Each option both commands accept has exactly one entry, under its
        long name, with its short form.
        """
        for path in COMMANDS.values():
            optionsClass = reflect.namedAny(path)
            instance = optionsClass()
            entries = optionsreader.readOptions(optionsClass)
            names = [entry.name for entry in entries]
            self.assertEqual(len(names), len(set(names)), path)
            self.assertEqual(set(names), set(instance.synonyms.values()), path)
            for short, long in instance.synonyms.items():
                if len(short) == 1 and short != long:
                    entry = entries[names.index(long)]
                    self.assertEqual(entry.short, short, (path, long))

    def test_serverEntries(self) -> None:
        """
        Parameters, flags and C{opt_} methods are all read, with the defaults
        C{--help} states.
        """
        entries = {
            entry.name: entry
            for entry in optionsreader.readOptions(reflect.namedAny(SERVER_OPTIONS))
        }
        self.assertEqual(
            (entries["port"].short, entries["port"].default), ("p", "12000")
        )
        self.assertTrue(entries["port"].takesValue)
        self.assertEqual(
            (entries["listen"].short, entries["listen"].default), ("l", "")
        )
        self.assertTrue(entries["listen"].takesValue)
        self.assertFalse(entries["keep-open"].takesValue)
        self.assertEqual(entries["idle-timeout"].default, "300")
        self.assertIn("version", entries)


class ReferenceTableTests(TestCase):
    """
    Each command's options have exactly one reference table in the docs.
    """

    def test_oneTablePerCommand(self) -> None:
        """
        Exactly one C{options-table} directive in C{docs/} names each
        command's C{Options} class, and no page has a hand-written table of
        a command's options besides.
        """
        directives = [
            path
            for page in pages()
            for path in tableDirectives(page.read_text("utf-8"))
        ]
        for program, path in COMMANDS.items():
            self.assertEqual(directives.count(path), 1, program)
            names = optionNames(reflect.namedAny(path))
            for page in pages():
                self.assertEqual(
                    handWrittenTables(page.read_text("utf-8"), names),
                    0,
                    f"{page.name} has a table of {program}'s options: use the "
                    "options-table directive's, or link to it",
                )

    def test_tableDirectivesFound(self) -> None:
        """
        The directive is recognised as the pages write it.
        """
        text = "x\n```{options-table} a.b.Options\n:program: a\n```\n"
        example = "````md\n```{options-table} c.d.Options\n```\n````\n"
        self.assertEqual(tableDirectives(text + example), ["a.b.Options"])

    def test_handWrittenTableFound(self) -> None:
        """
        A Markdown table listing a command's options counts as a second
        reference; a table of other things does not.
        """
        names = optionNames(reflect.namedAny(SERVER_OPTIONS))
        options = (
            "| option | default |\n|---|---|\n"
            "| `-p`, `--port N` | 12000 |\n| `--keep-open` | off |\n"
        )
        other = "| option | default |\n|---|---|\n| `--duration S` | 60 |\n" * 2
        self.assertEqual(handWrittenTables("text\n\n" + options, names), 1)
        self.assertEqual(handWrittenTables(other, names), 0)


class DocumentedOptionsTests(TestCase):
    """
    Every option the pages and the README show exists.
    """

    def test_everyShownOptionExists(self) -> None:
        """
        The options in command lines of C{twistd welcome}, C{welcome-client}
        and twistd, and options named alone in inline code, are all options
        of those commands (or of the benchmark and soak scripts).
        """
        elsewhere = otherProgramsOptions()
        for page in pages():
            self.assertEqual(
                unknownOptions(page.read_text("utf-8"), elsewhere),
                [],
                page.relative_to(ROOT),
            )

    def test_unknownOptionsFound(self) -> None:
        """
        An option that does not exist is reported, wherever it is shown.
        """
        text = (
            "```sh\ntwistd -n welcome --port 1 --no-such \\\n    --nor-this\n```\n"
            "Run `welcome-client --host h --gone`, or `twistd --bogus welcome`;"
            " see `--vanished SECONDS`.\n"
        )
        self.assertEqual(
            unknownOptions(text, set()),
            [
                "twistd welcome --no-such",
                "twistd welcome --nor-this",
                "welcome-client --gone",
                "twistd --bogus",
                "option --vanished",
            ],
        )

    def test_knownOptionsPass(self) -> None:
        """
        Options that exist pass: the service's after C{welcome}, twistd's
        before it, short forms, and other programs' options in their own
        command lines.
        """
        text = (
            "```console\n$ twistd -n --pidfile= welcome -p 1 --keep-open\n"
            "$ welcome-client -H h --timeout=3 >/dev/null\n"
            "$ pip install --config-settings x .\n```\n"
            "`--idle-timeout SECONDS`, `--duration`\n"
        )
        self.assertEqual(unknownOptions(text, set()), [])
