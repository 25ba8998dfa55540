"""Fail when a function is more complex than the project allows (docs/architecture.md, "Complexity").

Cyclomatic complexity as radon measures it (`radon cc`): every function and method under `functions/` must stay at
or under `LIMIT`. One module is exempt, the inbox's fast path: it restates the record rules of the checked parser
in a form msgspec decodes in C, a speed bought with branches, and it is tested against that parser example by
example (tests/unit/inbox/).

Usage: python scripts/complexity.py [ROOT ...]   (default: functions)
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

LIMIT = 15
EXEMPT = frozenset({"functions/failstreak/inbox/fastpath.py"})


def _functions(block: Function) -> list[Function]:
    """A function and the functions defined inside it."""
    found = [block]
    for inner in block.closures:
        found.extend(_functions(inner))
    return found


def _blocks(source: str) -> list[Function]:
    """Every function and method of a module, nested ones included.

    radon lists top-level functions and every class's methods itself; the methods of a class nested in a class
    and the functions nested in a function are only reachable from their parent.
    """
    found: list[Function] = []
    pending: list[Class] = []
    for block in cc_visit(source):
        if isinstance(block, Class):
            pending.extend(block.inner_classes)
        else:
            found.extend(_functions(block))
    while pending:
        cls = pending.pop()
        for method in cls.methods:
            found.extend(_functions(method))
        pending.extend(cls.inner_classes)
    return found


def over_limit(root: Path) -> list[str]:
    """`path:line name complexity` for each function over the limit, outside the exempt module."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if rel in EXEMPT:
            continue
        for block in _blocks(path.read_text(encoding="utf-8")):
            if block.complexity > LIMIT:
                problems.append(f"{rel}:{block.lineno} {block.fullname} has complexity {block.complexity}")
    return problems


def main(argv: list[str]) -> int:
    roots = [Path(a) for a in argv] or [Path("functions")]
    problems = [p for root in roots for p in over_limit(root)]
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} function(s) over cyclomatic complexity {LIMIT}: split them into named steps")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
