"""What the Slack routes write: mutes and acknowledgements, in the mutes document beside the state (docs/state.md).

`MuteLedger` is the port: each method is one conditional change of the document (re-done from a fresh read when
another writer got there first), so a click racing a pass or another click loses nothing. A click never touches
the state itself.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from failstreak.core import mutes as book_ops
from failstreak.core.model import Ack, Mute, MuteBook
from failstreak.state.mutes import MutesStore


@dataclass(frozen=True, slots=True)
class Unmuted:
    """What an unmute took away, and the mutes that still cover the job (other patterns)."""

    removed: list[Mute] = field(default_factory=list)
    acknowledged: bool = False
    still: list[Mute] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """`by` took `job` in hand at `at`; its reminders wait until `until` (epoch ms)."""

    job: str
    by: str
    at: int
    until: int


class MuteLedger(ABC):
    """The mutes document as the front changes it. Raises StoreUnavailable when it cannot be read or written, and
    FailstreakError when it kept changing under the writer (nothing written then)."""

    location: str

    @abstractmethod
    def mute(self, mute: Mute) -> list[Mute]:
        """Add `mute`, replacing the mutes of exactly its pattern (the last choice wins); the ones replaced."""

    @abstractmethod
    def unmute(self, what: str, job: str | None = None) -> Unmuted:
        """Remove the mutes whose pattern or id is `what`, and `job`'s acknowledgement when a job is given."""

    @abstractmethod
    def acknowledge(self, ack: Acknowledgement) -> None:
        """Record `ack`, replacing the job's earlier one."""

    @abstractmethod
    def mutes(self) -> list[Mute]:
        """The mutes written (by people: the CLI and the front), as stored now."""

    @abstractmethod
    def acknowledgements(self) -> list[Acknowledgement]:
        """The acknowledgements in the document now."""


class StoreLedger(MuteLedger):
    """The mutes document beside the state (state/mutes.py's `MutesStore`): each change one conditional
    read-modify-write, started again from a fresh read when another writer got there first."""

    def __init__(self, store: MutesStore) -> None:
        self.store = store
        self.location = store.location

    def mute(self, mute: Mute) -> list[Mute]:
        def change(book: MuteBook) -> list[Mute]:
            replaced = [m for m in book.mutes if m.match == mute.match]
            book.mutes = [m for m in book.mutes if m.match != mute.match]
            book_ops.add_mute(book, mute)
            return replaced

        return self.store.update(change)

    def unmute(self, what: str, job: str | None = None) -> Unmuted:
        def change(book: MuteBook) -> Unmuted:
            removed = book_ops.remove_mutes(book, what)
            acked = bool(book_ops.remove_acks(book, job)) if job is not None else False
            still = [m for m in book.mutes if job is not None and fnmatch.fnmatchcase(job, m.match)]
            return Unmuted(removed, acked, still)

        return self.store.update(change)

    def acknowledge(self, ack: Acknowledgement) -> None:
        def change(book: MuteBook) -> None:
            book_ops.remove_acks(book, ack.job)
            book.acks.append(Ack(job=ack.job, by=ack.by, at=ack.at, until=ack.until))

        self.store.update(change)

    def mutes(self) -> list[Mute]:
        return list(self.store.read().mutes)

    def acknowledgements(self) -> list[Acknowledgement]:
        return [Acknowledgement(a.job, a.by, a.at, a.until) for a in self.store.read().acks]
