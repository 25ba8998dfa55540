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
