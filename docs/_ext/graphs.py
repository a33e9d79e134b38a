"""
The Graphviz sources of the guide's diagrams made from the source tree: the
architecture page's layers with the imports between them, the stages of a
connection's path, and the monitoring page's picture of the Grafana
dashboard (C{dashboardpicture}).

Plain functions of the source tree (L{sourcetree}) and of the stages table,
with no Sphinx in them, so that C{tests/test_docs.py} checks what the
directives draw in every test environment; C{layersdiagram} and
C{connectionpath} hand the results to Sphinx's C{graphviz} extension.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sourcetree import PACKAGE, ForbiddenContract, LayersContract

FONT_FAMILY = "Helvetica,Arial,sans-serif"


WIDTH_INCHES = 7.5
"""
The widest a diagram is drawn, in Graphviz's inches of 96 pixels.
"""


_OUTSIDE = "outside"


_COLOURS = {"connection": "#eef3fb", "datagram": "#f6f0fa"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _short(name: str) -> str:
    return name.removeprefix(PACKAGE + ".")


def packageEdges(
    contract: LayersContract, graph: dict[str, set[str]]
) -> tuple[dict[str, set[str]], dict[tuple[str, str], int]]:
    """
    Fold the module import graph onto the contract's members.

    @param graph: For each module, the modules it imports.
    @return: The modules of each node (a layer member, or a module of the
        package in no layer), and for each pair of nodes, how many module
        imports go from the first to the second.
    """
    members: dict[str, set[str]] = defaultdict(set)
    nodeOf = {}
    for module in graph:
        owner = contract.owner(module)
        if owner is None:
            if module == PACKAGE:
                continue
            # A package whose modules are all placed is a container only.
            if (
                any(
                    contract.owner(other) is not None
                    for other in graph
                    if other.startswith(module + ".")
                )
                and not graph[module]
            ):
                continue
            owner = module
        nodeOf[module] = owner
        members[owner].add(module)
    edges: dict[tuple[str, str], int] = defaultdict(int)
    for module, imported in graph.items():
        for target in imported:
            source, destination = nodeOf.get(module), nodeOf.get(target)
            if source and destination and source != destination:
                edges[(source, destination)] += 1
    return dict(members), dict(edges)


def edgeKind(
    contract: LayersContract,
    source: str,
    destination: str,
    forbidden: Sequence[ForbiddenContract] = (),
) -> str:
    """
    @param forbidden: C{forbidden} contracts the import must keep too.
    @return: C{"down"} for an import the contracts allow, C{"up"} for one
        they forbid (up a layer, between independent siblings, or from a
        source module to a module a C{forbidden} contract keeps it from),
        C{"outside"} when either end is in no layer.
    """
    if any(rule.forbids(source, destination) for rule in forbidden):
        return "up"
    if contract.owner(source) != source or contract.owner(destination) != destination:
        return _OUTSIDE
    high, low = contract.level(source), contract.level(destination)
    if high < low:
        return "down"
    if high == low and not contract.layers[high].independent:
        return "down"
    return "up"


def layersDot(
    contract: LayersContract,
    graph: dict[str, set[str]],
    forbidden: Sequence[ForbiddenContract] = (),
) -> str:
    """
    @param graph: For each module, the modules it imports.
    @param forbidden: C{forbidden} contracts whose broken imports are drawn
        red too (the client's, which the layers alone would allow).
    @return: The Graphviz source of the diagram.
    """
    members, edges = packageEdges(contract, graph)
    lines = [
        "digraph layers {",
        "  newrank=true; rankdir=TB; nodesep=0.2; ranksep=0.4;",
        # At most the width of the page's text column (furo's 46em, about
        # 730 px): scaled down to it rather than scrolled.
        f'  size="{WIDTH_INCHES},40"; bgcolor=transparent;',
        f"  graph [fontname={_quote(FONT_FAMILY)}, fontsize=11];",
        f'  node [shape=box, style="rounded,filled", fillcolor=white,'
        f' fontname={_quote(FONT_FAMILY)}, fontsize=16, margin="0.12,0.05"];',
        '  edge [color="#55555599", arrowsize=0.6];',
    ]

    # Every layer may import the lowest one: an import of it can never go up,
    # so it is counted in the lowest layer's boxes instead of drawn.
    bottom = set(contract.layers[-1].members) if contract.layers else set()
    importers = {
        member: sorted({s for (s, d) in edges if d == member}) for member in bottom
    }

    def node(name: str, indent: str) -> str:
        count = len(members.get(name, ()))
        modules = f"{count} module{'s' if count != 1 else ''}" if count else "no module"
        if name in importers:
            modules += f", imported by {len(importers[name])} packages"
        label = (
            f"<<b>{_short(name)}</b><br/>"
            f'<font point-size="12" color="#444444">{modules}</font>>'
        )
        style = "" if count else ', style="rounded,dashed"'
        return f"{indent}{_quote(name)} [label={label}{style}];"

    firsts = []
    for index, layer in enumerate(contract.layers):
        label = ""
        if len(layer.members) > 1:
            label = (
                "siblings: must not import each other"
                if layer.independent
                else "siblings: may import each other"
            )
        lines += [
            f"  subgraph cluster_layer{index} {{",
            f"    label={_quote(label)};",
            '    labeljust=l; style="rounded,filled"; color="#c9cde0";'
            ' fillcolor="#f2f4fa"; fontcolor="#555555"; fontsize=12;',
            "    rank=same;",
        ]
        lines += [node(member, "    ") for member in layer.members]
        lines.append("  }")
        firsts.append(layer.members[0])
    # Keep the layers in the contract's order even where no import links
    # two neighbours.
    for upper, lower in itertools.pairwise(firsts):
        lines.append(f"  {_quote(upper)} -> {_quote(lower)} [style=invis, weight=10];")
    outside = sorted(name for name in members if contract.owner(name) is None)
    if outside:
        lines += [
            "  subgraph cluster_outside {",
            '    label="in no layer"; labeljust=l; style="rounded,dashed";'
            ' color="#999999"; fontcolor="#555555"; fontsize=12;',
        ]
        lines += [node(name, "    ") for name in outside]
        lines.append("  }")
    for (source, destination), count in sorted(edges.items()):
        kind = edgeKind(contract, source, destination, forbidden)
        if kind == "down" and destination in bottom:
            continue
        attributes = [f"tooltip={_quote(f'{count} import(s)')}"]
        if kind == "up":
            attributes += ['color="#d62728"', "penwidth=2", "constraint=false"]
        elif kind == _OUTSIDE:
            attributes += ["style=dashed"]
        lines.append(
            f"  {_quote(source)} -> {_quote(destination)} [{', '.join(attributes)}];"
        )
    lines.append("}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Stage:
    """
    One stage of one path.

    @ivar path: The path, such as C{connection} or C{datagram}.
    @ivar name: What happens there, such as C{admission}.
    @ivar modules: The modules that do it, relative to C{welcome_protocol}.
    """

    path: str
    name: str
    modules: tuple[str, ...]


class TableError(ValueError):
    """
    A line of the table is not C{PATH | STAGE | MODULE...}.
    """


def readStages(lines: list[str]) -> list[Stage]:
    """
    Parse the directive's table.

    @raise TableError: For a line without three cells, or without a module.
    @return: The stages, in order.
    """
    stages = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) != 3 or not all(cells):
            raise TableError(f"line {number}: expected PATH | STAGE | MODULE...")
        modules = tuple(
            name.removeprefix(PACKAGE + ".")
            for name in cells[2].replace(",", " ").split()
        )
        stages.append(Stage(cells[0], cells[1], modules))
    return stages


def missingModules(stages: list[Stage], known: set[str]) -> list[str]:
    """
    @param known: The dotted names of every module of the package.
    @return: The modules the stages name that are not in C{known}, in the
        order named.
    """
    return [
        name
        for stage in stages
        for name in stage.modules
        if f"{PACKAGE}.{name}" not in known
    ]


def pathDot(stages: list[Stage]) -> str:
    """
    @return: The Graphviz source: one column per path, top to bottom, and
        the stages of the same name side by side.
    """
    lines = [
        "digraph paths {",
        "  newrank=true; rankdir=TB; nodesep=0.5; ranksep=0.3;",
        # No wider than the page's text column: see layersdiagram.
        f'  size="{WIDTH_INCHES},40"; bgcolor=transparent;',
        f"  graph [fontname={_quote(FONT_FAMILY)}, fontsize=14];",
        f'  node [shape=box, style="rounded,filled", fillcolor=white,'
        f' fontname={_quote(FONT_FAMILY)}, fontsize=14, margin="0.15,0.06"];',
        '  edge [color="#444444", arrowsize=0.7];',
    ]
    paths: dict[str, list[tuple[str, Stage]]] = {}
    for index, stage in enumerate(stages):
        paths.setdefault(stage.path, []).append((f"stage{index}", stage))
    for number, (path, members) in enumerate(paths.items()):
        colour = _COLOURS.get(path, "#f2f2f2")
        lines += [
            f"  subgraph cluster_path{number} {{",
            f"    label=<<b>{html.escape(path)}</b>>; labeljust=l;"
            f' style="rounded,filled"; color="#c0c4d0"; fillcolor={_quote(colour)};',
        ]
        for identifier, stage in members:
            modules = "".join(
                f'<br align="left"/><font face="monospace" point-size="12">'
                f"{html.escape(name)}</font>"
                for name in stage.modules
            )
            title, _, detail = stage.name.partition(": ")
            if detail:
                detail = f'<br align="left"/>{html.escape(detail)}'
            lines.append(
                f"    {identifier} [label=<<b>{html.escape(title)}</b>{detail}"
                f'{modules}<br align="left"/>>];'
            )
        lines.append("  }")
        for (upper, _), (lower, _) in itertools.pairwise(members):
            lines.append(f"  {upper} -> {lower};")
    byName: dict[str, list[str]] = {}
    for index, stage in enumerate(stages):
        byName.setdefault(stage.name, []).append(f"stage{index}")
    for same in byName.values():
        if len(same) > 1:
            lines.append(f"  {{ rank=same; {'; '.join(same)}; }}")
    lines.append("}")
    return "\n".join(lines)


GRID_COLUMNS = 24
"""
Grafana's grid is 24 columns wide.
"""

_TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _legend(target: dict[str, Any]) -> str:
    """
    @return: A query's legend as a reader says it: C{{{instance}}} is
        "per instance".
    """
    legend = str(target.get("legendFormat") or "")
    shown = _TEMPLATE.sub(lambda m: f"per {m.group(1)}", legend).strip()
    return shown or "series"


def dashboardPanels(dashboard: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """
    @return: The dashboard's panels in rows: those starting at the same
        C{gridPos.y}, left to right.
    """
    rows: dict[int, list[dict[str, Any]]] = {}
    for panel in dashboard.get("panels", []):
        rows.setdefault(int(panel["gridPos"]["y"]), []).append(panel)
    return [sorted(rows[y], key=lambda p: int(p["gridPos"]["x"])) for y in sorted(rows)]


def dashboardDot(dashboard: dict[str, Any]) -> str:
    """
    @return: Graphviz source of one node whose HTML-like table is the
        dashboard: a cell per panel, as wide as its share of the grid.
    """
    lines = ['<TABLE BORDER="0" CELLSPACING="6" CELLPADDING="6">']
    title = html.escape(str(dashboard.get("title", "dashboard")))
    lines.append(
        f'<TR><TD COLSPAN="{GRID_COLUMNS}" ALIGN="LEFT"><B>{title}</B></TD></TR>'
    )
    for row in dashboardPanels(dashboard):
        lines.append("<TR>")
        for panel in row:
            width = int(panel["gridPos"]["w"])
            name = html.escape(str(panel.get("title", "")))
            legends = ", ".join(
                dict.fromkeys(_legend(t) for t in panel.get("targets", []))
            )
            lines.append(
                f'<TD COLSPAN="{width}" BORDER="1" STYLE="rounded" '
                f'BGCOLOR="#f2f2f2"><B>{name}</B><BR/>'
                f'<FONT POINT-SIZE="9">{html.escape(legends)}</FONT></TD>'
            )
        lines.append("</TR>")
    lines.append("</TABLE>")
    label = "\n".join(lines)
    return (
        "digraph dashboard {\n"
        '    bgcolor="transparent";\n'
        '    node [shape=plaintext, fontname="sans-serif", fontsize=11];\n'
        f"    dashboard [label=<{label}>];\n"
        "}\n"
    )


def markdownTable(text: str, firstHeader: str) -> list[dict[str, str]]:
    """
    Read the Markdown table of C{text} whose first header cell is
    C{firstHeader}.

    @return: Its rows, each by header.
    @raise LookupError: If there is no such table.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == firstHeader:
            rows = []
            for body in lines[i + 2 :]:
                if not body.startswith("|"):
                    break
                values = [c.strip() for c in body.strip().strip("|").split("|")]
                rows.append(dict(zip(cells, values, strict=True)))
            return rows
    raise LookupError(f"no table whose first header is {firstHeader!r}")


def _count(text: str) -> int:
    """
    @return: A count as the guide writes it (C{126,527}).
    """
    return int(text.replace(",", ""))


def floodDot(rows: list[dict[str, str]]) -> str:
    """
    Draw the UDP flood's figures (docs/udp.md's table of C{benchmarks/
    udpflood.py}'s runs): for each probe size, where the datagrams went.
    Sent datagrams are received by the service or dropped by the kernel;
    received ones are answered or rate limited.  An arrow's width grows
    with the logarithm of its count, so 343 answers still show beside
    126,184 refusals.

    @param rows: The table's rows (L{markdownTable}).
    @return: Graphviz source.
    """
    out = [
        "digraph flood {",
        "    rankdir=LR;",
        '    bgcolor="transparent";',
        '    node [shape=box, style="rounded,filled", fillcolor="#f2f2f2",'
        ' fontname="sans-serif", fontsize=11];',
        '    edge [fontname="sans-serif", fontsize=10];',
    ]

    def edge(a: str, b: str, count: int, color: str = "black") -> str:
        width = max(1.0, math.log10(max(count, 1)) * 1.2)
        return (
            f'    {a} -> {b} [label="{count:,}", penwidth={width:.1f}, '
            f'color="{color}"];'
        )

    for i, row in enumerate(rows):
        sent = _count(row["datagrams sent"])
        received = _count(row["received by the service"])
        answered = _count(row["answered"])
        limited = _count(row["rate limited"])
        size = html.escape(row["probe size"])
        out += [
            f"    subgraph cluster_{i} {{",
            f'        label="probes of {size}"; style="rounded,dashed";'
            ' fontname="sans-serif";',
            f'        sent{i} [label="sent\\n{sent:,} datagrams\\n'
            f'{row["bytes in"]} bytes"];',
            f'        received{i} [label="read by the service"];',
            f'        dropped{i} [label="dropped by the kernel\\n(not read in time)",'
            ' style="rounded,dashed"];',
            f'        answered{i} [label="answered\\n{row["bytes out"]} bytes",'
            ' fillcolor="#d8ecd8"];',
            f'        limited{i} [label="rate limited\\n(no answer)",'
            ' fillcolor="#fde0c5"];',
            "    }",
            edge(f"sent{i}", f"received{i}", received),
            edge(f"sent{i}", f"dropped{i}", sent - received, "gray50"),
            edge(f"received{i}", f"answered{i}", answered, "darkgreen"),
            edge(f"received{i}", f"limited{i}", limited, "darkorange3"),
        ]
    out.append("}")
    return "\n".join(out) + "\n"
