"""Collect: what a pass reads before it changes anything, from the inbox (within the pass's bounds, each file on
its own) and from the sources (each from its cursor), with the job-name rules applied."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

from failstreak.core.jobnames import JobKeyRules
from failstreak.core.model import Execution, Rejected, State, Status, iso
from failstreak.errors import FailstreakError, ItemGone, SourceError, StoreUnavailable
from failstreak.inbox.base import Done, Inbox, InboxItem
from failstreak.inbox.records import EARLIEST_MS, MAX_JOB_LEN, MAX_RUN_ID_LEN, latest_time
from failstreak.pipeline.summary import MAX_REJECTS_LISTED, Summary
from failstreak.sources.base import Source

if TYPE_CHECKING:
    from failstreak.inbox.intake import FileRead, TooLarge

# Rejected lines a pass keeps in memory to store in quarantine (about 1 KiB each at most); a file with more
# rejected lines than the pass has room for is kept whole in quarantine instead (`Done.unlisted`).
MAX_REJECTS_KEPT = 20_000


@dataclass(frozen=True)
class IntakeSettings:
    """What the collect stage needs of the config (docs/configuration.md), as plain values: the inbox's bounds
    per pass and per file (None: unbounded), the clock skew a record's time may have, the statuses whose
    records keep their link, commit and reason, and the job-name rules. Built by the caller from the config
    (`app/intake_settings.py`)."""

    max_files: int | None
    max_bytes: int | None  # decompressed, over the pass's batch
    file_max_bytes: int  # decompressed, per file
    max_records: int | None
    max_clock_skew_ms: int
    details: frozenset[Status]
    job_rules: JobKeyRules = field(default_factory=JobKeyRules)


@dataclass
class Collected:
    """What the collect stage gathered: executions, the inbox files they came from, the sources' new cursors."""

    executions: list[Execution] = field(default_factory=list)
    files: list[Done] = field(default_factory=list)
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulled: dict[str, list[Execution]] = field(default_factory=dict)
    """What each source pulled (before the job-name rules), for the archive."""


def _batch(settings: IntakeSettings, pending: list[InboxItem]) -> list[InboxItem]:
    """The oldest inbox items that may fit one pass's bounds (at least one). Listed sizes are what is stored
    (compressed, for gzip), so this only narrows the batch down; `collect` applies the byte bound to what the
    items hold once decompressed, as it reads them."""
    max_files = settings.max_files or len(pending)
    max_bytes = settings.max_bytes
    taken = 0
    size = 0
    for item in pending:
        if taken and (taken >= max_files or (max_bytes is not None and size + item.size > max_bytes)):
            break
        taken += 1
        size += item.size
    return pending[:taken]


def _unreadable(e: BaseException) -> str:
    """The quarantine reason of a file whose reading failed in a way the reader does not describe itself."""
    if isinstance(e, RecursionError):
        return "cannot be read: nested too deeply"
    if isinstance(e, MemoryError):
        return "cannot be read: it needs more memory than the pass has"
    return f"cannot be read: {type(e).__name__}: {e}".splitlines()[0][:500]


class _Waits(Exception):
    """The file outgrew what is left of the pass's bounds: it stays in the inbox, first in the next pass."""


@dataclass
class _Budget:
    """What the batch has used of the pass's bounds so far, and so what the next file may hold."""

    settings: IntakeSettings
    read_bytes: int = 0
    records: int = 0
    kept: int = 0  # rejected lines kept for the quarantine
    consumed: int = 0  # items dealt with (read, quarantined, gone, or left for the next pass)

    def next_file(self) -> tuple[int, int | None] | None:
        """The next file's bounds (decompressed bytes, records), or None when the batch's are used up. The first
        file may be as large as the per-file cap and hold the whole bound of records; the others only what is
        left. (Memory grows with the records a pass counts, about 1 KiB each: docs/performance.md.)"""
        s = self.settings
        if not self.consumed:
            return s.file_max_bytes, s.max_records
        room = None if s.max_bytes is None else s.max_bytes - self.read_bytes
        records_left = None if s.max_records is None else s.max_records - self.records
        if (room is not None and room <= 0) or (records_left is not None and records_left <= 0):
            return None
        cap = s.file_max_bytes if room is None else min(s.file_max_bytes, room)
        return cap, records_left

    def outgrew(self, e: TooLarge) -> bool:
        """Whether the file is too large only for what is left of the batch, not for a pass of its own."""
        whole = self.settings.max_records if e.records else self.settings.file_max_bytes
        return not e.array and whole is not None and e.limit < whole

    def took(self, read: FileRead) -> None:
        self.read_bytes += read.size
        self.records += len(read.executions)
        if read.fatal is None:
            self.kept += len(read.rejected)


def _read_item(
    item: InboxItem, opened: BinaryIO | Exception, budget: _Budget, bounds: tuple[int, int | None], latest: int
) -> Done | FileRead | None:
    """Read one opened item within `bounds`: what it holds, a `Done` that quarantines it with its reason, or None
    when it is gone. Raises `StoreUnavailable` when it cannot be read this pass, `_Waits` when it outgrew what is
    left of the batch."""
    if isinstance(opened, ItemGone):
        return None
    if isinstance(opened, StoreUnavailable):
        raise opened
    if isinstance(opened, Exception):
        return Done(item, quarantine=str(opened) if isinstance(opened, FailstreakError) else _unreadable(opened))
    cap, max_records = bounds
    # The parsers are imported by the first pass that has a file to read (docs/performance.md, "Cold start").
    from failstreak.inbox.intake import TooLarge, read_file, too_large_reason  # noqa: PLC0415

    try:
        with opened:
            return read_file(
                item.key,
                opened,
                cap=cap,
                room=MAX_REJECTS_KEPT - budget.kept,
                max_records=max_records,
                details=budget.settings.details,
                latest=latest,
            )
    except TooLarge as e:
        if budget.outgrew(e):
            raise _Waits from None
        return Done(item, quarantine=too_large_reason(e))
    except StoreUnavailable:
        raise
    except Exception as e:  # whatever one file does, the pass goes on with the others
        return Done(item, quarantine=_unreadable(e))


