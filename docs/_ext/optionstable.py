"""
The C{options-table} directive: one reference table of a command's options,
read from its L{twisted.python.usage.Options} subclass.

    ```{options-table} welcome_protocol.tap.Options
    :program: twistd welcome
    ```

renders a row for every option the class parses (C{optParameters},
C{optFlags} and C{opt_} methods, with their short forms and defaults) and
registers each one with Sphinx, so that pages link to it with
C{{option}`twistd welcome --port`}.  A new option appears in the table, and
in the docs build's checks, without anyone editing a page.

L{optionsreader.readOptions} reads them; C{tests/test_docs.py} checks the
pages with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from docutils import nodes
from docutils.parsers.rst import directives
from optionsreader import readOptions
from sphinx.application import Sphinx
from sphinx.domains.std import StandardDomain
from sphinx.util.docutils import SphinxDirective
from twisted.python import reflect, usage

_OPTION_IN_TEXT = re.compile(r"(--[a-z][a-z0-9-]*)")


def _textWithOptions(text: str) -> Iterator[nodes.Node]:
    for i, part in enumerate(_OPTION_IN_TEXT.split(text)):
        if i % 2:
            yield nodes.literal(part, part, classes=["option-name"])
        elif part:
            yield nodes.Text(part)


class OptionsTable(SphinxDirective):
    """
    Render the options of the L{usage.Options} subclass named by the
    directive's argument as one table: option, default, meaning.
    """

    required_arguments = 1
    option_spec = {"program": directives.unchanged_required}

    def run(self) -> list[nodes.Node]:
        """
        @return: The table, each row a target of C{{option}} references.
        """
        path = self.arguments[0]
        try:
            optionsClass = reflect.namedAny(path)
        except Exception as e:
            raise self.error(f"options-table: cannot import {path!r}: {e}") from e
        if not (
            isinstance(optionsClass, type) and issubclass(optionsClass, usage.Options)
        ):
            raise self.error(f"options-table: {path!r} is not a usage.Options class")
        program = self.options.get("program", path)
        programKey = "-".join(program.split())
        domain = self.env.domains["std"]
        assert isinstance(domain, StandardDomain)

        table = nodes.table(classes=["options-table"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (30, 15, 55):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        headRow = nodes.row()
        for title in ("option", "default", "meaning"):
            headRow += nodes.entry("", nodes.paragraph(text=title))
        head += headRow
        body = nodes.tbody()
        group += body
        for entry in readOptions(optionsClass):
            targetId = f"cmdoption-{programKey}-{entry.name}"
            optionCell = nodes.paragraph()
            if entry.short is not None:
                optionCell += nodes.literal(
                    text=f"-{entry.short}", classes=["option-name"]
                )
                optionCell += nodes.Text(", ")
            # The option-name class keeps it whole (docs/_static/guide.css):
            # a browser would break --idle-timeout=VALUE at its hyphens.
            optionCell += nodes.literal(text=entry.usage, classes=["option-name"])
            row = nodes.row(ids=[targetId])
            row += nodes.entry("", optionCell)
            row += nodes.entry(
                "",
                nodes.paragraph(
                    "",
                    "",
                    *([nodes.literal(text=entry.default)] if entry.default else []),
                ),
            )
            row += nodes.entry(
                "", nodes.paragraph("", "", *_textWithOptions(entry.help))
            )
            body += row
            for name in [f"--{entry.name}"] + (
                [f"-{entry.short}"] if entry.short else []
            ):
                domain.add_program_option(programKey, name, self.env.docname, targetId)
        return [table]


def setup(app: Sphinx) -> dict[str, object]:
    """
    Register the C{options-table} directive.
    """
    app.add_directive("options-table", OptionsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
