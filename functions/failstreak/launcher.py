"""The `failstreak` command's entry point. Standard library only, so that `pip install failstreak` (no extra)
still runs `failstreak report --inbox https://...` (failstreak/lightreport.py), and every other command says which
extra it needs instead of failing on an import.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from failstreak import lightreport

EXTRA_HINT = "pip install 'failstreak[monitor]'"


def _inbox_of(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--inbox" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--inbox="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else ""
    if command == "report" and lightreport.posts_over_http(_inbox_of(args[1:])):
        return lightreport.main(args[1:])
    try:
        from failstreak.app.cli import main as monitor_main  # noqa: PLC0415 - needs the monitor's dependencies
    except ImportError as e:
        what = f"failstreak {command}" if command else "failstreak"
        print(
            f"failstreak: {what} needs the monitor's dependencies ({e.name or e} is not installed): {EXTRA_HINT}; "
            "without them only `failstreak report --inbox https://.../ingest` works (docs/http.md)",
            file=sys.stderr,
        )
        return 2
    return monitor_main(args)


if __name__ == "__main__":
    sys.exit(main())
