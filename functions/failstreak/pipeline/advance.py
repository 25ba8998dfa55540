"""Advance: everything a pass does to the state before its first save (counting, mutes, rules, routing, outbox,
retiring, leasing). Deterministic for (state, collected executions, now)."""

from __future__ import annotations

import itertools
import operator

from failstreak.core import alerting, categories, counting, outbox, repair, triage
from failstreak.core.health import FlakyRoute, Health
from failstreak.core.jobindex import ALERTING, Brief, briefs, count_alerting
from failstreak.core.model import Ack, JobState, Mute, Notification, State
from failstreak.core.mutes import active_acks, all_mutes
from failstreak.core.policy import JobPolicy
from failstreak.inbox.records import latest_time
from failstreak.pipeline.context import PassContext, PassSettings, Routes
from failstreak.pipeline.digest import enqueue_digests

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
    notes = _evaluate(ctx, state, stats.touched)
    notes.extend(_estate(state, stats.failures, settings.triage, now))
    summary.notifications = notes
    summary.team_notifications = _enqueue(state, notes, ctx.ports.router)
    # Alerting jobs retire too: a job nobody has run for a month should stop sending reminders.
    summary.retired = counting.retire(state, now, settings.retire_after_ms, keep=stats.touched)
    summary.notifications.extend(enqueue_digests(ctx, state))
    state.cursors.update(ctx.got.cursors)
    outbox.lease(state, ctx.pass_id, now)
    state.updated_at = now
    state.passes += 1
    summary.jobs = len(state.jobs)
    summary.alerting = count_alerting(state.jobs)


def _evaluate(ctx: PassContext, state: State, touched: dict[str, counting.JobDelta]) -> list[Notification]:
    """Evaluate every job the pass touched, then those it brought nothing for that may still have news: the
    alerting ones (their reminders are due by time) and, when silence is watched, those that may have fallen
    silent (docs/triage.md); under the live mutes and acknowledgements of the mutes document as loaded; return
    the notifications, by job."""
    settings, now = ctx.settings, ctx.now
    mutes = all_mutes(state, ctx.book, settings.config_mutes, now)
    acks = active_acks(ctx.book, now)
    jobs = state.jobs
    # Under another config than the last pass's, every alerting job may have news (a threshold moved).
    every = settings.config_digest is None or settings.config_digest != state.config_digest
    state.config_digest = settings.config_digest
    watch = settings.triage
    if watch.learn:
        for name in touched:
            triage.learn_runs(jobs[name])
    # The others are looked at in the index (a job the pass does not read stays undecoded: docs/state.md).
    watched = watch.watches_silence
    untouched: list[tuple[str, counting.JobDelta | None]] = [
        (b.name, None)
        for b in briefs(jobs, skip=touched)
        if (watched or b.flags & ALERTING) and _may_have_news(b, settings, now, every)
    ]
    notes: list[Notification] = []
    for name, delta in itertools.chain(touched.items(), untouched):
        note = _evaluate_job(jobs[name], settings.policy_for(name), now, mutes, delta, watch, acks.get(name))
        if note is not None:
            notes.append(note)
    # Jobs are evaluated independently: sorting the notifications, not the jobs, gives the same order.
    notes.sort(key=_JOB)
    return notes


def _may_have_news(b: Brief, settings: PassSettings, now: int, every: bool) -> bool:
    """Whether a job the pass brought nothing for may have news, from its row of the index: a silence, or an
    alert whose reminder is due by time, that was not announced (a mute may have ended), whose silence is over,
    or any alert under a new config (`every`). Its counted runs did not change, so nothing else can
    (core/alerting.py)."""
    watch = settings.triage
    if b.alerting and (every or b.unannounced):
        return True
    if not (b.alerting or watch.watches_silence):
        return False
    policy = settings.policy_for(b.name)
    silent = (
        triage.silence_of(b.newest, b.active, policy, now, learn=watch.learn, grace_ms=watch.grace_ms)
        if watch.watches_silence
        else None
    )
    if not b.alerting:
        return silent is not None
    if b.silence_alert and silent is None:
        return True
    hours = policy.reminder.every_hours
    return hours is not None and b.notified is not None and now - b.notified >= hours * 3_600_000


def _evaluate_job(
    job: JobState,
    policy: JobPolicy,
    now: int,
    mutes: list[Mute],
    delta: counting.JobDelta | None,
    watch: triage.TriageSettings,
    ack: Ack | None = None,
) -> Notification | None:
    """One job's evaluation with its silence and health (docs/triage.md); a flaky job routed to the digest or
    off is evaluated as if muted, so its incident is recorded and nothing is sent."""
    silent = triage.silent_since(job, policy, now, learn=watch.learn, grace_ms=watch.grace_ms)
    if delta is None and job.alert is None:
        if silent is None:
            return None  # a quiet job the pass brought nothing for
        mute = alerting.mute_covering(job, mutes, now) if mutes else None
    else:
        mute = alerting.active_mute(job, mutes, now, delta) if mutes else None
        if job.alert is None and silent is None and not alerting.crossed(job, policy):
            return None  # nothing to say: its health is only read for a notification
    judged = triage.health(job, policy, silent)
    if mute is None and judged.health is Health.FLAKY and policy.flaky is not FlakyRoute.ALERT:
        mute = Mute(id="flaky", match=job.name, created_at=now, reason=f"flaky, routed to: {policy.flaky.value}")
    return alerting.evaluate(job, policy, now, mute, silent, judged, ack)


def _estate(
    state: State, failures: list[tuple[str, int]], watch: triage.TriageSettings, now: int
) -> list[Notification]:
    """The estate-wide category alerts this pass opens or closes (docs/triage.md)."""
    alerts = watch.estate_alerts
    if not (alerts or state.categories.open or state.categories.recent):
        return []
    categories.note_failures(state.categories, failures, alerts)
    return [triage.estate_notification(e, now) for e in categories.evaluate_estate(state.categories, alerts, now)]


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
