"""The layering docs/architecture.md promises, checked on the source: the core is pure, and no module reaches into
another's private names."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import failstreak

PACKAGE = Path(failstreak.__file__).parent
CORE_MAY_IMPORT = {"msgspec", "failstreak.core"}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every absolute import in a source file, wherever it is in the file."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def _allowed_in_core(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    return (
        top in sys.stdlib_module_names
        or module in CORE_MAY_IMPORT
        or any(module.startswith(f"{m}.") for m in CORE_MAY_IMPORT)
    )


def test_the_core_imports_only_the_core_the_standard_library_and_msgspec() -> None:
    # Given every module of failstreak/core
    modules = sorted((PACKAGE / "core").glob("*.py"))
    assert modules
    # When their imports are read; Then none reaches config, I/O adapters or a vendor library
    outside = [
        f"{path.name}: {module}" for path in modules for module, _ in _imports(path) if not _allowed_in_core(module)
    ]
    assert outside == []


def test_no_module_imports_another_modules_private_names() -> None:
    # Given every module of the package
    modules = sorted(PACKAGE.rglob("*.py"))
    # When their `from failstreak... import` lines are read; Then none names a `_private` name
    private = [
        f"{path.relative_to(PACKAGE)}: {module}.{name}"
        for path in modules
        for module, names in _imports(path)
        if module.split(".")[0] == "failstreak"
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert private == []


def test_no_source_adapter_imports_the_app() -> None:
    # Given every module of failstreak/sources (the adapters and their settings)
    modules = sorted((PACKAGE / "sources").glob("*.py"))
    assert len(modules) >= 6
    # When their imports are read; Then none reaches back into app/: the app builds sources, never the reverse
    back = [
        f"{path.name}: {module}"
        for path in modules
        for module, names in _imports(path)
        if module == "failstreak.app"
        or module.startswith("failstreak.app.")
        or (module == "failstreak" and "app" in names)
    ]
    assert back == []


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _top_level_imports(path: Path, known: set[str]) -> set[str]:
    """The failstreak modules a module imports when it is itself imported: the statements run at import time
    (not those inside functions, nor under `if TYPE_CHECKING:`), `from pkg import module` resolved to the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If):
            if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module in known:
                found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or of one that imports itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    # Given a graph with one three-module loop and a chain that hangs off it
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    # When its cycles are listed; Then only the loop is
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_two_modules_import_each_other_even_through_others() -> None:
    # Given every module of the package and what it imports at import time
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    known = set(paths)
    graph = {name: _top_level_imports(path, known) - {name} for name, path in paths.items()}
    assert sum(len(v) for v in graph.values()) > 50
    # When the import graph is searched for cycles; Then there are none
    assert _cycles(graph) == []


LIGHT_MODULES = ("launcher.py", "lightreport.py", "ci.py")


def test_the_light_reporter_imports_only_the_standard_library_and_itself() -> None:
    # Given the modules `pip install failstreak` (no extra) must run: docs/http.md, "Reporting from CI"
    allowed = {"failstreak", "failstreak.ci", "failstreak.lightreport"}
    # When their imports are read (the launcher's lazy import of the monitor's CLI aside, which it guards)
    outside = [
        f"{name}: {module}"
        for name in LIGHT_MODULES
        for module, _ in _imports(PACKAGE / name)
        if module.split(".")[0] not in sys.stdlib_module_names
        and module not in allowed
        and not (name == "launcher.py" and module == "failstreak.app.cli")
    ]
    # Then none reaches a package the monitor extra installs, or a failstreak module that does
    assert outside == []
