"""
Sphinx inventories (C{objects.inv}) of Twisted and Python, made offline.

The API reference links the Twisted and Python names its docstrings mention
to their own documentation.  Both projects publish an C{objects.inv} for
that, but the docs must build without downloading anything, so the
inventories are made here from what is installed:

 - Twisted's by pydoctor itself (C{--make-intersphinx}) run over the installed
   C{twisted} package: Twisted's API documentation is built by pydoctor, so
   the names and pages (re-exports included, such as
   C{twisted.logger.Logger}) are the ones published at L{TWISTED_URL}.  Its test
   packages are left out; the rest takes pydoctor about 10 s, so the
   result is kept per Twisted version.
 - Python's for the builtins' constants and exceptions and for the standard
   library modules the package imports, with the page and anchor names the
   Python documentation uses (C{library/signal.html#signal.signal}).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

TWISTED_URL = "https://docs.twisted.org/en/stable/api/"
PYTHON_URL = f"https://docs.python.org/{sys.version_info[0]}.{sys.version_info[1]}/"


def twistedInventory(cache: Path) -> Path:
    """
    Make (once per Twisted version) the inventory of the installed Twisted.

    @param cache: A directory to keep it in.
    @return: The path of the C{objects.inv}.
    """
    import twisted

    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"twisted-{twisted.__version__}.inv"
    if target.exists():
        return target
    work = cache / "twisted-pydoctor"
    # Twisted's test packages are half its modules and nothing links to
    # them: leaving them out halves the time and changes no other entry.
    source = work / "source" / "twisted"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(
        Path(twisted.__file__).parent,
        source,
        ignore=shutil.ignore_patterns("test", "__pycache__", "*.pyc"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pydoctor",
            "--make-intersphinx",
            "--quiet",
            "--quiet",
            "--project-name=Twisted",
            f"--project-version={twisted.__version__}",
            f"--html-output={work / 'html'}",
            str(source),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (work / "html" / "objects.inv").replace(target)
    shutil.rmtree(work)
    return target


def _writeInventory(target: Path, project: str, version: str, lines: list[str]) -> None:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = zlib.compress("".join(line + "\n" for line in lines).encode("utf-8"))
    target.write_bytes(header.encode("utf-8") + body)


def _stdlibImports(package: Path) -> set[str]:
    """
    @return: The standard library modules (and their parents) that the
        modules of C{package} import.
    """
    found: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in sys.stdlib_module_names:
                    parts = name.split(".")
                    found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found - {"__future__"}


def pythonInventory(cache: Path, package: Path) -> Path:
    """
    Make the inventory of Python's builtins and of the standard library
    modules that C{package} imports.

    @param cache: A directory to keep it in.
    @param package: The package whose imports say which modules to list.
    @return: The path of the C{objects.inv}.
    """
    lines = []
    for name in ("None", "True", "False", "NotImplemented", "Ellipsis"):
        lines.append(f"{name} py:data 1 library/constants.html#{name} -")
    for name in ("int", "float", "bool", "object", "type"):
        lines.append(f"{name} py:class 1 library/functions.html#{name} -")
    for name in ("str", "bytes", "bytearray", "list", "tuple", "dict", "set"):
        lines.append(f"{name} py:class 1 library/stdtypes.html#{name} -")
    for name, value in vars(builtins).items():
        if isinstance(value, type) and issubclass(value, BaseException):
            lines.append(f"{name} py:exception 1 library/exceptions.html#{name} -")
        elif callable(value) and not isinstance(value, type) and name[0] != "_":
            lines.append(f"{name} py:function 1 library/functions.html#{name} -")
    for module in sorted(_stdlibImports(package)):
        page = f"library/{module}.html"
        lines.append(f"{module} py:module 0 {page}#module-{module} -")
        imported = importlib.import_module(module)
        public = getattr(imported, "__all__", None) or [
            name for name in vars(imported) if not name.startswith("_")
        ]
        for name in public:
            value = getattr(imported, name, None)
            if str(getattr(value, "__module__", None) or module).split(".")[0] not in (
                module.split(".")[0],
                "_" + module.split(".")[0],
            ):
                continue  # imported from elsewhere, documented there
            role = (
                "py:exception"
                if isinstance(value, type) and issubclass(value, BaseException)
                else "py:class"
                if isinstance(value, type)
                else "py:function"
                if callable(value)
                else "py:data"
            )
            lines.append(f"{module}.{name} {role} 1 {page}#{module}.{name} -")
    target = cache / f"python-{sys.version_info[0]}.{sys.version_info[1]}.inv"
    cache.mkdir(parents=True, exist_ok=True)
    _writeInventory(
        target, "Python", f"{sys.version_info[0]}.{sys.version_info[1]}", lines
    )
    return target
