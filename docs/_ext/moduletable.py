"""
The C{module-table} directive: every package and module below one package,
each with the first sentence of its docstring, read from the source.

    ```{module-table} welcome_protocol
    :exclude: welcome_protocol.client
    ```

lists C{welcome_protocol} and everything in it but the client (and the
client's table is C{```{module-table} welcome_protocol.client```}).  Each
name links to its page of the API reference.  A module added, moved or
removed changes the table without anyone editing a page, and a module
without a docstring is a warning (an error under C{sphinx-build -W}).
C{tests/test_docs.py} checks that the page's tables together list every
module of the package once.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives
from sourcetree import PACKAGE, findModules, selectModules
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


class ModuleTable(SphinxDirective):
    """
    A table of modules: name, and what the docstring says first.
    """

    optional_arguments = 1
    option_spec = {"exclude": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """
        @return: The table, and a warning for each module without a
            docstring.
        """
        root = self.arguments[0] if self.arguments else PACKAGE
        exclude = self.options.get("exclude", "").replace(",", " ").split()
        modules = findModules()
        if root not in modules:
            raise self.error(f"module-table: no package {root!r}")
        selected = selectModules(modules, root, exclude)
        table = nodes.table(classes=["module-table"])
        group = nodes.tgroup(cols=2)
        table += group
        for width in (30, 70):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        headRow = nodes.row()
        for title in ("module", "what it does"):
            headRow += nodes.entry("", nodes.paragraph(text=title))
        head += headRow
        body = nodes.tbody()
        group += body
        warnings: list[nodes.Node] = []
        for module in selected:
            self.env.note_dependency(str(module.path))
            summary = module.summary()
            if not summary:
                warnings.append(
                    self.state.document.reporter.warning(
                        f"module-table: {module.name} has no docstring",
                        line=self.lineno,
                    )
                )
            shown = module.name.removeprefix(PACKAGE + ".")
            if module.isPackage and module.name != PACKAGE:
                shown += "/"
            reference = addnodes.pending_xref(
                "",
                nodes.literal(shown, shown),
                refdomain="py",
                reftype="mod",
                reftarget=module.name,
                refexplicit=True,
                refwarn=True,
            )
            row = nodes.row()
            row += nodes.entry("", nodes.paragraph("", "", reference))
            row += nodes.entry("", nodes.paragraph(text=summary))
            body += row
        return [table, *warnings]


def setup(app: Sphinx) -> dict[str, object]:
    """
    Register the C{module-table} directive.
    """
    app.add_directive("module-table", ModuleTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
