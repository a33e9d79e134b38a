"""
The guide's shell examples, read from its Markdown source, and the rule by
which what a command printed is compared with what the guide shows.

An example is a fenced block (C{console}, C{text} or no language, at any
indentation, as in a list) with lines C{$ COMMAND}, each followed by the
output the guide shows for it.  A block with no output shown is a
command to copy, not an example, and is not run.  The HTML comments just
above a block's fence say how to run it; they are hidden in the built page:

 - C{<!-- example: not-in-ci REASON -->}: it needs what CI does not have
   (another host, Kubernetes, root); it is not run, and the test counts
   these marks, so that none is added silently.
 - C{<!-- example: server ARGS -->}: C{twistd -n welcome ARGS} runs on
   loopback while the block runs (ARGS as the shell reads them).
 - C{<!-- example: file PATH WORD -->}: the file PATH holds WORD's bytes
   (a shell word, such as C{$'Caf\\xe9\\n'}); PATH is made in the example's
   scratch directory, and written as the guide writes it in the output.
 - C{<!-- example: interrupt LINES -->}: a command that runs until Ctrl-C
   (the guide shows C{^C}) gets SIGINT once it has printed LINES lines.

A command goes on over the lines that start with C{> } after it, as in the
shell.

The normalisation rule: what must differ between the guide and a run is
written in one form on both sides before they are compared.

 - Ports from 10000 to 29999 in the commands and marks are moved onto free
   loopback ports (those within 100 of each other together, so that ranges
   stay ranges), and written back as the guide's in the output.
 - The directory of the installed programs is dropped (C{twistd -n:}, not
   C{/path/to/bin/twistd -n:}); C{.venv/bin/PROGRAM} runs the installed
   program, and C{. .venv/bin/activate} is what the run's C{PATH} already
   is.
 - This host's name is written C{vm}, as the guide writes it.
 - Durations (C{1.2 ms}, C{2.00 s}) and UTC times are written C{<time>},
   and every other number with a decimal point or an exponent (a JSON
   C{"seconds"}, a
   perfdata C{time=0.0018s}, C{0.0%}) C{<n>}: their shape is compared, not
   their value.
 - C{^C} in the guide's output is where the user pressed Ctrl-C: the
   terminal shows it on the empty line the program starts its summary with.
 - Spaces that align columns are compared as two: the widths of the
   columns follow the durations in them.
 - A line of the guide's output that starts and ends with C{...} (such as
   C{...twistd's usage text...}) stands for any lines, or none.
"""

from __future__ import annotations

import re
from pathlib import Path

from attrs import frozen

_FENCE = re.compile(r"^( *)```([^\n`]*)\n(.*?)^\1```[ \t]*$", re.M | re.S)
_SHELL = {"console", "text", ""}
_MARK = re.compile(r"<!--\s*example:\s*(\S+)\s*(.*?)\s*-->", re.S)
_DURATION = re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b")
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
)
_DECIMAL = re.compile(r"(?<![\w.])\d+(?:\.\d+(?:e[-+]?\d+)?|e[-+]?\d+)(?![\w.])")
_COLUMNS = re.compile(r"(?<=\S) {2,}")
_DOC_PORT = re.compile(r"(?<![\d.])([12]\d{4})(?![\d.])")
HOSTNAME = "vm"
"""
The host name the guide's examples show.
"""


@frozen
class Step:
    """
    One command of an example and the output the guide shows for it.

    @ivar command: What follows C{$ }.
    @ivar output: The lines shown after it, up to the next command.
    """

    command: str
    output: tuple[str, ...]


@frozen
class Example:
    """
    A C{console} block whose output is shown.

    @ivar page: The file, relative to the repository.
    @ivar line: The line of its fence.
    @ivar steps: Its commands and their output.
    @ivar marks: Its marks: (kind, the rest of the comment).
    """

    page: str
    line: int
    steps: tuple[Step, ...]
    marks: tuple[tuple[str, str], ...]

    def mark(self, kind: str) -> list[str]:
        """
        @return: The text of each mark of C{kind}.
        """
        return [rest for k, rest in self.marks if k == kind]

    def where(self) -> str:
        """
        @return: C{page:line}, to name it in a failure.
        """
        return f"{self.page}:{self.line}"


