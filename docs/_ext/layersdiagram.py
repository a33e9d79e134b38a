"""
The C{layers-diagram} directive: the import-linter layers of C{setup.cfg},
drawn top to bottom, with the imports the source really makes between them.

    ```{layers-diagram} layers
    :caption: The layers, and every import between packages
    ```

The argument is the contract's key (C{[importlinter:contract:layers]});
without one, the first C{layers} contract is drawn.  Each layer is a box of
its packages; each arrow is one or more imports from a module of one package
to a module of another, found by parsing the source
(L{sourcetree.importGraph}); L{graphs.layersDot} draws them.  An arrow that
goes up a layer, or between siblings that must not import each other, is
drawn red, and so is one that a C{forbidden} contract of C{setup.cfg}
forbids: C{lint-imports} fails on it, and the page shows where.  Imports
of the lowest layer, which every layer may use, are counted in its box
instead of drawn.  Modules that are in no layer are drawn in a box of their
own beside the layers.

Sphinx's C{graphviz} extension renders the result.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import directives
from graphs import layersDot
from sourcetree import (
    SETUP_CFG,
    findModules,
    forbiddenContracts,
    importGraph,
    layersContracts,
)
from sphinx.application import Sphinx
from sphinx.ext.graphviz import figure_wrapper, graphviz
from sphinx.util.docutils import SphinxDirective


class LayersDiagram(SphinxDirective):
    """
    Draw a C{layers} contract of C{setup.cfg} with the source's imports.
    """

    optional_arguments = 1
    option_spec = {"caption": directives.unchanged, "alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """
        @return: A C{graphviz} node, in a figure when a caption is given.
        """
        self.env.note_dependency(str(SETUP_CFG))
        contracts = {c.key: c for c in layersContracts(SETUP_CFG)}
        if not contracts:
            raise self.error("layers-diagram: setup.cfg has no layers contract")
        key = self.arguments[0] if self.arguments else next(iter(contracts))
        if key not in contracts:
            raise self.error(f"layers-diagram: no layers contract {key!r}")
        modules = findModules()
        for module in modules.values():
            self.env.note_dependency(str(module.path))
        node = graphviz()
        node["code"] = layersDot(
            contracts[key], importGraph(modules), forbiddenContracts(SETUP_CFG)
        )
        node["options"] = {"docname": self.env.docname}
        node["alt"] = self.options.get("alt", contracts[key].name)
        node["classes"] = ["layers-diagram"]
        if "caption" in self.options:
            return [figure_wrapper(self, node, self.options["caption"])]
        return [node]


def setup(app: Sphinx) -> dict[str, object]:
    """
    Register the C{layers-diagram} directive.
    """
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("layers-diagram", LayersDiagram)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
