"""One monitor pass, as named stages over one `PassContext`: load → collect → advance → save → archive → deliver →
settle → page → report.

The CLI and the Lambda call `run_pass` with the same `PassSettings` (built from the validated config by
`app/wiring.pass_settings`); only the adapters in `Ports` differ.

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

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from failstreak.core import outbox, triage
from failstreak.core.jobindex import briefs
from failstreak.core.model import Execution, State
from failstreak.core.mutes import all_mutes
from failstreak.errors import FailstreakError, StoreUnavailable
from failstreak.gcpause import gc_paused
from failstreak.inbox.base import pass_folder
from failstreak.pipeline.advance import advance
from failstreak.pipeline.collect import collect
from failstreak.pipeline.context import PassContext, PassSettings, Ports
from failstreak.pipeline.deliver import deliver
from failstreak.pipeline.persist import save_with_retry
from failstreak.pipeline.summary import Summary
from failstreak.state.base import Loaded
from failstreak.state.codec import decode_document

__all__ = ["PassContext", "PassSettings", "Ports", "new_pass_id", "run_pass"]


def new_pass_id(at_ms: int | None = None) -> str:
    """A pass's id: its UTC start to the millisecond (now, by default), then 8 random hex digits, as in
    `20261204T183005.123Z-3f9a1c0b`.

    Sortable by time, unique without coordination, and safe in a file name and an S3 key: the archive and the
    quarantine file what each pass read under it (docs/s3-and-lambda.md).
    """
    at = datetime.now(UTC) if at_ms is None else datetime.fromtimestamp(at_ms / 1000, UTC)
    return f"{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


def _safe_id(pass_id: str) -> str:
    """The pass id as one path segment of the archive's keys (an id given by a caller may hold anything)."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in pass_id).strip(".")
    return cleaned or "pass"


def load(ctx: PassContext) -> None:
    """Read and decode the stored state, and the mutes document."""
    ctx.loaded = ctx.ports.store.load()
    # With its jobs' gzip members as stored: the first save compresses again only the slices of jobs that
    # changed (a pass that brings few runs to a large state reuses most of them; docs/performance.md).
    ctx.state, ctx.stored = decode_document(ctx.loaded.data, ctx.ports.store.location)
    move_mutes(ctx, ctx.state)
    if ctx.ports.mutes is not None:
        ctx.book = ctx.ports.mutes.read()


def move_mutes(ctx: PassContext, state: State) -> None:
    """Move the mutes a version-5 state held into the mutes document, before the state is saved without them:
    a pass that dies between the two leaves them in both, and the next pass moves them again, adding none twice
    (docs/state.md, "Moving the mutes")."""
    if not state.moved_mutes:
        return
    if ctx.ports.mutes is None:
        raise FailstreakError(
            f"{ctx.ports.store.location}: the state holds {len(state.moved_mutes)} mute(s) to move, and this pass "
            "has no mutes document to move them to"
        )
    ctx.summary.mutes_moved += ctx.ports.mutes.merge_mutes(state.moved_mutes)
    state.moved_mutes = []


def collect_stage(ctx: PassContext) -> None:
    """Read the inbox and pull the sources."""
    ctx.got = collect(ctx.settings.intake, ctx.ports.inbox, ctx.ports.sources, ctx.state, ctx.summary, ctx.now)


def advance_stage(ctx: PassContext) -> None:
    """Count, evaluate, enqueue, retire and lease: everything before the first save."""
    advance(ctx, ctx.state)


def _redo_advance(ctx: PassContext) -> Callable[[State], None]:
    def redo(fresh: State) -> None:
        move_mutes(ctx, fresh)
        advance(ctx, fresh)

    return redo


def save(ctx: PassContext) -> None:
    """The first, conditional save; on conflict the pass's executions are re-applied to the reloaded state."""
    assert ctx.loaded is not None, "load runs before save"
    ctx.state, ctx.token, ctx.encoded = save_with_retry(
        ctx.ports.store,
        ctx.loaded,
        ctx.state,
        _redo_advance(ctx),
        attempts=ctx.settings.save_attempts,
        gave_up=ctx.gave_up(),
        on_conflict=ctx.conflict,
        since=None if ctx.stored is None else (ctx.stored, set()),
    )
    ctx.stored = None


def archive(ctx: PassContext) -> None:
    """Move the files the saved state includes out of the inbox: to processed/, or quarantine/ with the reason;
    and write what the sources pulled beside them, so that the archive holds every run the pass counted (the
    backtest replays it: docs/triage.md)."""
    inbox = ctx.ports.inbox
    if inbox is None:
        return
    got = ctx.got
    folder = pass_folder(_safe_id(ctx.pass_id), ctx.now)
    inbox.finish_many(got.files, folder)
    ctx.summary.quarantined = [d.item.key for d in got.files if d.quarantine is not None]
    for source, executions in got.pulled.items():
        try:
            inbox.keep(folder, f"_sources/{_safe_id(source)}.jsonl", pulled_lines(executions))
        except StoreUnavailable as e:
            # The runs are counted and saved; only the backtest's copy of them is missing.
            ctx.summary.warnings.append(f"what source {source} pulled was not archived: {e}")


_ENCODE = msgspec.json.Encoder().encode


