"""
The C{connection-path} directive: the stages a connection (and a datagram)
goes through, each with the modules that do it, drawn from a small table.

    ```{connection-path}
    :caption: A connection's path, and a datagram's
    connection | accept | listening.builder listening.directtcp.port
    connection | admission | admission.admission
    datagram | accept | udp.listener
    ```

Each line is one stage: the path it is on, the stage's name (a name shared
by two paths puts both stages side by side), and the modules of
C{welcome_protocol} that make it, by dotted name below the package.  Stages
follow each other in the order given.  A module that does not exist is a
warning (an error under C{sphinx-build -W}), and C{tests/test_docs.py} reads
the table on the architecture page with L{graphs.readStages} and fails on it too:
the table is the one place a stage's modules are written, and it cannot
name a module that is gone.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives
from graphs import TableError, missingModules, pathDot, readStages
from sourcetree import PACKAGE, findModules
from sphinx.application import Sphinx
from sphinx.ext.graphviz import figure_wrapper, graphviz
from sphinx.util.docutils import SphinxDirective


class ConnectionPath(SphinxDirective):
    """
    Draw the stages of the directive's table.
    """

    has_content = True
    option_spec = {"caption": directives.unchanged, "alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """
        @return: A C{graphviz} node, in a figure when a caption is given.
        """
        try:
            stages = readStages(list(self.content))
        except TableError as e:
            raise self.error(f"connection-path: {e}") from e
        if not stages:
            raise self.error("connection-path: the table is empty")
        modules = findModules()
        result: list[nodes.Node] = []
        for name in missingModules(stages, set(modules)):
            result.append(
                self.state.document.reporter.warning(
                    f"connection-path: no module {PACKAGE}.{name}", line=self.lineno
                )
            )
        node = graphviz()
        node["code"] = pathDot(stages)
        node["options"] = {"docname": self.env.docname}
        node["alt"] = self.options.get("alt", "The stages of each path")
        node["classes"] = ["connection-path"]
        if "caption" in self.options:
            result.append(figure_wrapper(self, node, self.options["caption"]))
        else:
            result.append(node)
        return result


def setup(app: Sphinx) -> dict[str, object]:
    """
    Register the C{connection-path} directive.
    """
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("connection-path", ConnectionPath)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
