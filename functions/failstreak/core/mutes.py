"""Which mutes apply: the mutes document's (`failstreak mute`, the HTTP front) and the config file's, the latter
dated from the first pass that saw them (docs/configuration.md, docs/state.md `config_mutes`); and the changes a
writer of the mutes document makes to it (`add_mute`, `remove_mutes`, `add_ack`, `prune`: docs/state.md, "The
mutes document"). Pure: the config's mutes come in as plain values of the `ConfiguredMute` shape, the time as an
argument."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from failstreak.core.model import Ack, Mute, MuteBook, State

# How long an acknowledgement pauses a job's reminders when the writer gives no length (docs/notifications.md).
ACK_HOURS = 24
_HOUR_MS = 3_600_000


class ConfiguredMute(Protocol):
    """A mute as the config file writes it (`mutes:`): no id, no creation time."""

    @property
    def match(self) -> str: ...

    @property
    def until(self) -> datetime | None: ...

    @property
    def runs(self) -> int | None: ...

    @property
    def until_success(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


def all_mutes(state: State, book: MuteBook, configured: Iterable[ConfiguredMute], now: int) -> list[Mute]:
    """The mutes document's live mutes and the config file's (see `config_mutes`)."""
    written = [m for m in book.mutes if live(m, now)]
    return written + config_mutes(state, configured, now, written)


def config_mutes(
    state: State, configured: Iterable[ConfiguredMute], now: int, written: Iterable[Mute] = ()
) -> list[Mute]:
    """The config file's mutes as state mutes, each dated from the first pass that saw it (`state.config_mutes`,
    updated here: a mute seen for the first time is dated `now`, one that left the file is forgotten).

    Dated like a mute from the command line: a mute taken out of the file and put back later is a new mute, whose
    `runs` count from then, not from the progress its earlier self left in the jobs. That progress is dropped
    when a mute leaves the file (`forget_progress`, which keeps the progress of the `written` mutes).
    """
    first_seen = state.config_mutes
    mutes = []
    live = set()
    for m in configured:
        until = int(m.until.timestamp() * 1000) if m.until else None
        key = Mute.new(m.match, 0, until=until, runs=m.runs, until_success=m.until_success).id
        live.add(key)
        created = first_seen.setdefault(key, now)
        mutes.append(
            Mute.new(m.match, created, until=until, runs=m.runs, until_success=m.until_success, reason=m.reason)
        )
    gone = [key for key in first_seen if key not in live]
    for key in gone:
        del first_seen[key]
    if gone:
        forget_progress(state, {m.id for m in written} | {m.id for m in mutes})
    return mutes


def forget_progress(state: State, live: set[str]) -> None:
    """Drop the jobs' mute progress (`mute_runs`) of every mute not in `live`: only a live mute reads it, and a
    mute's id is never reused (it includes its creation time)."""
    for job in state.jobs.values():
        if job.mute_runs and not live.issuperset(job.mute_runs):
            job.mute_runs = {key: runs for key, runs in job.mute_runs.items() if key in live}


def live(mute: Mute, now: int) -> bool:
    """Whether a mute can still apply at `now` (one with an end time past it never will)."""
    return mute.until is None or mute.until > now


def prune(book: MuteBook, now: int) -> bool:
    """Drop the mutes and acknowledgements that ended by `now`; whether any did. Every writer prunes."""
    mutes = [m for m in book.mutes if live(m, now)]
    acks = [a for a in book.acks if a.until > now]
    changed = len(mutes) != len(book.mutes) or len(acks) != len(book.acks)
    book.mutes, book.acks = mutes, acks
    return changed


def add_mute(book: MuteBook, mute: Mute) -> Mute:
    """Add `mute` (build it with `Mute.new`); a mute with its id already there is kept as it is."""
    if all(m.id != mute.id for m in book.mutes):
        book.mutes.append(mute)
    return mute


def merge_mutes(book: MuteBook, mutes: Iterable[Mute]) -> int:
    """Add each of `mutes` not already there (by id); how many were added. Moving a state's mutes twice (a pass
    that died after the move, before its save) adds nothing the second time."""
    before = len(book.mutes)
    for mute in mutes:
        add_mute(book, mute)
    return len(book.mutes) - before


def remove_mutes(book: MuteBook, what: str) -> list[Mute]:
    """Remove the mutes whose id or pattern is `what`; the ones removed."""
    gone = [m for m in book.mutes if what in (m.id, m.match)]
    book.mutes = [m for m in book.mutes if what not in (m.id, m.match)]
    return gone


def add_ack(book: MuteBook, job: str, by: str, now: int, hours: float = ACK_HOURS) -> Ack:
    """`by` acknowledges `job` from `now` for `hours`; it replaces the job's earlier acknowledgement."""
    if not hours > 0:
        raise ValueError(f"an acknowledgement lasts more than 0 hours, not {hours:g}")
    ack = Ack(job=job, by=by, at=now, until=now + int(hours * _HOUR_MS))
    book.acks = [a for a in book.acks if a.job != job] + [ack]
    return ack


def remove_acks(book: MuteBook, job: str) -> list[Ack]:
    """Withdraw the acknowledgement of `job`; the ones removed."""
    gone = [a for a in book.acks if a.job == job]
    book.acks = [a for a in book.acks if a.job != job]
    return gone


def active_acks(book: MuteBook, now: int) -> dict[str, Ack]:
    """The acknowledgements in force at `now`, by job."""
    return {a.job: a for a in book.acks if now < a.until}
