"""Write functions/requirements.txt (what `sam build` installs) from pyproject.toml: the runtime dependencies and
the `monitor` extra (the Lambdas run the monitor's code).

`python scripts/gen_requirements.py` rewrites the file; `--check` exits 1 when it is out of date.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
REQUIREMENTS = ROOT / "functions" / "requirements.txt"
HEADER = (
    "# Generated from pyproject.toml (dependencies, monitor extra) by scripts/gen_requirements.py - do not edit.\n"
    "# `make requirements` rewrites it; a test fails when the two disagree.\n"
)


def render(pyproject_text: str) -> str:
    """The requirements file for the given pyproject.toml text: a header, then one dependency a line, sorted."""
    project = tomllib.loads(pyproject_text)["project"]
    deps = [*project["dependencies"], *project.get("optional-dependencies", {}).get("monitor", [])]
    return HEADER + "".join(f"{dep}\n" for dep in sorted(deps, key=str.lower))


def main(argv: list[str]) -> int:
    wanted = render(PYPROJECT.read_text(encoding="utf-8"))
    if "--check" in argv:
        current = REQUIREMENTS.read_text(encoding="utf-8") if REQUIREMENTS.exists() else ""
        if current != wanted:
            print(f"{REQUIREMENTS.relative_to(ROOT)} is out of date: run `make requirements`", file=sys.stderr)
            return 1
        return 0
    REQUIREMENTS.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
