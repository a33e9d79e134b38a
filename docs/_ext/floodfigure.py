"""
The C{flood-figure} directive: where a UDP flood's datagrams went, drawn
from the table of measured figures on the same page.

    ```{flood-figure} probe size
    :caption: ...
    ```

The argument is the first header cell of the table (C{benchmarks/
udpflood.py}'s results, as docs/udp.md records them); the picture is drawn
from that table when the guide is built (L{graphs.floodDot}), so the two
cannot disagree.  Sphinx's C{graphviz} extension renders it.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from graphs import floodDot, markdownTable
from sphinx.application import Sphinx
from sphinx.ext.graphviz import figure_wrapper, graphviz
from sphinx.util.docutils import SphinxDirective


class FloodFigure(SphinxDirective):
    """
    Draw the flood's figures from the page's own table.
    """

    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"caption": directives.unchanged, "alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """
        @return: A C{graphviz} node, in a figure when a caption is given.
        """
        page = Path(self.env.doc2path(self.env.docname))
        try:
            rows = markdownTable(page.read_text(), self.arguments[0])
        except LookupError as e:
            raise self.error(f"flood-figure: {e}") from None
        node = graphviz()
        node["code"] = floodDot(rows)
        node["options"] = {"docname": self.env.docname}
        node["alt"] = self.options.get(
            "alt",
            "Where the datagrams went: "
            + "; ".join(
                f"{r['probe size']}: {r['datagrams sent']} sent, "
                f"{r['received by the service']} read, {r['answered']} answered, "
                f"{r['rate limited']} rate limited"
                for r in rows
            ),
        )
        node["classes"] = ["flood-figure"]
        if "caption" in self.options:
            return [figure_wrapper(self, node, self.options["caption"])]
        return [node]


def setup(app: Sphinx) -> dict[str, object]:
    """
    Register the C{flood-figure} directive.
    """
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("flood-figure", FloodFigure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