def _marksBefore(text: str, start: int) -> tuple[tuple[str, str], ...]:
    """
    @return: The marks in the HTML comments right above offset C{start}
        (only blank lines and comments between them and the fence).
    """
    before = text[:start]
    marks: list[tuple[str, str]] = []
    while True:
        stripped = before.rstrip()
        if not stripped.endswith("-->"):
            break
        opening = stripped.rfind("<!--")
        comment = stripped[opening:]
        found = _MARK.fullmatch(comment)
        if found is None:
            break
        marks.insert(0, (found.group(1), found.group(2)))
        before = stripped[:opening]
    return tuple(marks)


def examples(path: Path, root: Path) -> list[Example]:
    """
    Read the examples of one Markdown page.

    @param path: The page.
    @param root: The repository, to name the page relative to it.
    """
    text = path.read_text()
    found = []
    for block in _FENCE.finditer(text):
        if block.group(2).strip() not in _SHELL:
            continue
        steps: list[Step] = []
        indent = len(block.group(1))
        for line in (line[indent:] for line in block.group(3).splitlines()):
            if line.startswith("$ "):
                steps.append(Step(line[2:], ()))
            elif line.startswith("> ") and steps and not steps[-1].output:
                steps[-1] = Step(f"{steps[-1].command}\n{line[2:]}", ())
            elif line == "^C" and steps:
                # The terminal shows ^C on the line the program ends.
                last = steps[-1]
                steps[-1] = Step(last.command, (*last.output, ""))
            elif steps:
                last = steps[-1]
                steps[-1] = Step(last.command, (*last.output, line))
        if not any(step.output for step in steps):
            continue
        found.append(
            Example(
                page=str(path.relative_to(root)),
                line=text.count("\n", 0, block.start()) + 1,
                steps=tuple(steps),
                marks=_marksBefore(text, block.start()),
            )
        )
    return found


def docPorts(texts: list[str]) -> list[list[int]]:
    """
    @return: The ports from 10000 to 29999 named in C{texts}, sorted, in
        groups of ports within 100 of the one before.
    """
    groups: list[list[int]] = []
    for port in sorted({int(p) for t in texts for p in _DOC_PORT.findall(t)}):
        if groups and port - groups[-1][-1] <= 100:
            groups[-1].append(port)
        else:
            groups.append([port])
    return groups


def movePorts(text: str, moves: dict[int, int]) -> str:
    """
    @return: C{text} with each port in C{moves} replaced by its value.
    """

    def move(found: re.Match[str]) -> str:
        port = int(found.group(1))
        return str(moves.get(port, port))

    return _DOC_PORT.sub(move, text)


def normalise(text: str, bindir: str, hostname: str) -> str:
    """
    Write what must vary in one form: see the module's rule.

    @param bindir: The installed programs' directory, dropped.
    @param hostname: This host's name, written L{HOSTNAME}.
    """
    text = text.replace(bindir.rstrip("/") + "/", "")
    if hostname and hostname != HOSTNAME:
        text = re.sub(rf"\b{re.escape(hostname)}\b", HOSTNAME, text)
    text = _TIMESTAMP.sub("<time>", text)
    text = _DECIMAL.sub("<n>", _DURATION.sub("<time>", text))
    return _COLUMNS.sub("  ", text)


def matches(shown: tuple[str, ...], printed: list[str]) -> bool:
    """
    @return: Whether the lines C{printed} are the lines C{shown}, a line
        C{...anything...} of C{shown} standing for any lines or none.
    """
    pattern = "".join(
        r"(?:[^\n]*\n)*?"
        if line.startswith("...") and line.endswith("...")
        else re.escape(line) + r"\n"
        for line in shown
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in printed)) is not None
