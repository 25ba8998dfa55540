"""One monitor pass: load state → collect → apply → evaluate → enqueue → save → archive → deliver → save.

The CLI and the Lambda call `run_pass` with the same config; only the adapters in `Ports` differ.

Durability (docs/s3-and-lambda.md):
- The first save is conditional; on conflict the state is reloaded and the pass's executions re-applied to it,
  so concurrent passes never lose or double-count a run (dedupe makes re-application harmless).
- Inbox files are archived only after the state that includes them is saved. A file that cannot be moved fails
  the pass once the others were moved; it stays in the inbox, and its runs, already counted, are deduplicated
  when the next pass reads it again.
- Notifications are saved as pending (leased to this pass) before anything is sent, and marked delivered by a
  second conditional save. A pass that dies before that second save can re-send what it had sent, never lose it.
"""

from __future__ import annotations

import functools
import gc
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from failstreak.app.config import Config
from failstreak.core import outbox
from failstreak.core.model import Event, Execution, Rejected, State, Status, iso, now_ms
from failstreak.core.outbox import Delivery, DeliveryResult
from failstreak.errors import FailstreakError, ItemGone, SourceError, StoreUnavailable
from failstreak.inbox.intake import MIB, TooLarge, read_file, too_large_reason
from failstreak.inbox.records import EARLIEST_MS, MAX_JOB_LEN, MAX_RUN_ID_LEN, latest_time
from failstreak.notifiers.base import Notifier
from failstreak.pipeline.advance import Collected, Routes, advance
from failstreak.pipeline.persist import save_with_retry
from failstreak.pipeline.summary import MAX_REJECTS_LISTED, Summary
from failstreak.sources.base import Source
from failstreak.state.codec import decode
from failstreak.stores.base import Done, Inbox, InboxItem, Loaded, StateStore, pass_folder

# Rejected lines a pass keeps in memory to store in quarantine (about 1 KiB each at most); a file with more
# rejected lines than the pass has room for is kept whole in quarantine instead (`Done.unlisted`).
MAX_REJECTS_KEPT = 20_000
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class Ports:
    """The adapters one pass talks to."""

    store: StateStore
    inbox: Inbox | None = None
    sources: list[Source] = field(default_factory=list)
    notifiers: dict[str, Notifier] = field(default_factory=dict)
    router: Routes | None = None
    clock: Callable[[], int] = now_ms


def _batch(cfg: Config, pending: list[InboxItem]) -> list[InboxItem]:
    """The oldest inbox items that may fit one pass's bounds (at least one). Listed sizes are what is stored
    (compressed, for gzip), so this only narrows the batch down; `_collect` applies the byte bound to what the
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


def _collect(cfg: Config, ports: Ports, state: State, summary: Summary, now: int) -> Collected:
    got = Collected()
    latest = latest_time(now, cfg.max_clock_skew_ms)
    if ports.inbox is not None:
        _read_inbox(cfg, ports.inbox, got, summary, latest)
    for source in ports.sources:
        started = time.monotonic()
        try:
            pulled = source.pull(dict(state.cursors.get(source.name, {})), now)
        except SourceError as e:
            summary.sources[source.name] = {"ok": False, "error": str(e), "pulled": 0}
            continue
        got.executions.extend(_in_bounds(source.name, pulled.executions, latest, summary))
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


def _thread_index(state: State) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """(destination, thread ref) → the jobs announced in that message, by name, with whether still alerting."""
    index: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for name in sorted(state.jobs):
        job = state.jobs[name]
        for dest, ref in job.threads.items():
            index.setdefault((dest, ref), []).append((name, job.alert is not None))
    return index


def _deliver(ports: Ports, state: State, pass_id: str) -> list[DeliveryResult]:
    groups: dict[str, list[Delivery]] = {}
    index: dict[tuple[str, str], list[tuple[str, bool]]] | None = None
    for e in state.outbox:
        if e.lease_owner != pass_id:
            continue
        job = state.jobs.get(e.notification.job)
        thread = job.threads.get(e.destination) if job is not None else None
        siblings: tuple[tuple[str, bool], ...] = ()
        if thread is not None and e.notification.event is Event.RESOLVED:
            index = _thread_index(state) if index is None else index
            siblings = tuple(index.get((e.destination, thread), ()))
        groups.setdefault(e.destination, []).append(Delivery(e.id, e.notification, thread, siblings))
    results: list[DeliveryResult] = []
    for dest, deliveries in groups.items():
        kind, _, target = dest.partition(":")
        notifier = ports.notifiers.get(kind)
        if notifier is None:
            results.extend(
                DeliveryResult(d.outbox_id, False, error=f"no {kind} notifier is configured", retryable=False)
                for d in deliveries
            )
            continue
        try:
            results.extend(notifier.send(target, deliveries))
        except Exception as e:  # a notifier that breaks its contract must not stop the others, nor the pass
            error = f"{kind} notifier failed: {type(e).__name__}: {str(e)[:200]}"
            results.extend(DeliveryResult(d.outbox_id, False, error=error, retryable=True) for d in deliveries)
    return results


def new_pass_id(at_ms: int | None = None) -> str:
    """A pass's id: its UTC start to the millisecond (now, by default), then 8 random hex digits, as in
    `20261204T183005.123Z-3f9a1c0b`.

    Sortable by time, unique without coordination, and safe in a file name and an S3 key: the archive and the
    quarantine file what each pass read under it (docs/s3-and-lambda.md).
    """
    at = datetime.now(UTC) if at_ms is None else datetime.fromtimestamp(at_ms / 1000, UTC)
    return f"{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def _gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with the cyclic garbage collector paused.

    A pass allocates millions of small objects (one per record and per remembered run) and none of them form
    cycles, so every collection the allocations trigger is wasted work that grows with the heap: on 10k jobs it
    is about a third of the pass. Memory is still freed by reference counting; cycles, if any, are collected
    once the collector is back on.
    """

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


