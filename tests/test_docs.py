"""
The documentation agrees with the code.

 - Every option of C{twistd welcome} and C{welcome-client} has exactly one
   reference table, and every option the pages and the README show still
   exists.  The tables are made by the C{options-table} directive from the
   same C{Options} classes these tests import, through the same reader
   (C{docs/_ext/optionsreader.py}).
 - The architecture page's diagrams and module tables are drawn from the
   source (C{docs/_ext/sourcetree.py}, C{docs/_ext/graphs.py}): the readers
   are tested here, the stages table is checked against the package, and
   the module tables together list every module once.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

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


def _loadExtension(name: str) -> ModuleType:
    """
    Load C{docs/_ext/NAME.py} as the module C{NAME}, as Sphinx does (the
    extensions import each other by those names).
    """
    if name in sys.modules:
        return sys.modules[name]
    path = DOCS / "_ext" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


optionsreader = _loadExtension("optionsreader")
# Neither needs Sphinx: these tests run wherever the suite does.
sourcetree = _loadExtension("sourcetree")
graphs = _loadExtension("graphs")


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


ARCHITECTURE = DOCS / "architecture.md"


def directiveBlocks(
    text: str, name: str
) -> list[tuple[str, dict[str, str], list[str]]]:
    """
    Find the MyST directives C{name} in C{text}.

    @return: For each, its argument, its options (C{:key: value} lines; a
        C{---} YAML block is skipped) and its content lines.
    """
    found = []
    # An example of a directive, shown inside a longer fence, is not one.
    text = re.sub(r"^(`{4,})[^\n]*\n.*?^\1\s*$", "", text, flags=re.M | re.S)
    fence = re.compile(
        r"^(?P<fence>`{3,}|:{3,})\{" + re.escape(name) + r"\}[ \t]*(?P<arg>[^\n]*)\n"
        r"(?P<body>.*?)^(?P=fence)[ \t]*$",
        re.M | re.S,
    )
    for block in fence.finditer(text):
        lines = block.group("body").splitlines()
        if lines and lines[0].strip() == "---":
            lines = lines[lines.index("---", 1) + 1 :]
        options = {}
        while lines and (option := re.match(r"^:([\w-]+):\s*(.*)$", lines[0])):
            options[option.group(1)] = option.group(2)
            lines = lines[1:]
        found.append((block.group("arg").strip(), options, lines))
    return found


def moduleTableCoverage(
    texts: list[str], modules: dict[str, object]
) -> tuple[list[str], list[str]]:
    """
    @param texts: The pages.
    @param modules: The package's modules by name.
    @return: The modules no C{module-table} directive lists, and those that
        more than one lists.
    """
    listed: list[str] = []
    for text in texts:
        for argument, options, _ in directiveBlocks(text, "module-table"):
            exclude = options.get("exclude", "").replace(",", " ").split()
            listed += [
                module.name
                for module in sourcetree.selectModules(
                    modules, argument or sourcetree.PACKAGE, exclude
                )
            ]
    missing = sorted(set(modules) - set(listed))
    twice = sorted({name for name in listed if listed.count(name) > 1})
    return missing, twice


def _scratch(case: TestCase) -> Path:
    """
    @return: A new empty directory, removed when C{case} ends (outside the
        working directory, where C{mktemp} would put it under pytest).
    """
    path = Path(tempfile.mkdtemp(prefix="welcome-docs-"))
    case.addCleanup(shutil.rmtree, path)
    return path


def _writeTree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")


class SourceTreeTests(TestCase):
    """
    The reader behind the architecture page finds the modules, their
    docstrings, their imports and the layers of C{setup.cfg}.
    """

    def test_modulesFound(self) -> None:
        """
        Every module and package of a package is found, by dotted name; a
        directory without C{__init__.py} is not a package of ours.
        """
        root = _scratch(self)
        _writeTree(
            root,
            {
                "pkg/__init__.py": "",
                "pkg/one.py": "",
                "pkg/sub/__init__.py": "",
                "pkg/sub/two.py": "",
                "pkg/data/three.py": "",
            },
        )
        modules = sourcetree.findModules(root, "pkg")
        self.assertEqual(list(modules), ["pkg", "pkg.one", "pkg.sub", "pkg.sub.two"])
        self.assertTrue(modules["pkg.sub"].isPackage)
        self.assertFalse(modules["pkg.sub.two"].isPackage)

    def test_importsResolved(self) -> None:
        """
        Absolute and relative imports, in a function or under
        C{TYPE_CHECKING} too, are resolved to the package's modules; C{from
        a import b} is C{a.b} when that is a module and C{a} otherwise.
        Other packages and the module itself are left out.
        """
        root = _scratch(self)
        _writeTree(
            root,
            {
                "pkg/__init__.py": "",
                "pkg/one.py": "X = 1\n",
                "pkg/sub/__init__.py": "from pkg.one import X\n",
                "pkg/sub/two.py": """
                    from typing import TYPE_CHECKING
                    import os
                    from . import three
                    from .. import one
                    from pkg.sub import two
                    if TYPE_CHECKING:
                        from pkg.sub import Y
                    def f():
                        import pkg.four
                    """,
                "pkg/sub/three.py": "",
                "pkg/four.py": "",
            },
        )
        modules = sourcetree.findModules(root, "pkg")
        graph = sourcetree.importGraph(modules)
        self.assertEqual(
            graph["pkg.sub.two"], {"pkg.sub.three", "pkg.one", "pkg.sub", "pkg.four"}
        )
        self.assertEqual(graph["pkg.sub"], {"pkg.one"})
        self.assertEqual(graph["pkg.one"], set())

    def test_firstLine(self) -> None:
        """
        A module's summary is the first sentence of its docstring, on one
        line, without epytext markup.
        """
        self.assertEqual(
            sourcetree.firstLine(
                "The C{--workers} pool: see\n  L{pool.WorkerPool}.  More.\n\nBody."
            ),
            "The --workers pool: see pool.WorkerPool.",
        )
        self.assertEqual(sourcetree.firstLine(""), "")

    def test_layersContract(self) -> None:
        """
        A C{layers} contract is read highest layer first, with independent
        (C{|}) and dependent (C{:}) siblings, optional layers and
        containers; other contracts are not layers.
        """
        setup = _scratch(self) / "setup.cfg"
        setup.write_text(
            "[importlinter]\nroot_package = p\n\n"
            "[importlinter:contract:other]\nname = Other\ntype = forbidden\n"
            "source_modules =\n    p.a\nforbidden_modules =\n    p.c\n    p.e\n\n"
            "[importlinter:contract:mine]\nname = Mine\ntype = layers\n"
            "containers = p\nlayers =\n    a | b\n    c : (d)\n    e\n",
            "utf-8",
        )
        [contract] = sourcetree.layersContracts(setup)
        self.assertEqual((contract.key, contract.name), ("mine", "Mine"))
        self.assertEqual(
            [(layer.members, layer.independent) for layer in contract.layers],
            [(("p.a", "p.b"), True), (("p.c", "p.d"), False), (("p.e",), True)],
        )
        self.assertEqual(contract.owner("p.a.x.y"), "p.a")
        self.assertIsNone(contract.owner("p.f"))
        self.assertEqual(contract.level("p.d"), 1)
        [rule] = sourcetree.forbiddenContracts(setup)
        self.assertEqual(
            (rule.key, rule.name, rule.sources, rule.forbidden),
            ("other", "Other", ("p.a",), ("p.c", "p.e")),
        )
        self.assertTrue(rule.forbids("p.a.x", "p.e"))
        self.assertTrue(rule.forbids("p.a", "p.c.y"))
        self.assertFalse(rule.forbids("p.b", "p.c"))
        self.assertFalse(rule.forbids("p.a", "p.cc"))

    def test_pageDrawsAContract(self) -> None:
        """
        The architecture page's C{layers-diagram} names a C{layers} contract
        of C{setup.cfg}.
        """
        keys = [contract.key for contract in sourcetree.layersContracts()]
        [(argument, _, _)] = directiveBlocks(
            ARCHITECTURE.read_text("utf-8"), "layers-diagram"
        )
        self.assertIn(argument, keys)


def _contract() -> object:
    layer = sourcetree.Layer
    return sourcetree.LayersContract(
        "k",
        "K",
        (
            layer(("p.top",)),
            layer(("p.a", "p.b")),
            layer(("p.c", "p.d"), False),
            layer(("p.low",)),
        ),
    )


class LayersDiagramTests(TestCase):
    """
    The layers diagram draws every member of the contract and every import
    between them, and marks the ones the contract forbids.
    """

    graph = {
        "p.top": {"p.a.x", "p.low"},
        "p.a.x": {"p.low", "p.top"},
        "p.a": set(),
        "p.b": {"p.a.x"},
        "p.c": {"p.d"},
        "p.d": {"p.c"},
        "p.low": set(),
        "p.loose": {"p.top"},
    }

    def test_edgesFolded(self) -> None:
        """
        Module imports are folded onto the contract's members, counted; a
        module in no layer is a node of its own.
        """
        members, edges = graphs.packageEdges(_contract(), self.graph)
        self.assertEqual(members["p.a"], {"p.a", "p.a.x"})
        self.assertEqual(members["p.loose"], {"p.loose"})
        self.assertEqual(edges[("p.top", "p.a")], 1)
        self.assertEqual(edges[("p.loose", "p.top")], 1)
        self.assertNotIn(("p.a", "p.a"), edges)

    def test_edgeKinds(self) -> None:
        """
        Down is allowed; up, and between independent siblings, is not;
        dependent siblings may import each other; an import a C{forbidden}
        contract forbids is not allowed, even down.
        """
        contract = _contract()
        kinds = {
            (s, d): graphs.edgeKind(contract, s, d)
            for s, d in [
                ("p.top", "p.a"),
                ("p.a", "p.top"),
                ("p.b", "p.a"),
                ("p.c", "p.d"),
                ("p.loose", "p.top"),
            ]
        }
        self.assertEqual(
            kinds,
            {
                ("p.top", "p.a"): "down",
                ("p.a", "p.top"): "up",
                ("p.b", "p.a"): "up",
                ("p.c", "p.d"): "down",
                ("p.loose", "p.top"): "outside",
            },
        )
        rule = sourcetree.ForbiddenContract("f", "F", ("p.top",), ("p.a",))
        self.assertEqual(graphs.edgeKind(contract, "p.top", "p.a", [rule]), "up")
        self.assertEqual(graphs.edgeKind(contract, "p.top", "p.b", [rule]), "down")

    def test_dot(self) -> None:
        """
        The Graphviz source has a node per member, red arrows for the
        forbidden imports, none drawn into the lowest layer (they are
        counted there), and C{dot} accepts it.
        """
        source = graphs.layersDot(_contract(), self.graph)
        for member in ["p.top", "p.a", "p.b", "p.c", "p.d", "p.low", "p.loose"]:
            self.assertIn(f'"{member}" [label=', source)
        red = re.findall(r'"([\w.]+)" -> "([\w.]+)" \[[^\]]*#d62728', source)
        self.assertEqual(sorted(red), [("p.a", "p.top"), ("p.b", "p.a")])
        self.assertNotIn('-> "p.low" [tooltip', source)
        self.assertIn("imported by 2 packages", source)
        if shutil.which("dot") is None:
            return
        drawn = subprocess.run(
            ["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=False
        )
        self.assertEqual((drawn.returncode, drawn.stderr), (0, ""))


class ConnectionPathTests(TestCase):
    """
    The stages table on the architecture page names only modules that
    exist, and its diagram puts the same stage of two paths side by side.
    """

    def pageStages(self) -> list[Any]:
        """
        @return: The stages of the architecture page's table
            (L{graphs.Stage}s, which mypy cannot see in a module loaded from
            a path).
        """
        [(_, _, content)] = directiveBlocks(
            ARCHITECTURE.read_text("utf-8"), "connection-path"
        )
        stages: list[Any] = graphs.readStages(content)
        return stages

    def test_pageNamesExistingModules(self) -> None:
        """
        Every module the page's table names is a module of the package, and
        the table has both paths.
        """
        stages = self.pageStages()
        self.assertEqual(
            graphs.missingModules(stages, set(sourcetree.findModules())), []
        )
        self.assertEqual(
            list(dict.fromkeys(stage.path for stage in stages)),
            ["connection", "datagram"],
        )

    def test_missingModuleFound(self) -> None:
        """
        A module that does not exist is reported, written with or without
        the package's name.
        """
        stages = graphs.readStages(
            [
                "connection | accept | listening.builder welcome_protocol.no.such",
                "connection | admission | admission.gone",
            ]
        )
        self.assertEqual(
            graphs.missingModules(stages, set(sourcetree.findModules())),
            ["no.such", "admission.gone"],
        )

    def test_badLine(self) -> None:
        """
        A line that is not C{PATH | STAGE | MODULE...} is an error.
        """
        self.assertRaises(graphs.TableError, graphs.readStages, ["a | b"])
        self.assertRaises(graphs.TableError, graphs.readStages, ["a | b | "])

    def test_sameStageSideBySide(self) -> None:
        """
        Stages of the same name on two paths share a rank; each path's
        stages follow each other.
        """
        stages = graphs.readStages(
            ["c | accept | x", "c | welcome | y", "d | accept | z", "d | welcome | w"]
        )
        source = graphs.pathDot(stages)
        self.assertIn("{ rank=same; stage0; stage2; }", source)
        self.assertIn("stage0 -> stage1;", source)
        self.assertIn("stage2 -> stage3;", source)
        self.assertNotIn("stage1 -> stage2;", source)


class ModuleTableTests(TestCase):
    """
    The module tables list every module of the package once, each with a
    docstring to show.
    """

    def test_everyModuleOnce(self) -> None:
        """
        The C{module-table} directives of the pages together list every
        module and package of C{welcome_protocol}, none twice.
        """
        modules = sourcetree.findModules()
        texts = [page.read_text("utf-8") for page in pages()]
        self.assertEqual(moduleTableCoverage(texts, modules), ([], []))

    def test_coverageChecked(self) -> None:
        """
        A module no table lists, and one two tables list, are reported.
        """
        modules = sourcetree.findModules()
        text = (
            "```{module-table} welcome_protocol\n"
            ":exclude: welcome_protocol.client welcome_protocol.udp\n```\n"
            "```{module-table} welcome_protocol.client\n```\n"
            "```{module-table} welcome_protocol.client.scan\n```\n"
            "````md\n```{module-table} welcome_protocol.greeting\n```\n````\n"
        )
        missing, twice = moduleTableCoverage([text], modules)
        self.assertIn("welcome_protocol.udp.protocol", missing)
        self.assertNotIn("welcome_protocol.greeting.server", missing)
        self.assertIn("welcome_protocol.client.scan.plan", twice)
        self.assertNotIn("welcome_protocol.client.probe", twice)
        self.assertNotIn("welcome_protocol.greeting.server", twice)

    def test_everyModuleSummarised(self) -> None:
        """
        Every module has a docstring whose first sentence the table shows.
        """
        empty = [
            name
            for name, module in sourcetree.findModules().items()
            if not module.summary()
        ]
        self.assertEqual(empty, [])


class DashboardPictureTests(TestCase):
    """
    The monitoring page's picture of the dashboard is drawn from
    C{contrib/grafana/welcome.json} (C{docs/_ext/graphs.py}).
    """

    def test_everyPanelInItsRow(self) -> None:
        """
        Every panel of the shipped dashboard is in the picture, in the row
        of its C{gridPos.y}, left to right, as wide as its share of the
        grid, with its queries' legends.
        """
        dashboard = json.loads(
            (ROOT / "contrib" / "grafana" / "welcome.json").read_text()
        )
        rows = graphs.dashboardPanels(dashboard)
        self.assertEqual(sum(len(row) for row in rows), len(dashboard["panels"]))
        for row in rows:
            self.assertEqual(len({p["gridPos"]["y"] for p in row}), 1)
            xs = [p["gridPos"]["x"] for p in row]
            self.assertEqual(xs, sorted(xs))
        dot = graphs.dashboardDot(dashboard)
        for panel in dashboard["panels"]:
            self.assertIn(
                f'<TD COLSPAN="{panel["gridPos"]["w"]}" BORDER="1" STYLE="rounded" '
                f'BGCOLOR="#f2f2f2"><B>{panel["title"]}</B>',
                dot,
            )
        self.assertIn("per instance", dot)
        self.assertNotIn("{{", dot)

    def test_pageDrawsIt(self) -> None:
        """
        docs/monitoring.md draws the shipped dashboard.
        """
        self.assertIn(
            "```{dashboard-picture} ../contrib/grafana/welcome.json",
            (DOCS / "monitoring.md").read_text(),
        )


class FloodFigureTests(TestCase):
    """
    The UDP page's picture of the flood is drawn from its own table of
    measured figures (C{docs/_ext/graphs.py}).
    """

    def test_tableRead(self) -> None:
        """
        The page's table is read by its headers, one row per probe size.
        """
        rows = graphs.markdownTable((DOCS / "udp.md").read_text(), "probe size")
        self.assertEqual([r["probe size"] for r in rows], ["1,200 bytes", "64 bytes"])
        self.assertRaises(LookupError, graphs.markdownTable, "| a |\n|--|\n", "b")

    def test_everyDatagramAccounted(self) -> None:
        """
        For each row, the picture shows the datagrams read and those the
        kernel dropped (sent less read), and the read ones answered or
        rate limited, which add up to those read.
        """
        rows = graphs.markdownTable((DOCS / "udp.md").read_text(), "probe size")
        dot = graphs.floodDot(rows)
        for i, row in enumerate(rows):
            sent, read, answered, limited = (
                int(row[k].replace(",", ""))
                for k in (
                    "datagrams sent",
                    "received by the service",
                    "answered",
                    "rate limited",
                )
            )
            self.assertEqual(answered + limited, read)
            self.assertIn(f'sent{i} -> dropped{i} [label="{sent - read:,}"', dot)
            self.assertIn(f'sent{i} -> received{i} [label="{read:,}"', dot)
            self.assertIn(f'received{i} -> answered{i} [label="{answered:,}"', dot)
            self.assertIn(f'received{i} -> limited{i} [label="{limited:,}"', dot)
            self.assertIn(f"{sent:,} datagrams", dot)

    def test_pageDrawsIt(self) -> None:
        """
        docs/udp.md draws its table.
        """
        self.assertIn("```{flood-figure} probe size", (DOCS / "udp.md").read_text())
