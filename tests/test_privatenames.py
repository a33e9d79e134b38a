"""
Every private name the package takes from Twisted (or from the standard
library) is listed on the architecture page, and every name listed there is
still used.

The page's C{Private names} section has one bullet per name and module::

    - `twisted.python.usage.Options._dispatch` in
      {py:mod}`welcome_protocol.client.options`: why it is worth it.

The uses are found by parsing the source (L{ast}), as far as a parse can
tell what an expression is:

 - imports from a private module or of a private name
   (C{from twisted.protocols.haproxy._wrapper import X},
   C{from twisted.x import _y});
 - attribute chains on an imported name (C{usage.Options._dispatch},
   C{twisted.x._y});
 - C{self._x} in a class of ours whose Twisted (or standard library) base
   class defines C{_x};
 - C{obj._x}, and C{getattr(obj, "_x")}, where no module of ours defines
   C{_x} at all: the object must be someone else's.  Such a use is matched
   with a listed C{Owner._x} of the same module, and C{Owner} must be a
   class that really has C{_x}.

Private names of our own modules are ours to use; names of other libraries
than Twisted and the standard library would be reported too.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from twisted.python import reflect, usage
from twisted.trial.unittest import TestCase

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "welcome_protocol"
PAGE = ROOT / "docs" / "architecture.md"

Resolver = Callable[[str], object]
"""
Turn a dotted name into the object it names, or raise.
"""


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def _ours(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


@dataclass(frozen=True)
class Use:
    """
    One private name a module takes from elsewhere.

    @ivar module: The module that uses it.
    @ivar name: The full dotted name (C{twisted.python.usage.Options._dispatch})
        when the owner is known; C{"?._x"} when only the attribute is.
    @ivar line: Where.
    """

    module: str
    name: str
    line: int

    @property
    def attribute(self) -> str:
        """
        @return: The last part of the name.
        """
        return self.name.rpartition(".")[2]


def projectDefinitions(sources: dict[str, str]) -> set[str]:
    """
    @param sources: The source of each module of ours, by module name.
    @return: Every private name our modules define: functions, classes,
        module and class variables, C{self._x} and C{cls._x} assignments,
        C{__slots__} entries and import aliases.
    """
    found: set[str] = set()
    for source in sources.values():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found.add(node.id)
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("self", "cls")
            ):
                found.add(node.attr)
            elif isinstance(node, ast.alias) and node.asname:
                found.add(node.asname)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
            ):
                for item in ast.walk(node.value):
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        found.add(item.value)
    return {name for name in found if _private(name)}


def _selfAssigned(cls: type) -> set[str]:
    """
    @return: The names C{cls}'s own source assigns as C{self.NAME}.
    """
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return set()
    return {
        node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


@cache
def definedBy(cls: type, attribute: str) -> bool:
    """
    @return: Whether C{cls} itself (not its bases) defines C{attribute}, as
        a class attribute or as an instance attribute its methods assign.
    """
    return attribute in vars(cls) or attribute in _selfAssigned(cls)


def ownerOf(cls: type, attribute: str) -> type | None:
    """
    @return: The first class not of ours in C{cls}'s method resolution
        order that defines C{attribute}, or L{None}.
    """
    for klass in cls.__mro__:
        if not _ours(klass.__module__) and definedBy(klass, attribute):
            return klass
    return None


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Finder(ast.NodeVisitor):
    """
    Collect the private names one module takes from others.
    """

    def __init__(
        self, module: str, ourNames: set[str], resolve: Resolver, isPackage: bool
    ) -> None:
        self.module = module
        self.ourNames = ourNames
        self.resolve = resolve
        self.package = module if isPackage else module.rpartition(".")[0]
        self.bindings: dict[str, str] = {}
        self.classes: list[str] = []
        self.typed: list[dict[str, str]] = [{}]
        self.uses: list[Use] = []

    def _add(self, name: str, node: ast.AST) -> None:
        self.uses.append(Use(self.module, name, getattr(node, "lineno", 0)))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.bindings[alias.asname] = alias.name
            else:
                top = alias.name.partition(".")[0]
                self.bindings[top] = top
            self._checkImported(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            return
        source = node.module or ""
        for alias in node.names:
            full = f"{source}.{alias.name}"
            self.bindings[alias.asname or alias.name] = full
            self._checkImported(full, node)

    def _checkImported(self, full: str, node: ast.AST) -> None:
        if not _ours(full) and any(_private(part) for part in full.split(".")):
            self._add(full, node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def _foreignType(self, annotation: ast.expr | None) -> str | None:
        """
        @return: The dotted name of the class C{annotation} names when it is
            not ours (C{observer: FileLogObserver}), else L{None}.
        """
        if annotation is None:
            return None
        chain = self._chain(annotation)
        if chain is None or chain[0] not in self.bindings:
            return None
        base = self.bindings[chain[0]]
        return None if _ours(base) else ".".join([base, *chain[1:]])

    def _visitFunction(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        arguments = node.args
        typed = {}
        for argument in [
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
        ]:
            foreign = self._foreignType(argument.annotation)
            if foreign is not None:
                typed[argument.arg] = foreign
        self.typed.append(typed)
        self.generic_visit(node)
        self.typed.pop()

    visit_FunctionDef = _visitFunction
    visit_AsyncFunctionDef = _visitFunction

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        foreign = self._foreignType(node.annotation)
        if foreign is not None and isinstance(node.target, ast.Name):
            self.typed[-1][node.target.id] = foreign
        self.generic_visit(node)

    def _chain(self, node: ast.expr) -> list[str] | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        parts.append(node.id)
        return parts[::-1]

    def _attribute(self, receiver: ast.expr, attribute: str, node: ast.AST) -> None:
        """
        Judge C{receiver.attribute}, C{attribute} being private.
        """
        chain = self._chain(receiver)
        if chain is not None and chain[0] in self.bindings:
            base = self.bindings[chain[0]]
            if not _ours(base):
                self._add(".".join([base, *chain[1:], attribute]), node)
            return
        if (chain == ["self"] or chain == ["cls"]) and self.classes:
            try:
                cls = self.resolve(f"{self.module}.{'.'.join(self.classes)}")
            except Exception:
                cls = None
            if isinstance(cls, type):
                owner = ownerOf(cls, attribute)
                if owner is not None:
                    self._add(f"{_qualified(owner)}.{attribute}", node)
                    return
        # An object of someone else's declared type: its private attribute
        # is theirs, whatever our modules define.
        typed = chain is not None and len(chain) == 1 and chain[0] in self.typed[-1]
        if typed or attribute not in self.ourNames:
            self._add(f"?.{attribute}", node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _private(node.attr):
            self._attribute(node.value, node.attr, node)
            # The receiver's own chain was judged with its first private
            # part; only look further inside it for other expressions.
            inner: ast.expr = node.value
            while isinstance(inner, ast.Attribute):
                inner = inner.value
            self.visit(inner)
            return
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            self._attribute(node.args[0], node.args[1].value, node)
        self.generic_visit(node)


def findUses(
    module: str,
    source: str,
    ourNames: set[str],
    resolve: Resolver = reflect.namedAny,
    isPackage: bool = False,
) -> list[Use]:
    """
    Find the private names C{module} takes from outside the package.

    @param ourNames: The private names our modules define
        (L{projectDefinitions}): an attribute of that name on an object of
        unknown type is taken to be ours.
    @param resolve: Finds our classes, to know their bases.
    @return: The uses, in source order.
    """
    finder = _Finder(module, ourNames, resolve, isPackage)
    finder.visit(ast.parse(source))
    return finder.uses


def packageSources() -> dict[str, tuple[str, bool]]:
    """
    @return: The source of every module of the package, and whether it is a
        package, by module name.
    """
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        isPackage = parts[-1] == "__init__"
        if isPackage:
            parts.pop()
        found[".".join(parts)] = (path.read_text("utf-8"), isPackage)
    return found


_BULLET = re.compile(
    r"^[-*] `(?P<name>[\w.]+)` in (?:\{py:mod\})?`~?(?P<module>[\w.]+)`", re.M
)


def listedNames(page: str) -> list[tuple[str, str]]:
    """
    @return: The C{(module, name)} pairs of the bullets under the page's
        C{## Private names} heading, up to the next heading of that level.
    """
    section = re.search(r"^## Private names\s*$(.*?)(?=^## |\Z)", page, re.M | re.S)
    if section is None:
        return []
    return [(m.group("module"), m.group("name")) for m in _BULLET.finditer(section[1])]


def compare(
    uses: list[Use], listed: list[tuple[str, str]], resolve: Resolver
) -> list[str]:
    """
    Compare the names used with the names listed.

    @return: One line per disagreement: a name used and not listed, a name
        listed and not used, or a listed owner that has no such attribute.
    """
    problems = []
    exact = {(use.module, use.name) for use in uses if not use.name.startswith("?.")}
    loose = {(use.module, use.attribute) for use in uses if use.name.startswith("?.")}
    matchedLoose = set()
    for module, name in listed:
        if (module, name) in exact:
            continue
        owner, _, attribute = name.rpartition(".")
        if (module, attribute) in loose:
            matchedLoose.add((module, attribute))
            try:
                cls = resolve(owner)
            except Exception:
                cls = None
            if not (isinstance(cls, type) and ownerOf(cls, attribute) is not None):
                problems.append(
                    f"listed {name} in {module}: {owner} has no {attribute}"
                )
            continue
        problems.append(f"listed but not used: {name} in {module}")
    listedPairs = set(listed)
    for use in uses:
        if use.name.startswith("?."):
            if (use.module, use.attribute) not in matchedLoose:
                problems.append(
                    f"used but not listed: .{use.attribute} in {use.module}"
                    f" (line {use.line}): list it as Owner.{use.attribute}"
                )
        elif (use.module, use.name) not in listedPairs:
            problems.append(
                f"used but not listed: {use.name} in {use.module} (line {use.line})"
            )
    return sorted(set(problems))


def allUses() -> Iterator[Use]:
    """
    @return: The private names every module of the package takes.
    """
    sources = packageSources()
    ourNames = projectDefinitions({name: s for name, (s, _) in sources.items()})
    for module, (source, isPackage) in sources.items():
        yield from findUses(module, source, ourNames, isPackage=isPackage)


class FinderTests(TestCase):
    """
    The finder sees each kind of use the page must list.
    """

    def _names(self, source: str, ourNames: frozenset[str] = frozenset()) -> list[str]:
        source = textwrap.dedent(source)
        return [
            use.name for use in findUses("welcome_protocol.x", source, set(ourNames))
        ]

    def test_privateModuleImport(self) -> None:
        """
        A name imported from a private module, or a private name imported
        from a public one, is found by its full name.
        """
        self.assertEqual(
            self._names(
                """
                from twisted.protocols.haproxy._wrapper import HAProxyWrappingFactory
                from twisted.internet import _sslverify
                import twisted.internet._glibbase as glib
                from twisted.internet import tcp
                """
            ),
            [
                "twisted.protocols.haproxy._wrapper.HAProxyWrappingFactory",
                "twisted.internet._sslverify",
                "twisted.internet._glibbase",
            ],
        )

    def test_attributeOfImportedName(self) -> None:
        """
        A private attribute read through an imported name is found by its
        full name, however it was imported.
        """
        self.assertEqual(
            self._names(
                """
                import twisted.internet.tcp
                from twisted.python import usage
                usage.Options._dispatch
                twisted.internet.tcp._AbortingMixin
                usage.Options.__init__
                """
            ),
            [
                "twisted.python.usage.Options._dispatch",
                "twisted.internet.tcp._AbortingMixin",
            ],
        )

    def test_selfInSubclass(self) -> None:
        """
        C{self._x} in a subclass of a Twisted class that defines C{_x} is
        found as the Twisted class's attribute, even where one of our
        modules defines a C{_x} of its own; C{self._y} of our own is not.
        """

        class Options(usage.Options):
            pass

        source = textwrap.dedent(
            """
            class Options(usage.Options):
                def __init__(self):
                    self._mine = 1
                    self._dispatch["x"] = self._mine
            """
        )
        uses = findUses(
            "welcome_protocol.x",
            source,
            {"_dispatch", "_mine"},
            resolve=lambda name: {"welcome_protocol.x.Options": Options}[name],
        )
        self.assertEqual(
            [use.name for use in uses], ["twisted.python.usage.Options._dispatch"]
        )

    def test_attributeOfUnknownObject(self) -> None:
        """
        C{obj._x} and C{getattr(obj, "_x")} are found when none of our
        modules defines C{_x}, and left alone when one does.
        """
        source = """
            def f(publisher, observer, transport):
                getattr(publisher, "_observers", None)
                observer._outFile.write("")
                transport._dispatching = True
            """
        self.assertEqual(
            self._names(source, frozenset({"_dispatching"})),
            ["?._observers", "?._outFile"],
        )

    def test_attributeOfTypedObject(self) -> None:
        """
        C{obj._x} where C{obj} is declared a Twisted object is found even
        when one of our modules defines a C{_x} of its own.
        """
        source = """
            from twisted.logger import FileLogObserver
            def f(observer: FileLogObserver, other: int) -> None:
                observer._encoding
                other._encoding
                mine: FileLogObserver = observer
                mine._outFile
            """
        self.assertEqual(
            self._names(source, frozenset({"_encoding", "_outFile"})),
            ["?._encoding", "?._outFile"],
        )

    def test_ourDefinitions(self) -> None:
        """
        Functions, classes, variables, C{self} attributes, slots and import
        aliases of ours are all known as ours.
        """
        source = textwrap.dedent(
            """
            import os as _os
            _CONSTANT = 1
            def _helper(): pass
            class _Thing:
                __slots__ = ("_slot",)
                _classVar: int = 0
                def __init__(self):
                    self._field = 1
            """
        )
        self.assertEqual(
            projectDefinitions({"m": source}),
            {"_os", "_CONSTANT", "_helper", "_Thing", "_slot", "_classVar", "_field"},
        )


class ComparisonTests(TestCase):
    """
    The comparison fails in both directions, and checks the owners it
    cannot see in the source.
    """

    def test_usedNotListed(self) -> None:
        """
        A use without a bullet is reported.
        """
        uses = [Use("welcome_protocol.a", "twisted.x._y", 3)]
        self.assertEqual(
            compare(uses, [], reflect.namedAny),
            ["used but not listed: twisted.x._y in welcome_protocol.a (line 3)"],
        )

    def test_listedNotUsed(self) -> None:
        """
        A bullet naming a name the module no longer uses is reported, as is
        one naming the right name in the wrong module.
        """
        uses = [Use("welcome_protocol.a", "twisted.x._y", 3)]
        listed = [
            ("welcome_protocol.a", "twisted.x._z"),
            ("welcome_protocol.b", "twisted.x._y"),
        ]
        self.assertEqual(
            compare(uses, listed, reflect.namedAny),
            [
                "listed but not used: twisted.x._y in welcome_protocol.b",
                "listed but not used: twisted.x._z in welcome_protocol.a",
                "used but not listed: twisted.x._y in welcome_protocol.a (line 3)",
            ],
        )

    def test_ownerChecked(self) -> None:
        """
        An attribute of an object of unknown type matches a bullet naming
        a class that has it; a bullet naming a class without it is
        reported.
        """
        uses = [Use("welcome_protocol.a", "?._observers", 3)]
        good = [("welcome_protocol.a", "twisted.logger.LogPublisher._observers")]
        bad = [("welcome_protocol.a", "twisted.logger.Logger._observers")]
        self.assertEqual(compare(uses, good, reflect.namedAny), [])
        self.assertEqual(
            compare(uses, bad, reflect.namedAny),
            [
                "listed twisted.logger.Logger._observers in welcome_protocol.a:"
                " twisted.logger.Logger has no _observers"
            ],
        )

    def test_bulletsRead(self) -> None:
        """
        The bullets of the section are read, with or without the module's
        link, and nothing after the next section.
        """
        page = (
            "## Private names\n\nText.\n\n"
            "- `twisted.a._b` in {py:mod}`welcome_protocol.c`: why.\n"
            "- `socket.socket._accept` in `welcome_protocol.d`\n\n"
            "## After\n\n- `twisted.e._f` in `welcome_protocol.g`\n"
        )
        self.assertEqual(
            listedNames(page),
            [
                ("welcome_protocol.c", "twisted.a._b"),
                ("welcome_protocol.d", "socket.socket._accept"),
            ],
        )


class PrivateNamesTests(TestCase):
    """
    The architecture page lists exactly the private names the package uses.
    """

    def test_listComplete(self) -> None:
        """
        Every private name taken from Twisted or the standard library is
        listed with its module, and every listed name is still used there.
        """
        listed = listedNames(PAGE.read_text("utf-8"))
        self.assertNotEqual(listed, [], "no Private names list on the page")
        self.assertEqual(compare(list(allUses()), listed, reflect.namedAny), [])
