"""The mutes document: the mutes and acknowledgements people wrote, in a small document of its own beside the
state (docs/state.md, "The mutes document").

`failstreak mute`, `unmute` and the HTTP front write it; every pass reads it and never writes it (but once, to
move a version-5 state's mutes into it). It lives in the state's store kind (a local file or an S3 object) and is
written the same way, conditionally (`StateStore.save`): `MutesStore.update(change)` reads it, applies `change`,
drops what ended, and writes it at the version it read, again from a fresh read on conflict, so a writer racing
another loses nothing. A document that cannot be read is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from failstreak.core import mutes as book_ops
from failstreak.core.model import Ack, Mute, MuteBook, now_ms
from failstreak.errors import ConfigError, ConflictError, FailstreakError, StateCorrupt
from failstreak.state.base import StateStore
from failstreak.state.codec import diagnose

R = TypeVar("R")

MUTES_VERSION = 1
READABLE_MUTES_VERSIONS = (1,)
# The mutes document's name, in the state's folder (local) or beside the state's key (S3).
MUTES_NAME = "mutes.json"
# Writes of the mutes document that may meet a conflict before a writer gives up: each retry starts from a fresh
# read, and the writers are people and a pass moving old mutes, so a few suffice.
UPDATE_ATTEMPTS = 8


class _MutesDocument(msgspec.Struct, tag_field="version", tag=MUTES_VERSION):
    """The mutes document (version 1), as written and as read; `version` first, as the tag."""

    mutes: list[Mute] = []
    acks: list[Ack] = []


class _Head(msgspec.Struct):
    version: object = None


_HEAD = msgspec.json.Decoder(_Head)
_DECODER = msgspec.json.Decoder(_MutesDocument)
_ENCODER = msgspec.json.Encoder()


def mutes_location(state: str) -> str:
    """Where the mutes document of the state at `state` lives: `mutes.json` beside it
    (`s3://b/failstreak/state.json` → `s3://b/failstreak/mutes.json`)."""
    if state.startswith("s3://"):
        head, _, name = state.rpartition("/")
        where = head + "/" + MUTES_NAME
    else:
        name = Path(state).name
        where = str(Path(state).parent / MUTES_NAME)
    if name == MUTES_NAME:
        raise ConfigError(f"{state}: the state cannot be named {MUTES_NAME}: that is the mutes document beside it")
    return where


def encode_mutes(book: MuteBook) -> bytes:
    """The mutes document's JSON."""
    return _ENCODER.encode(_MutesDocument(mutes=book.mutes, acks=book.acks))


def decode_mutes(data: bytes | None, location: str) -> MuteBook:
    """The mutes document read; None (not written yet) gives an empty one. Raises StateCorrupt in one line naming
    the document and the field."""
    if data is None:
        return MuteBook()
    try:
        # msgspec reads a struct of one tag without its tag: the version is checked first, on its own.
        if _HEAD.decode(data).version is None:
            raise StateCorrupt(f"{location}: not a failstreak mutes document (no 'version'); left untouched")
        doc = _DECODER.decode(data)
    except msgspec.DecodeError as e:
        why = diagnose(data, location, e, READABLE_MUTES_VERSIONS, what="mutes document", document="mutes document")
        raise StateCorrupt(why) from None
    ids = [m.id for m in doc.mutes]
    if len(set(ids)) != len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise StateCorrupt(f"{location}: mutes document is malformed (mute id {twice!r} listed twice); left untouched")
    return MuteBook(mutes=doc.mutes, acks=doc.acks)


class MutesStore:
    """The mutes document in a store (a `StateStore`: a local file under a lock, or an S3 object written with
    If-Match / If-None-Match), read whole and changed by `update`.

    Writers call `update(change)` or its helpers `add_mute`, `remove_mutes`, `add_ack`, `remove_ack`; the pass
    calls `read`.
    """

    def __init__(self, store: StateStore, clock: Callable[[], int] = now_ms, attempts: int = UPDATE_ATTEMPTS) -> None:
        self.store = store
        self.location = store.location
        self.clock = clock
        self.attempts = attempts

    def read(self) -> MuteBook:
        """The document as stored (an empty one when there is none). Raises StateCorrupt, StoreUnavailable."""
        return decode_mutes(self.store.load().data, self.location)

    def update(self, change: Callable[[MuteBook], R]) -> R:
        """Read the document, drop the mutes and acknowledgements that ended, apply `change` (which may raise to
        write nothing) and write it at the version read; on conflict start again from a fresh read. Returns what
        the last `change` returned. Nothing is written when the document came out unchanged.

        Raises FailstreakError when the document kept changing for `attempts` tries (nothing written).
        """
        for _ in range(self.attempts):
            loaded = self.store.load()
            book = decode_mutes(loaded.data, self.location)
            book_ops.prune(book, self.clock())
            result = change(book)
            data = encode_mutes(book)
            if data == loaded.data:
                return result
            try:
                self.store.save(data, loaded.token)
            except ConflictError:
                continue
            return result
        raise FailstreakError(
            f"{self.location}: mutes document kept changing; gave up after {self.attempts} conflicting writes; "
            "nothing saved"
        )

    def add_mute(self, mute: Mute) -> Mute:
        """Add `mute` (built with `Mute.new`)."""
        return self.update(lambda book: book_ops.add_mute(book, mute))

    def merge_mutes(self, mutes: Iterable[Mute]) -> int:
        """Add each of `mutes` not there yet (by id); how many were added."""
        listed = list(mutes)
        return self.update(lambda book: book_ops.merge_mutes(book, listed))

    def remove_mutes(self, what: str) -> list[Mute]:
        """Remove the mutes whose id or pattern is `what`; the ones removed (none: nothing written)."""
        return self.update(lambda book: book_ops.remove_mutes(book, what))

    def add_ack(self, job: str, by: str, hours: float = book_ops.ACK_HOURS) -> Ack:
        """`by` acknowledges `job` for `hours` from now: its reminders are not sent until then."""
        now = self.clock()
        return self.update(lambda book: book_ops.add_ack(book, job, by, now, hours))

    def remove_ack(self, job: str) -> list[Ack]:
        """Withdraw `job`'s acknowledgement; the ones removed."""
        return self.update(lambda book: book_ops.remove_acks(book, job))


def mutes_store(state: str, clock: Callable[[], int] = now_ms, s3: Any = None) -> MutesStore:
    """The mutes document beside the state at `state` (a path or an s3:// URI), in the same kind of store."""
    location = mutes_location(state)
    if location.startswith("s3://"):
        from failstreak.state.s3 import S3StateStore  # noqa: PLC0415 - only S3 users pay for boto3

        return MutesStore(S3StateStore.from_uri(location, s3, noun="mutes document", absent_if_denied=True), clock)
    from failstreak.state.local import LocalStateStore  # noqa: PLC0415

    return MutesStore(LocalStateStore(location, noun="mutes document"), clock)
