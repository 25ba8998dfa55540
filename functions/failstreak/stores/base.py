"""Ports for persistence: the state store and the inbox."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from failstreak.errors import ItemGone, StoreUnavailable
from failstreak.model import Rejected


@dataclass(frozen=True, slots=True)
class Loaded:
    """A state document's bytes (None when it does not exist yet) and the version token it was read at."""

    data: bytes | None
    token: str | None


class StateStore(ABC):
    """Where the state document lives.

    Contract: `load` returns the current bytes and an opaque version token; `save` writes only if the
    document is still at `token` (None: only if it does not exist yet) and returns the new token, else
    raises `ConflictError`. A store never overwrites a document it could not read.
    """

    location: str

    @abstractmethod
    def load(self) -> Loaded: ...

    @abstractmethod
    def save(self, data: bytes, token: str | None) -> str: ...


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
    stored and it is archived.
    """

    item: InboxItem
    quarantine: str | None = None
    rejected: Sequence[Rejected] = field(default_factory=tuple)


class Inbox(ABC):
    """Where producers drop execution records.

    Contract: `pending` returns the items waiting, oldest first; `read` returns an item's bytes, or raises
    `ItemGone` when a concurrent pass archived it after the listing (the pass then skips it); `archive`
    moves a processed item out of the inbox (idempotent: archiving an item already gone is not an error);
    `quarantine` moves an unreadable item aside with the reason next to it; `reject_lines` stores the
    rejected lines of an item that was otherwise ingested. Archive and quarantine are called only after
    the state that includes the item is saved.

    `read_many` and `finish_many` are the batch forms the pass uses. Their defaults here call the one-item
    methods in order; an adapter whose every call is a network round trip (S3) overrides them to overlap the
    calls, keeping the same per-item results and order.
    """

    location: str

    @abstractmethod
    def pending(self) -> list[InboxItem]: ...

    @abstractmethod
    def read(self, item: InboxItem) -> bytes: ...

    @abstractmethod
    def archive(self, item: InboxItem) -> None: ...

    @abstractmethod
    def quarantine(self, item: InboxItem, reason: str) -> None: ...

    @abstractmethod
    def reject_lines(self, item: InboxItem, rejected: list[Rejected]) -> None: ...

    def read_many(self, items: Sequence[InboxItem]) -> Iterator[tuple[InboxItem, bytes | ItemGone | StoreUnavailable]]:
        """Each item with its bytes, in the order given; an item that could not be read comes with the
        `ItemGone` or `StoreUnavailable` its `read` raised, and the others still come. Any other exception is
        raised when the iteration reaches that item.

        An implementation may read ahead of the consumer, but only a bounded window of items: the caller
        parses one item at a time and should not need the whole batch in memory at once.
        """
        for item in items:
            try:
                yield item, self.read(item)
            except (ItemGone, StoreUnavailable) as e:
                yield item, e

    def finish_many(self, done: Sequence[Done]) -> None:
        """Quarantine, or store the rejected lines of and archive, each item (see `Done`).

        Every item is attempted even when some fail: one item the store refuses must not keep the others in
        the inbox. Once all were attempted, the first `StoreUnavailable` (in the order given) is raised, naming
        how many others failed too; any other exception ends the batch (items not yet attempted stay in the
        inbox).
        """
        failed: list[StoreUnavailable] = []
        for d in done:
            try:
                self.finish(d)
            except StoreUnavailable as e:
                failed.append(e)
        raise_first(failed)

    def finish(self, d: Done) -> None:
        """One item of `finish_many`: the reason is written before the move, the rejected lines before the
        archive, so an item out of the inbox always has them beside it."""
        if d.quarantine is not None:
            self.quarantine(d.item, d.quarantine)
            return
        self.reject_lines(d.item, list(d.rejected))
        self.archive(d.item)


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
