"""The inbox port: where producers leave execution files, read oldest first, archived by the pass."""

from __future__ import annotations

import heapq
import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO

import orjson

from failstreak.core.model import Rejected
from failstreak.errors import StoreUnavailable

# The unit of the inbox's size bounds (inbox_max_mib, inbox_file_max_mib).
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One file (or object) waiting in the inbox. `key` is unique within the inbox."""

    key: str
    size: int
    modified_ms: int


@dataclass(frozen=True, slots=True)
class Done:
    """What becomes of one item the pass read, once the state that includes it is saved.

    `quarantine` set: the item is moved aside with that reason. Otherwise its `rejected` lines (if any) are
    stored and it is archived. `unlisted`: how many more lines were rejected than `rejected` lists (a pass
    keeps a bounded number in memory); the item is then also copied whole into the quarantine, so that every
    rejected line is kept there.
    """

    item: InboxItem
    quarantine: str | None = None
    rejected: Sequence[Rejected] = field(default_factory=tuple)
    unlisted: int = 0


class Rejoined(io.RawIOBase):
    """A stream whose first bytes were already taken from it: those bytes, then the rest of it."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._rest.close()
        super().close()


def rejected_body(name: str, rejected: Sequence[Rejected], unlisted: int, whole: str) -> bytes:
    """The rejected lines of an item as stored in quarantine: one JSON object per line (file, line, reason, the
    start of the raw line); when more were rejected than listed, a last object says how many and where the
    whole item is kept."""
    lines = [orjson.dumps({"file": r.file, "line": r.line, "reason": r.reason, "raw": r.raw}) for r in rejected]
    if unlisted:
        reason = f"{unlisted} more rejected lines are not listed here: the whole file is kept as {whole}"
        lines.append(orjson.dumps({"file": name, "line": None, "reason": reason, "raw": None}))
    return b"\n".join(lines) + b"\n"


def _age(item: InboxItem) -> tuple[int, str]:
    return item.modified_ms, item.key


def oldest_of(items: Iterable[InboxItem], limit: int | None) -> tuple[list[InboxItem], int]:
    """`Inbox.oldest` over a listing read one item at a time: a heap of the `limit` oldest, and a count."""
    count = 0

    def counted() -> Iterator[InboxItem]:
        nonlocal count
        for item in items:
            count += 1
            yield item

    if limit is None:
        return sorted(counted(), key=_age), count
    return heapq.nsmallest(limit, counted(), key=_age), count


def pass_folder(pass_id: str, now_ms: int) -> str:
    """`YYYY/MM/DD/<pass id>`: where a pass archives and quarantines the items it read, under `processed/` and
    `quarantine/` (docs/s3-and-lambda.md). The day is the pass's own (UTC); the pass id makes the folder the
    pass's alone, so two items of the same name, read by two passes, never overwrite each other."""
    day = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y/%m/%d")
    return f"{day}/{pass_id}"


class Inbox(ABC):
    """Where producers drop execution records.

    Contract: `pending` returns the items waiting, oldest first; `read` returns an item's bytes, and `open` a
    stream of them (by default, over `read`), or raises `ItemGone` when a concurrent pass archived it after
    the listing (the pass then skips it) or `ItemRefused` when it is not a regular file or cannot be opened
    (the pass quarantines it); `archive` moves a processed item out of the inbox into the pass's folder
    (idempotent: archiving an item already gone is not an error); `quarantine` moves an unreadable item
    aside with the reason next to it; `reject_lines` stores the rejected lines of an item that was otherwise
    ingested. Archive and quarantine are called only after the state that includes the item is saved.
    `folder` is the pass's `pass_folder`: what one pass moves never overwrites what another moved.

    `read_many` and `finish_many` are the batch forms the pass uses. Their defaults here call the one-item
    methods in order; an adapter whose every call is a network round trip (S3) overrides them to overlap the
    calls, keeping the same per-item results and order.
    """

    location: str

    @abstractmethod
    def pending(self) -> list[InboxItem]: ...

    def oldest(self, limit: int | None) -> tuple[list[InboxItem], int]:
        """The `limit` oldest waiting items (all, with None), oldest first, and how many are waiting in all.

        An adapter that can list its items one at a time overrides this with `oldest_of`, so that an inbox of
        millions of files costs the pass `limit` items of memory, not millions.
        """
        items = self.pending()
        return (items if limit is None else items[:limit]), len(items)

    @abstractmethod
    def read(self, item: InboxItem) -> bytes: ...

    def open(self, item: InboxItem) -> BinaryIO:
        return io.BytesIO(self.read(item))

    @abstractmethod
    def archive(self, item: InboxItem, folder: str) -> None: ...

    @abstractmethod
    def quarantine(self, item: InboxItem, reason: str, folder: str) -> None: ...

    @abstractmethod
    def reject_lines(self, item: InboxItem, rejected: list[Rejected], folder: str, unlisted: int = 0) -> None: ...

    @abstractmethod
    def keep(self, folder: str, name: str, body: bytes) -> None:
        """Write `body` as `name` in the pass's archive folder (under `processed/`): what the sources pulled, as
        JSON Lines, so that the archive holds every run a pass counted (docs/triage.md, the backtest)."""

    def read_many(self, items: Sequence[InboxItem]) -> Iterator[tuple[InboxItem, BinaryIO | Exception]]:
        """Each item with a stream of its bytes, in the order given; an item that could not be opened comes with
        the exception its `open` raised (`ItemGone`, `StoreUnavailable`, `ItemRefused` or any other), and the
        others still come. The caller closes each stream.

        An implementation may read ahead of the consumer, but only a bounded window of items and a bounded
        number of bytes of each: the caller reads one item at a time and must not need the batch in memory.
        """
        for item in items:
            try:
                yield item, self.open(item)
            except Exception as e:  # one item's failure, whatever it is, must not stop the others
                yield item, e

    def finish_many(self, done: Sequence[Done], folder: str) -> None:
        """Quarantine, or store the rejected lines of and archive, each item (see `Done`).

        Every item is attempted even when some fail: one item the store refuses must not keep the others in
        the inbox. Once all were attempted, the first `StoreUnavailable` (in the order given) is raised, naming
        how many others failed too; any other exception ends the batch (items not yet attempted stay in the
        inbox).
        """
        failed: list[StoreUnavailable] = []
        for d in done:
            try:
                self.finish(d, folder)
            except StoreUnavailable as e:
                failed.append(e)
        raise_first(failed)

    def finish(self, d: Done, folder: str) -> None:
        """One item of `finish_many`: the reason is written before the move, the rejected lines before the
        archive, so an item out of the inbox always has them beside it."""
        if d.quarantine is not None:
            self.quarantine(d.item, d.quarantine, folder)
            return
        self.reject_lines(d.item, list(d.rejected), folder, d.unlisted)
        self.archive(d.item, folder)


def raise_first(failed: Sequence[StoreUnavailable]) -> None:
    """Raise the first failure of a batch as it was (one failure: exactly the error a single call raises);
    with more, its message says how many other items failed (the Lambda logs one line per failed pass)."""
    if not failed:
        return
    first = failed[0]
    if len(failed) == 1:
        raise first
    raise StoreUnavailable(
        f"{first} (and {len(failed) - 1} more inbox items could not be moved; they stay for the next pass)"
    ) from first