def _safe_id(pass_id: str) -> str:
    """The pass id as one path segment of the archive's keys (an id given by a caller may hold anything)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in pass_id).strip(".")
    return cleaned or "pass"


@_gc_paused
def run_pass(cfg: Config, ports: Ports, pass_id: str | None = None) -> Summary:
    """Run one monitor pass and return its summary. Raises FailstreakError when the pass cannot complete.

    `pass_id` (default: a fresh one) names the pass in the summary and owns its outbox leases; the Lambda
    passes its own so that every log line of the invocation carries it as correlation id.
    """
    started = time.monotonic()
    now = ports.clock()
    pass_id = pass_id or new_pass_id(now)
    summary = Summary(pass_id=pass_id, started_at=now)

    store = ports.store
    loaded = store.load()
    state = decode(loaded.data, store.location)
    got = _collect(cfg, ports, state, summary, now)

    def conflict() -> None:
        summary.conflicts += 1

    gave_up = (
        f"{store.location}: state kept changing under this pass; gave up after {cfg.save_attempts} "
        "conflicting writes (is another monitor running in a loop?)"
    )

    def redo(fresh: State) -> None:
        advance(cfg, ports.router, fresh, got, summary, pass_id, now)

    redo(state)
    state, token, encoded = save_with_retry(
        store, loaded, state, redo, attempts=cfg.save_attempts, gave_up=gave_up, on_conflict=conflict
    )

    if ports.inbox is not None:
        ports.inbox.finish_many(got.files, pass_folder(_safe_id(pass_id), now))
        summary.quarantined = [d.item.key for d in got.files if d.quarantine is not None]

    results = _deliver(ports, state, pass_id)
    if results:
        applied = outbox.apply_results(state, results, now, cfg.notify.max_attempts)

        def redo_results(fresh: State) -> None:
            outbox.apply_results(fresh, results, now, cfg.notify.max_attempts)

        state, token, _ = save_with_retry(
            store,
            Loaded(None, token),
            state,
            redo_results,
            attempts=cfg.save_attempts,
            gave_up=gave_up,
            on_conflict=conflict,
            since=(encoded, applied.threaded),
        )
        summary.delivered = len(applied.delivered)
        summary.delivery_failures = [
            {
                "job": e.notification.job,
                "event": e.notification.event.value,
                "destination": e.destination,
                "error": e.last_error,
                "retrying": e in applied.retrying,
            }
            for e in applied.retrying + applied.dead
        ]
    summary.pending = len(state.outbox)
    if ports.router is not None:
        summary.warnings.extend(ports.router.warnings())
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    return summary