def _close(opened: BinaryIO | Exception) -> None:
    if not isinstance(opened, Exception):
        opened.close()


def _read_inbox(settings: IntakeSettings, inbox: Inbox, got: Collected, summary: Summary, latest: int) -> None:
    """Read the oldest waiting items within the pass's bounds (docs/s3-and-lambda.md): each file on its own,
    so that whatever one holds, it can only be quarantined with its reason, and the others are still read. A
    file that outgrows what is left of the batch waits for a pass where it comes first."""
    pending, waiting = inbox.oldest(settings.max_files)
    budget = _Budget(settings)
    for item, opened in inbox.read_many(_batch(settings, pending)):
        bounds = budget.next_file()
        if bounds is None:
            _close(opened)
            break
        try:
            read = _read_item(item, opened, budget, bounds, latest)
        except _Waits:
            break
        except StoreUnavailable as e:
            # Left in the inbox for the next pass; the others are still ingested.
            _list(summary, [Rejected(item.key, None, f"not read this pass: {e}")])
            read = None
        budget.consumed += 1
        if isinstance(read, Done):
            _count(summary, got, read, [])
        elif read is not None:
            budget.took(read)
            _take(item, read, got, summary)
    summary.files = len(got.files)
    summary.backlog = waiting - budget.consumed


def _take(item: InboxItem, read: FileRead, got: Collected, summary: Summary) -> None:
    """One file read: its executions and rejected lines, or its quarantine when it is unreadable as a whole."""
    if read.fatal is not None:
        done = Done(item, quarantine=read.fatal)
    else:
        done = Done(item, rejected=read.rejected, unlisted=read.rejected_total - len(read.rejected))
        got.executions.extend(read.executions)
    _count(summary, got, done, read.rejected, read.rejected_total)


def _count(summary: Summary, got: Collected, done: Done, rejected: list[Rejected], total: int = 0) -> None:
    """Record one file's outcome: its rejected lines counted (the first few listed), or its quarantine reason."""
    got.files.append(done)
    _list(summary, rejected)
    summary.rejected += total
    if done.quarantine is not None and not total:
        summary.rejected += 1
        _list(summary, [Rejected(done.item.key, None, done.quarantine)])


def _list(summary: Summary, rejected: list[Rejected]) -> None:
    """List rejections in the summary while it lists fewer than MAX_REJECTS_LISTED (the rest are only counted)."""
    room = MAX_REJECTS_LISTED - len(summary.rejects)
    if room > 0:
        summary.rejects.extend(rejected[:room])


def collect(
    settings: IntakeSettings, inbox: Inbox | None, sources: list[Source], state: State, summary: Summary, now: int
) -> Collected:
    """Read the inbox within its bounds, pull every source from its cursor, then apply the job-name rules.

    A source that fails is reported in the summary and skipped; a file that cannot be read is quarantined.
    """
    got = Collected()
    latest = latest_time(now, settings.max_clock_skew_ms)
    if inbox is not None:
        _read_inbox(settings, inbox, got, summary, latest)
    for source in sources:
        started = time.monotonic()
        try:
            pulled = source.pull(dict(state.cursors.get(source.name, {})), now)
        except SourceError as e:
            summary.sources[source.name] = {"ok": False, "error": str(e), "pulled": 0}
            continue
        kept = _in_bounds(source.name, pulled.executions, latest, summary)
        got.executions.extend(kept)
        if kept:
            got.pulled[source.name] = kept
        got.cursors[source.name] = pulled.cursor
        summary.sources[source.name] = {
            "ok": True,
            "pulled": len(pulled.executions),
            "seconds": round(time.monotonic() - started, 3),
        }
    got.executions, summary.filtered = settings.job_rules.apply(got.executions)
    return got


def _in_bounds(origin: str, executions: list[Execution], latest: int, summary: Summary) -> list[Execution]:
    """The pulled executions that keep the rules inbox records keep (docs/configuration.md); the others are
    rejected, each named by its origin, job and run.

    A platform's clock can be wrong too, and one run dated in the future would stay its job's newest forever.
    (A run still going may have no time: it is not applied anyway.)
    """
    kept = []
    for e in executions:
        if not (EARLIEST_MS <= e.finished_at <= latest or e.status is Status.RUNNING):
            why = f"field 'finished_at': {iso(e.finished_at)} is outside {iso(EARLIEST_MS)}..{iso(latest)}"
        elif not 0 < len(e.job) <= MAX_JOB_LEN:
            why = f"field 'job': not 1 to {MAX_JOB_LEN} characters"
        elif not 0 < len(e.run_id) <= MAX_RUN_ID_LEN:
            why = f"field 'run_id': not 1 to {MAX_RUN_ID_LEN} characters"
        else:
            kept.append(e)
            continue
        summary.rejected += 1
        summary.rejects.append(Rejected(origin, None, f"job {e.job[:100]!r} run {e.run_id[:100]!r}: {why}"))
    return kept
