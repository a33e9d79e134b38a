"""
The built guide, as a browser shows it: headless Chromium renders each page
at 1280 px wide, and a script in the page reports every block wider than
the room it has (a code or log block cut off on the right, a table or a
picture running out of the text column) and every option name broken over
two lines in the options tables.

The guide is built here with Sphinx, as C{.ci/run} builds it; Chromium is
Debian's C{chromium} package, which C{.ci/run} installs.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.trial.unittest import SkipTest, TestCase

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1280
"""
The window's width: a laptop's, where the issue saw the faults.
"""

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    f"--window-size={WIDTH},900",
]
"""
Chromium with nothing of its own running: no network, no updates, no
profile of the user's (each run has a new empty C{--user-data-dir}).
"""

_CHECK = """
<script>
(function () {
  var faults = [];
  function name(el) {
    var text = (el.innerText || el.getAttribute("alt") || "").trim();
    return el.tagName.toLowerCase() + "." + (el.className || "") + ": " +
      text.split("\\n")[0].slice(0, 80);
  }
  var article = document.querySelector("article") || document.body;
  // The text column: Furo's content box, whose padding a table's wrapper
  // may use (it scrolls wide tables inside it).
  var column = document.querySelector("div.content") || article;
  var right = column.getBoundingClientRect().right;
  var blocks = article.querySelectorAll(
    "pre, div.highlight, table, div.table-wrapper, img, svg, object, " +
    "div.graphviz");
  blocks.forEach(function (el) {
    if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1) {
      faults.push("overflows its box by " + (el.scrollWidth - el.clientWidth) +
                  " px: " + name(el));
    }
    var box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > right + 1) {
      faults.push("runs " + Math.round(box.right - right) +
                  " px past the text column: " + name(el));
    }
  });
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    faults.push("the page scrolls sideways");
  }
  var names = "table.options-table code.option-name";
  document.querySelectorAll(names).forEach(function (c) {
    if (c.getClientRects().length > 1) {
      faults.push("option name broken over lines: " + c.textContent);
    }
  });
  var out = document.createElement("pre");
  out.id = "browser-verdict";
  out.textContent = JSON.stringify({width: window.innerWidth, faults: faults});
  document.body.appendChild(out);
})();
</script>
"""
"""
Runs in the page once it is laid out (at the end of the body, after the
style sheets): writes its verdict, as JSON, into the DOM that Chromium's
C{--dump-dom} prints.
"""

_VERDICT = re.compile(r'<pre id="browser-verdict">(.*?)</pre>', re.S)


def chromium() -> str:
    """
    @return: The Chromium to run.
    @raise FileNotFoundError: If it is missing (C{.ci/run} installs it).
    """
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path is not None:
            return path
    raise FileNotFoundError("chromium is missing: install Debian's chromium package")


def buildGuide(output: Path) -> None:
    """
    Build the guide's HTML into C{output}, as C{.ci/run} does.

    @raise SkipTest: Where the docs extra (Sphinx) is not installed: only
        in C{.ci/run}'s second run of the suite, on the oldest Twisted,
        whose environment has the test extra alone (the first run, with
        the docs extra, renders the guide).
    """
    if importlib.util.find_spec("sphinx") is None:
        raise SkipTest("Sphinx (the docs extra) is not installed here")
    subprocess.run(
        [sys.executable, "-m", "sphinx", "-q", "-b", "html", "docs", str(output)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )


def faultsOf(page: Path) -> list[str]:
    """
    Render C{page} in headless Chromium with the check in it.

    @return: What the check found wrong.
    """
    checked = page.with_name(page.stem + ".browser-check.html")
    html = page.read_text()
    checked.write_text(html.replace("</body>", _CHECK + "</body>", 1))
    profile = tempfile.mkdtemp(prefix="welcome-chromium-")
    try:
        result = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                checked.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    found = _VERDICT.search(result.stdout)
    if found is None:
        raise AssertionError(f"no verdict from Chromium for {page}: {result.stderr}")
    verdict = json.loads(
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    if verdict["width"] != WIDTH:
        raise AssertionError(f"rendered {verdict['width']} px wide, not {WIDTH}")
    return list(verdict["faults"])


class GuideInBrowserTests(TestCase):
    """
    Every page of the guide at 1280 px: no block overflows, no option name
    is broken.
    """

    def test_noOverflowNoBrokenOption(self) -> None:
        """
        Each page of the guide (each C{docs/*.md}) renders with no block
        wider than its room and every option name in one piece.
        """
        output = Path(tempfile.mkdtemp(prefix="welcome-guide-"))
        self.addCleanup(shutil.rmtree, output, True)
        buildGuide(output)
        faults = []
        pages = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
        self.assertIn("getting-started", pages)
        for name in pages:
            faults += [f"{name}.html: {f}" for f in faultsOf(output / f"{name}.html")]
        self.assertEqual(faults, [], "\n".join(faults))

    def test_checkFindsFaults(self) -> None:
        """
        The check sees a cut-off block and a broken option name: a page
        with both gets both reported.
        """
        directory = Path(tempfile.mkdtemp(prefix="welcome-guide-"))
        self.addCleanup(shutil.rmtree, directory, True)
        page = directory / "bad.html"
        page.write_text(
            "<html><body><article style='width: 300px'>"
            f"<pre style='overflow: auto'>{'x' * 400}</pre>"
            "<table class='options-table'><tr><td style='width: 40px'>"
            "<code class='option-name'>--idle-timeout=VALUE</code></td></tr></table>"
            "</article></body></html>"
        )
        faults = faultsOf(page)
        self.assertTrue(any("overflows its box" in f for f in faults), faults)
        self.assertIn("option name broken over lines: --idle-timeout=VALUE", faults)
