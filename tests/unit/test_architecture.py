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