def pulled_lines(executions: list[Execution]) -> bytes:
    """Executions as inbox records (docs/records.md), one JSON line each, as the inbox parser reads them back."""
    lines = []
    for ex in executions:
        record = {f: getattr(ex, f) for f in ex.__struct_fields__ if getattr(ex, f) is not None}
        lines.append(_ENCODE(record))
    return b"\n".join(lines) + b"\n"


def deliver_stage(ctx: PassContext) -> None:
    """Send what the saved outbox holds for this pass."""
    ctx.results = deliver(ctx.ports.notifiers, ctx.state, ctx.pass_id)


def settle(ctx: PassContext) -> None:
    """Record the deliveries' results in the state and save it again (conditionally, on the first save's token)."""
    results = ctx.results
    if not results:
        return
    now, max_attempts = ctx.now, ctx.settings.notify_max_attempts
    applied = outbox.apply_results(ctx.state, results, now, max_attempts)
    assert ctx.encoded is not None, "save runs before settle"
    assert ctx.token is not None, "save runs before settle"

    def redo_results(fresh: State) -> None:
        outbox.apply_results(fresh, results, now, max_attempts)

    ctx.state, ctx.token, ctx.encoded = save_with_retry(
        ctx.ports.store,
        Loaded(None, ctx.token),
        ctx.state,
        redo_results,
        attempts=ctx.settings.save_attempts,
        gave_up=ctx.gave_up(),
        on_conflict=ctx.conflict,
        since=(ctx.encoded, applied.threaded),
    )
    _report_deliveries(applied, ctx.summary)


def _report_deliveries(applied: outbox.Applied, summary: Summary) -> None:
    """What the deliveries came to: how many went out, and each failure with whether it will be retried."""
    summary.delivered = len(applied.delivered)
    summary.delivery_failures = [
        {
            "job": e.notification.job or None,  # a daily digest is about no job (docs/digest.md)
            "event": e.notification.event.value,
            "destination": e.destination,
            "error": e.last_error,
            "retrying": e in applied.retrying,
        }
        for e in applied.retrying + applied.dead
    ]


def page(ctx: PassContext) -> None:
    """With `page:` set, keep the run-history page current (after the last save: a page that cannot be written
    is a warning, never a lost run)."""
    location = ctx.settings.page
    if not location:
        return
    # The page's code is imported only by a pass that keeps a page (docs/performance.md, "Cold start").
    from failstreak.pipeline.page import keep_page, page_inputs  # noqa: PLC0415
    from failstreak.views.jobs import Viewing  # noqa: PLC0415
    from failstreak.views.page import NO_TEAM  # noqa: PLC0415

    router = ctx.ports.router
    teams_of = router.job_teams if router is not None else lambda job, owner: [NO_TEAM]
    settings = ctx.settings
    mutes = all_mutes(ctx.state, ctx.book, settings.config_mutes, ctx.now)
    judge = settings.triage.judge(settings.policy_for, ctx.now)
    owners = router.owners_digest() if router is not None else ""
    silent = _silent(ctx)
    inputs = page_inputs(ctx.state, ctx.encoded, mutes, (settings.config_digest or "") + owners, silent)
    viewing = Viewing(mutes, settings.policy_for, teams_of, ctx.now, lambda j: judge(j).health.value)
    ctx.summary.page, warning = keep_page(
        location,
        ctx.state,
        viewing,
        inputs,
        # Without the config's digest, what shapes every row is unknown: each shown job is read and compared.
        settings=None if settings.config_digest is None else settings.config_digest + owners,
        silent=set(silent),
        encoded=ctx.encoded,
    )
    ctx.summary.warnings.extend([warning] if warning else [])


def _silent(ctx: PassContext) -> list[str]:
    """The jobs silent now, from the state's index (docs/triage.md)."""
    watch, policy_for, now = ctx.settings.triage, ctx.settings.policy_for, ctx.now
    if not watch.watches_silence:
        return []
    return [
        b.name
        for b in briefs(ctx.state.jobs)
        if triage.silence_of(b.newest, b.active, policy_for(b.name), now, learn=watch.learn, grace_ms=watch.grace_ms)
        is not None
    ]


def report(ctx: PassContext) -> None:
    """What is left pending, the routing warnings, and how long the pass took."""
    summary = ctx.summary
    summary.pending = len(ctx.state.outbox)
    if ctx.ports.router is not None:
        summary.warnings.extend(ctx.ports.router.warnings())
    summary.duration_ms = int((time.monotonic() - ctx.started) * 1000)


STAGES: tuple[Callable[[PassContext], None], ...] = (
    load,
    collect_stage,
    advance_stage,
    save,
    archive,
    deliver_stage,
    settle,
    page,
    report,
)


@gc_paused()
def run_pass(settings: PassSettings, ports: Ports, pass_id: str | None = None) -> Summary:
    """Run one monitor pass and return its summary. Raises FailstreakError when the pass cannot complete.

    `pass_id` (default: a fresh one) names the pass in the summary and owns its outbox leases; the Lambda
    passes its own so that every log line of the invocation carries it as correlation id.
    """
    started = time.monotonic()
    now = ports.clock()
    pass_id = pass_id or new_pass_id(now)
    ctx = PassContext(pass_id, now, settings, ports, Summary(pass_id=pass_id, started_at=now), started=started)
    for stage in STAGES:
        stage(ctx)
    return ctx.summary
