"""Ports for persistence: the state store and the inbox."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

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


class Inbox(ABC):
    """Where producers drop execution records.

    Contract: `pending` returns the items waiting, oldest first; `read` returns an item's bytes, or raises
    `ItemGone` when a concurrent pass archived it after the listing (the pass then skips it); `archive`
    moves a processed item out of the inbox (idempotent: archiving an item already gone is not an error);
    `quarantine` moves an unreadable item aside with the reason next to it; `reject_lines` stores the
    rejected lines of an item that was otherwise ingested. Archive and quarantine are called only after
    the state that includes the item is saved.
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
