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
from failstreak.core.model import State, now_ms
from failstreak.inbox.base import Inbox, pass_folder
from failstreak.notifiers.base import Notifier
from failstreak.pipeline.advance import Routes, advance
from failstreak.pipeline.collect import Collected, collect
from failstreak.pipeline.deliver import deliver
from failstreak.pipeline.persist import save_with_retry
from failstreak.pipeline.summary import Summary
from failstreak.sources.base import Source
from failstreak.state.base import Loaded, StateStore
from failstreak.state.codec import decode_document

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


def _archive(inbox: Inbox, got: Collected, pass_id: str, now: int, summary: Summary) -> None:
    """Move the files the saved state includes out of the inbox: to processed/, or quarantine/ with the reason."""
    inbox.finish_many(got.files, pass_folder(_safe_id(pass_id), now))
    summary.quarantined = [d.item.key for d in got.files if d.quarantine is not None]


def _report_deliveries(applied: outbox.Applied, summary: Summary) -> None:
    """What the deliveries came to: how many went out, and each failure with whether it will be retried."""
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
    # As read, with its jobs' gzip members: the first save compresses again only the slices of jobs that
    # changed (a pass that brings few runs to a large state mostly reuses them; docs/performance.md).
    state, stored = decode_document(loaded.data, store.location)
    got = collect(cfg, ports.inbox, ports.sources, state, summary, now)

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
        store,
        loaded,
        state,
        redo,
        attempts=cfg.save_attempts,
        gave_up=gave_up,
        on_conflict=conflict,
        since=None if stored is None else (stored, set()),
    )

    if ports.inbox is not None:
        _archive(ports.inbox, got, pass_id, now, summary)

    results = deliver(ports.notifiers, state, pass_id)
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
        _report_deliveries(applied, summary)
    summary.pending = len(state.outbox)
    if ports.router is not None:
        summary.warnings.extend(ports.router.warnings())
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    return summary
