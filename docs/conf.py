"""
Sphinx configuration of welcome-protocol's documentation.

Build it with C{sphinx-build -W -b html docs build/docs} (see developing.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Document the working tree, not whatever copy is installed.
sys.path[:0] = [str(ROOT), str(HERE / "_ext")]

from inventories import (  # noqa: E402
    PYTHON_URL,
    TWISTED_URL,
    pythonInventory,
    twistedInventory,
)

import welcome_protocol  # noqa: E402

project = "welcome-protocol"
author = "welcome-protocol contributors"
copyright = "welcome-protocol contributors"
release = version = welcome_protocol.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.intersphinx",
    "pydoctor.sphinx_ext.build_apidocs",
    "optionstable",
    "sphinx.ext.graphviz",
    "layersdiagram",
    "connectionpath",
    "moduletable",
    "dashboardpicture",
    "floodfigure",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
html_theme = "furo"
# A few rules of our own (docs/_static/guide.css): code and log blocks wrap
# instead of being cut off at the right, option names stay whole.
html_static_path = ["_static"]
html_css_files = ["guide.css"]
# A fence without a language is a log or program output, not code: shown
# as text, not coloured by a guessed lexer.  Commands name theirs (sh,
# console, python).
highlight_language = "text"
html_title = f"welcome-protocol {release}"
# A reference to a name that has moved or gone is an error under -W, not
# plain text: the pages cannot go on naming what the code no longer has.
nitpicky = True
# The diagrams (architecture.md) are drawn by Graphviz's dot, as SVG so that
# they scale with the page.
graphviz_output_format = "svg"

# Inventories made from the installed packages: the build downloads nothing.
_inventories = ROOT / "build" / "docs-inventories"
_twisted = twistedInventory(_inventories)
_python = pythonInventory(_inventories, ROOT / "welcome_protocol")
intersphinx_mapping = {
    "twisted": (TWISTED_URL, str(_twisted)),
    "python": (PYTHON_URL, str(_python)),
}

# The API reference: pydoctor, into the HTML tree under api/.
pydoctor_url_path = "api/"
pydoctor_args = [
    "--project-name=welcome-protocol",
    f"--project-version={release}",
    "--project-url=../index.html",
    "--docformat=epytext",
    "--theme=readthedocs",
    "--warnings-as-errors",
    f"--project-base-dir={ROOT}",
    "--html-output={outdir}/api",
    f"--intersphinx-file={_twisted}::{TWISTED_URL.rstrip('/')}",
    f"--intersphinx-file={_python}::{PYTHON_URL.rstrip('/')}",
    str(ROOT / "welcome_protocol"),
]
