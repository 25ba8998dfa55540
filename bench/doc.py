"""The generated blocks of docs/performance.md: each benchmark rewrites its own block and nothing outside it."""

from __future__ import annotations

from pathlib import Path


def write_block(doc: Path, begin: str, end: str, text: str, heading: str | None) -> None:
    """Put `text` between the `begin` and `end` markers of `doc`. A document without the block gets it appended
    as a new section under `heading`; with `heading` None, a missing block is an error (the block must exist)."""
    body = doc.read_text()
    if begin not in body or end not in body:
        if heading is None:
            raise SystemExit(f"bench: {doc} has no {begin} ... {end} block")
        body = body.rstrip("\n") + f"\n\n## {heading}\n\n" + begin + "\n" + end + "\n"
    head, rest = body.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(head + begin + "\n" + text + "\n" + end + tail)
