"""Gzip data inflated whole, in time linear in its size however many members it has, and within a bound.

`gzip.decompress` copies the rest of its input at every member it ends, so a document of many members (the
state has one per 32 jobs; 1,563 members at 100k jobs took 7 s instead of 0.7 s) or a body of many tiny ones
costs the square of its size. `GzipFile` reads its input in bounded steps, so each member's end copies at most
one step, and its errors are those of the inbox's streaming reader (docs/records.md says what they mean).
"""

from __future__ import annotations

import gzip
import io


class InflatedTooLarge(ValueError):
    """The inflated data would pass the bound it was read under."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit:,} bytes once decompressed")
        self.limit = limit


def inflate(data: bytes, limit: int | None = None) -> bytes:
    """Every member of the gzip data `data`, joined (as `gunzip` gives them; zero padding between members is
    skipped as gzip skips it). Raises OSError (gzip.BadGzipFile), EOFError or zlib.error for data that is not
    gzip, is damaged or is cut short, and InflatedTooLarge past `limit` bytes (None: no bound), having inflated
    at most one byte more than the bound."""
    reader = gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb")
    if limit is None:
        return reader.read()
    out = reader.read(limit + 1)
    if len(out) > limit:
        raise InflatedTooLarge(limit)
    return out
