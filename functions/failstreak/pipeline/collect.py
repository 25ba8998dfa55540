"""Collect: what a pass reads before it changes anything, from the inbox (within the pass's bounds, each file on
its own) and from the sources (each from its cursor), with the job-name rules applied."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from failstreak.app.config import Config
from failstreak.core.model import Execution, Rejected, State, Status, iso
from failstreak.errors import FailstreakError, ItemGone, SourceError, StoreUnavailable
from failstreak.inbox.base import Done, Inbox, InboxItem
from failstreak.inbox.intake import MIB, TooLarge, read_file, too_large_reason
from failstreak.inbox.records import EARLIEST_MS, MAX_JOB_LEN, MAX_RUN_ID_LEN, latest_time
from failstreak.pipeline.summary import MAX_REJECTS_LISTED, Summary
from failstreak.sources.base import Source

# Rejected lines a pass keeps in memory to store in quarantine (about 1 KiB each at most); a file with more
# rejected lines than the pass has room for is kept whole in quarantine instead (`Done.unlisted`).
MAX_REJECTS_KEPT = 20_000


@dataclass
class Collected:
    """What the collect stage gathered: executions, the inbox files they came from, the sources' new cursors."""

    executions: list[Execution] = field(default_factory=list)
    files: list[Done] = field(default_factory=list)
    cursors: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulled: dict[str, list[Execution]] = field(default_factory=dict)
    """What each source pulled (before the job-name rules), for the archive."""


def _batch(cfg: Config, pending: list[InboxItem]) -> list[InboxItem]:
    """The oldest inbox items that may fit one pass's bounds (at least one). Listed sizes are what is stored
    (compressed, for gzip), so this only narrows the batch down; `collect` applies the byte bound to what the
    items hold once decompressed, as it reads them."""
    max_files = cfg.inbox_max_files or len(pending)
    max_bytes = int(cfg.inbox_max_mib * MIB) if cfg.inbox_max_mib else None
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


def _read_inbox(cfg: Config, inbox: Inbox, got: Collected, summary: Summary, latest: int) -> None:
    """Read the oldest waiting items within the pass's bounds (docs/s3-and-lambda.md): each file on its own,
    so that whatever one holds, it can only be quarantined with its reason, and the others are still read."""
    details = cfg.failure_statuses()
    file_cap = int(cfg.inbox_file_max_mib * MIB)
    budget = int(cfg.inbox_max_mib * MIB) if cfg.inbox_max_mib else None
    record_budget = cfg.inbox_max_records
    pending, waiting = inbox.oldest(cfg.inbox_max_files)
    batch = _batch(cfg, pending)
    read_bytes = 0
    records = 0
    kept = 0
    consumed = 0
    for item, opened in inbox.read_many(batch):
        # The first file may be as large as the per-file cap and hold the whole bound of records; the others only
        # what is left of the batch's bounds. A file that outgrows what is left waits for a pass where it comes
        # first. (Memory grows with the records a pass counts, about 1 KiB each: docs/performance.md.)
        room = None if budget is None or not consumed else budget - read_bytes
        records_left = None if record_budget is None or not consumed else record_budget - records
        if (room is not None and room <= 0) or (records_left is not None and records_left <= 0):
            if not isinstance(opened, Exception):
                opened.close()
            break
        consumed += 1
        if isinstance(opened, ItemGone):
            continue
        if isinstance(opened, StoreUnavailable):
            # Left in the inbox for the next pass; the others are still ingested.
            _list(summary, [Rejected(item.key, None, f"not read this pass: {opened}")])
            continue
        if isinstance(opened, Exception):
            done = Done(item, quarantine=str(opened) if isinstance(opened, FailstreakError) else _unreadable(opened))
            _count(summary, got, done, [])
            continue
        limit = file_cap if room is None else min(file_cap, room)
        max_records = record_budget if records_left is None else records_left
        try:
            with opened:
                read = read_file(
                    item.key,
                    opened,
                    cap=limit,
                    room=MAX_REJECTS_KEPT - kept,
                    max_records=max_records,
                    details=details,
                    latest=latest,
                )
        except TooLarge as e:
            whole = record_budget if e.records else file_cap
            if not e.array and whole is not None and e.limit < whole:
                consumed -= 1  # beyond what is left of the batch: the next pass reads it first
                break
            _count(summary, got, Done(item, quarantine=too_large_reason(e)), [])
            continue
        except StoreUnavailable as e:
            _list(summary, [Rejected(item.key, None, f"not read this pass: {e}")])
            continue
        except Exception as e:  # whatever one file does, the pass goes on with the others
            _count(summary, got, Done(item, quarantine=_unreadable(e)), [])
            continue
        read_bytes += read.size
        records += len(read.executions)
        if read.fatal is not None:
            done = Done(item, quarantine=read.fatal)
        else:
            kept += len(read.rejected)
            done = Done(item, rejected=read.rejected, unlisted=read.rejected_total - len(read.rejected))
            got.executions.extend(read.executions)
        _count(summary, got, done, read.rejected, read.rejected_total)
    summary.files = len(got.files)
    summary.backlog = waiting - consumed


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
    cfg: Config, inbox: Inbox | None, sources: list[Source], state: State, summary: Summary, now: int
) -> Collected:
    """Read the inbox within its bounds, pull every source from its cursor, then apply the job-name rules.

    A source that fails is reported in the summary and skipped; a file that cannot be read is quarantined.
    """
    got = Collected()
    latest = latest_time(now, cfg.max_clock_skew_ms)
    if inbox is not None:
        _read_inbox(cfg, inbox, got, summary, latest)
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
    got.executions, summary.filtered = cfg.job_keys.rules().apply(got.executions)
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
