"""
The C{dashboard-picture} directive: the panels of a Grafana dashboard, laid
out as Grafana lays them out, each with its title and the series it draws.

    ```{dashboard-picture} ../contrib/grafana/welcome.json
    :caption: What the dashboard shows
    ```

The argument is the dashboard's JSON, relative to the page.  Panels are
placed by their C{gridPos} on Grafana's grid of 24 columns: each row of the
picture holds the panels that start at the same C{y}, each as wide as its
C{w}.  A panel lists its queries' legends (C{{{instance}}} and the like
shown as C{per instance}).  The picture is drawn from the file that ships,
so it cannot drift from it; L{graphs.dashboardDot} draws it, free of
Sphinx, for the tests.  Sphinx's C{graphviz} extension renders the result.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from graphs import dashboardDot, dashboardPanels
from sphinx.application import Sphinx
from sphinx.ext.graphviz import figure_wrapper, graphviz
from sphinx.util.docutils import SphinxDirective


class DashboardPicture(SphinxDirective):
    """
    Draw a Grafana dashboard's panels from its JSON.
    """

    required_arguments = 1
    option_spec = {"caption": directives.unchanged, "alt": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        """
        @return: A C{graphviz} node, in a figure when a caption is given.
        """
        source = Path(self.env.doc2path(self.env.docname)).parent
        path = (source / self.arguments[0]).resolve()
        self.env.note_dependency(str(path))
        try:
            dashboard = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise self.error(f"dashboard-picture: cannot read {path}: {e}") from None
        node = graphviz()
        node["code"] = dashboardDot(dashboard)
        node["options"] = {"docname": self.env.docname}
        node["alt"] = self.options.get(
            "alt",
            "The dashboard's panels: "
            + "; ".join(
                str(p.get("title")) for row in dashboardPanels(dashboard) for p in row
            ),
        )
        node["classes"] = ["dashboard-picture"]
        if "caption" in self.options:
            return [figure_wrapper(self, node, self.options["caption"])]
        return [node]


def setup(app: Sphinx) -> dict[str, object]:
    """
    Register the C{dashboard-picture} directive.
    """
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("dashboard-picture", DashboardPicture)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
