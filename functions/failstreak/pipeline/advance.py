"""Advance: everything a pass does to the state before its first save (counting, mutes, rules, routing, outbox,
retiring, leasing). Deterministic for (state, collected executions, now)."""

from __future__ import annotations

import itertools
import operator

from failstreak.core import alerting, counting, outbox, repair
from failstreak.core.model import Notification, State
from failstreak.core.mutes import all_mutes
from failstreak.inbox.records import latest_time
from failstreak.pipeline.context import PassContext, PassSettings, Routes

_JOB = operator.attrgetter("job")


def advance(ctx: PassContext, state: State) -> None:
    """Everything a pass does to `state` before its first save. Deterministic for (state, ctx.got, ctx.now)."""
    settings, summary, now = ctx.settings, ctx.summary, ctx.now
    policy_for = settings.policy_for
    # A state saved before times were bounded (or by a pass whose clock was wrong) may remember runs dated after
    # this pass's bound; each would stay its job's newest forever.
    summary.future_runs_forgotten = repair.forget_future_runs(
        state, latest_time(now, settings.max_clock_skew_ms), policy_for
    )
    stats = counting.apply(state, ctx.got.executions, policy_for, now)
    summary.ingested = stats.ingested
    summary.duplicates = stats.duplicates
    summary.superseded = stats.superseded
    summary.stale = stats.stale
    summary.running = stats.running
    notes = _evaluate(state, stats.touched, settings, now)
    summary.notifications = notes
    summary.team_notifications = _enqueue(state, notes, ctx.ports.router)
    # Alerting jobs retire too: a job nobody has run for a month should stop sending reminders.
    summary.retired = counting.retire(state, now, settings.retire_after_ms, keep=stats.touched)
    state.cursors.update(ctx.got.cursors)
    outbox.lease(state, ctx.pass_id, now)
    state.updated_at = now
    state.passes += 1
    summary.jobs = len(state.jobs)
    summary.alerting = sum(1 for j in state.jobs.values() if j.alert is not None)


def _evaluate(
    state: State, touched: dict[str, counting.JobDelta], settings: PassSettings, now: int
) -> list[Notification]:
    """Evaluate every job the pass touched, then the alerting jobs it brought nothing for (their reminders are due
    by time), under the live mutes; return the notifications, by job."""
    state.mutes = [m for m in state.mutes if m.until is None or m.until > now]
    mutes = all_mutes(state, settings.config_mutes, now)
    jobs = state.jobs
    untouched: list[tuple[str, counting.JobDelta | None]] = [
        (n, None) for n, j in jobs.items() if j.alert is not None and n not in touched
    ]
    notes: list[Notification] = []
    for name, delta in itertools.chain(touched.items(), untouched):
        job = jobs[name]
        mute = alerting.active_mute(job, mutes, now, delta) if mutes else None
        note = alerting.evaluate(job, settings.policy_for(name), now, mute)
        if note is not None:
            notes.append(note)
    # Jobs are evaluated independently: sorting the notifications, not the jobs, gives the same order.
    notes.sort(key=_JOB)
    return notes


def _enqueue(state: State, notes: list[Notification], router: Routes | None) -> dict[str, dict[str, int]]:
    """Queue each unsuppressed notification for its destinations; return the count per team and event."""
    per_team_events: dict[str, dict[str, int]] = {}
    if router is None:
        return per_team_events
    queued = {e.id for e in state.outbox}  # built once: per notification it made the pass quadratic
    for note in notes:
        if note.suppressed:
            continue
        outbox.enqueue(state, note, router.destinations(note), present=queued)
        for team in router.teams(note):
            per_team = per_team_events.setdefault(team, {})
            per_team[note.event.value] = per_team.get(note.event.value, 0) + 1
    return per_team_events
