"""The complexity check `make lint` runs (scripts/complexity.py): what it measures and what it reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("complexity_script", ROOT / "scripts" / "complexity.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _branches(name: str, count: int, indent: str = "    ") -> str:
    """A function `name` of complexity count + 1 (one `if` per branch)."""
    body = "".join(f"{indent}    if x == {i}:\n{indent}        return {i}\n" for i in range(count))
    return f"{indent}def {name}(x):\n{body}{indent}    return -1\n"


def test_every_function_is_measured_methods_of_nested_classes_and_closures_included():
    # Given a module with a method, a method of a nested class, and a function nested in a function
    source = (
        "class Outer:\n"
        "    class Inner:\n"
        + _branches("deep", 2, "        ")
        + _branches("method", 1)
        + "def top():\n"
        + _branches("closure", 3)
    )
    # When the script lists its functions
    found = {f.fullname: f.complexity for f in _script()._blocks(source)}
    # Then each is measured on its own
    assert found == {"Inner.deep": 3, "Outer.method": 2, "top": 1, "closure": 4}


def test_a_function_over_the_limit_is_reported_with_its_place_and_the_exempt_module_is_not(tmp_path):
    # Given a tree with one function at the limit, one over it, and the same one in the exempt fast-path module
    script = _script()
    limit = script.LIMIT
    pkg = tmp_path / "functions" / "failstreak" / "inbox"
    pkg.mkdir(parents=True)
    (pkg / "ok.py").write_text(_branches("at_limit", limit - 1, ""))
    (pkg / "busy.py").write_text("\n" + _branches("too_busy", limit, ""))
    (pkg / "fastpath.py").write_text(_branches("fast", limit + 5, ""))
    # When the check runs
    problems = script.over_limit(tmp_path / "functions")
    # Then only the busy function outside the exempt module is reported, with its file, line and complexity
    assert problems == [f"functions/failstreak/inbox/busy.py:2 too_busy has complexity {limit + 1}"]
    assert script.main([str(tmp_path / "functions")]) == 1
