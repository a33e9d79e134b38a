"""
The package as its source says it is: its modules, what each one's docstring
says first, the imports between them, and the layers C{setup.cfg} asks for.

The architecture page's diagrams and module table are drawn from these at
build time (C{layersdiagram}, C{connectionpath}, C{moduletable}), and
C{tests/test_docs.py} checks the page with them, so what the page shows is
the tree as it is, not as someone last described it.  Everything is read by
parsing the source (L{ast}), never by importing it: importing the server to
document it would run its module-level code.
"""

from __future__ import annotations

import ast
import configparser
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = "welcome_protocol"
SETUP_CFG = ROOT / "setup.cfg"


@dataclass(frozen=True)
class Module:
    """
    One module of the package, as found on disk.

    @ivar name: Its dotted name, C{welcome_protocol.greeting.server}.
    @ivar path: Its file (C{__init__.py} for a package).
    @ivar isPackage: Whether it is a package.
    """

    name: str
    path: Path
    isPackage: bool

    def tree(self) -> ast.Module:
        """
        @return: The parsed source.
        """
        return ast.parse(self.path.read_text("utf-8"), str(self.path))

    def summary(self) -> str:
        """
        @return: The first sentence-line of the module's docstring, epytext
            markup reduced to plain text; C{""} without a docstring.
        """
        return firstLine(ast.get_docstring(self.tree()) or "")


def findModules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Module]:
    """
    Find every module and package of C{package} under C{root}.

    @return: The modules by dotted name, in name order.
    """
    found = {}
    base = root / package.replace(".", "/")
    for path in sorted(base.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = list(relative.parts)
        isPackage = parts[-1] == "__init__"
        if isPackage:
            parts.pop()
        # A directory without __init__.py is not a package of ours.
        if not all(
            (root.joinpath(*parts[:i]) / "__init__.py").exists()
            for i in range(1, len(parts) if not isPackage else len(parts) + 1)
        ):
            continue
        name = ".".join(parts)
        found[name] = Module(name, path, isPackage)
    return dict(sorted(found.items()))


def selectModules(
    modules: dict[str, Module], root: str, exclude: list[str]
) -> list[Module]:
    """
    @param root: The package whose modules are listed, itself included.
    @param exclude: Packages left out, with everything in them.
    @return: The modules of C{root} but those under C{exclude}, by name.
    """

    def under(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    return [
        module
        for name, module in modules.items()
        if under(name, root) and not any(under(name, other) for other in exclude)
    ]


_MARKUP = re.compile(r"\b[BCILMU]\{([^{}]*)\}")


def firstLine(docstring: str) -> str:
    """
    @return: The first paragraph's first sentence of an epytext docstring,
        on one line, with C{C{...}}, C{L{...}} and their kind replaced by
        their text.
    """
    paragraph = docstring.strip().split("\n\n")[0]
    text = " ".join(paragraph.split())
    while _MARKUP.search(text):
        text = _MARKUP.sub(r"\1", text)
    sentence = re.match(r"(.+?[.!?])(\s|$)", text)
    return sentence.group(1) if sentence else text


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    """
    @return: The absolute module name a C{from ... import} names.
    """
    if not node.level:
        return node.module or ""
    package = module.name if module.isPackage else module.name.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports(module: Module, known: Iterable[str]) -> set[str]:
    """
    The modules of the package that C{module} imports, wherever the import
    statement is (module level, a function, C{if TYPE_CHECKING:}), as
    import-linter counts them.

    @param known: The names of every module of the package.
    @return: Each imported module's name; C{from a import b} counts as
        importing C{a.b} when that is a module, C{a} otherwise.
    """
    names = set(known)
    found = set()
    for node in ast.walk(module.tree()):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in names else source)
    return {name for name in found if name in names and name != module.name}


def importGraph(modules: dict[str, Module]) -> dict[str, set[str]]:
    """
    @return: For each module, the package's modules it imports.
    """
    return {name: imports(module, modules) for name, module in modules.items()}


@dataclass(frozen=True)
class Layer:
    """
    One line of a C{layers} contract.

    @ivar members: The packages or modules of the layer, in the order given.
    @ivar independent: Whether they must not import each other (C{|});
        siblings separated by C{:} may.
    """

    members: tuple[str, ...]
    independent: bool = True


@dataclass(frozen=True)
class LayersContract:
    """
    An import-linter C{layers} contract, highest layer first.
    """

    key: str
    name: str
    layers: tuple[Layer, ...] = field(default=())

    def owner(self, module: str) -> str | None:
        """
        @return: The most specific member of a layer that C{module} is, or is
            inside; L{None} if it is in no layer.
        """
        best = None
        for layer in self.layers:
            for member in layer.members:
                if (module == member or module.startswith(member + ".")) and (
                    best is None or len(member) > len(best)
                ):
                    best = member
        return best

    def level(self, member: str) -> int:
        """
        @return: The index of C{member}'s layer, 0 for the highest.
        """
        for index, layer in enumerate(self.layers):
            if member in layer.members:
                return index
        raise KeyError(member)


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@dataclass(frozen=True)
class ForbiddenContract:
    """
    An import-linter C{forbidden} contract: its source modules import none
    of its forbidden modules.
    """

    key: str
    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]

    def forbids(self, source: str, destination: str) -> bool:
        """
        @return: Whether an import from C{source} (a module or package) of
            C{destination} breaks the contract.
        """
        return any(_under(source, s) for s in self.sources) and any(
            _under(destination, f) for f in self.forbidden
        )


def _layer(line: str, containers: list[str]) -> Layer:
    independent = ":" not in line
    members = []
    for part in re.split(r"[|:]", line):
        name = part.strip().strip("()").strip()
        if not name:
            continue
        for container in containers or [""]:
            members.append(f"{container}.{name}" if container else name)
    return Layer(tuple(members), independent)


def _contracts(
    setupCfg: Path, kind: str
) -> list[tuple[str, configparser.SectionProxy]]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(setupCfg, encoding="utf-8")
    return [
        (section.partition("contract:")[2], parser[section])
        for section in parser.sections()
        if section.startswith("importlinter:contract:")
        and parser[section].get("type", "").strip() == kind
    ]


def _names(value: str) -> tuple[str, ...]:
    return tuple(
        line.strip()
        for line in value.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )


def forbiddenContracts(setupCfg: Path = SETUP_CFG) -> list[ForbiddenContract]:
    """
    Read the C{type = forbidden} contracts of import-linter from
    C{setupCfg}.

    @return: The contracts, in the file's order.
    """
    return [
        ForbiddenContract(
            key,
            options.get("name", key),
            _names(options.get("source_modules", "")),
            _names(options.get("forbidden_modules", "")),
        )
        for key, options in _contracts(setupCfg, "forbidden")
    ]


def layersContracts(setupCfg: Path = SETUP_CFG) -> list[LayersContract]:
    """
    Read the C{type = layers} contracts of import-linter from C{setupCfg}
    (sections C{[importlinter:contract:KEY]}).

    @return: The contracts, in the file's order.
    """
    return [
        LayersContract(
            key=key,
            name=options.get("name", key),
            layers=tuple(
                _layer(line, options.get("containers", "").split())
                for line in _names(options.get("layers", ""))
            ),
        )
        for key, options in _contracts(setupCfg, "layers")
    ]
