"""Alert rules (docs/configuration.md): thresholds, the incident state machine, reminders and mutes. Pure: no I/O,
no clock.

Per job and pass, `evaluate` is called once, after all of the pass's runs are applied, and returns at most one
notification:

- not alerting, and `consecutive_failures >= consecutive` or `window_failures >= cumulative` → `triggered`,
  naming every threshold crossed;
- alerting, latest counted run a success and both counters below their thresholds → `resolved`, with a
  summary of the incident;
- alerting otherwise → `reminder` when the cadence (hours and/or counted runs since the last notice) is due.

A muted job goes through the same transitions; its notifications come back with `suppressed=True`. A job whose
`triggered` was suppressed is announced (`triggered`) at its first evaluation after the mute ends, if it is
still alerting; its `resolved` is only sent if its `triggered` was (else it is recorded as suppressed).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import TYPE_CHECKING

from failstreak.core.counting import JobDelta, counted_runs, outcome_of
from failstreak.core.model import Alert, Event, JobState, Mute, Notification, Outcome, RunBrief

if TYPE_CHECKING:
    from failstreak.core.policy import JobPolicy

CONSECUTIVE = "consecutive"
CUMULATIVE = "cumulative"


def crossed(job: JobState, policy: JobPolicy) -> list[str]:
    """The thresholds the job's counters are at or past, in a fixed order."""
    reasons = []
    if policy.consecutive is not None and job.consecutive_failures >= policy.consecutive:
        reasons.append(CONSECUTIVE)
    if policy.cumulative is not None and job.window_failures >= policy.cumulative:
        reasons.append(CUMULATIVE)
    return reasons


def active_mute(job: JobState, mutes: Iterable[Mute], now: int, delta: JobDelta | None) -> Mute | None:
    """The first mute that covers this job's evaluation in this pass, updating the job's mute progress.

    - `until`: covers evaluations before that time.
    - `runs: N`: covers the evaluations of the passes in which the job's first N counted runs (after the mute
      was created) arrive.
    - `until_success`: covers evaluations until a pass brings a success; that pass is not muted, so the team
      hears that the job is fixed.
    """
    found: Mute | None = None
    counted = delta.counted if delta else 0
    succeeded = bool(delta and delta.successes > 0)
    for mute in mutes:
        covers = fnmatch.fnmatchcase(job.name, mute.match) and _advance_mute(job, mute, now, counted, succeeded)
        if covers and found is None:
            found = mute
    return found


def _advance_mute(job: JobState, mute: Mute, now: int, counted: int, succeeded: bool) -> bool:
    """Whether `mute` (which matches the job) covers this pass's evaluation; records the job's progress with it:
    the counted runs toward `runs`, and -1 once a success has ended an `until_success` mute."""
    progress = job.mute_runs.get(mute.id, 0)
    covers = progress >= 0 and (mute.until is None or now < mute.until)
    if mute.runs is not None:
        if progress >= mute.runs:
            covers = False
        if progress >= 0:
            job.mute_runs[mute.id] = progress + counted
    if mute.until_success and covers and succeeded:
        job.mute_runs[mute.id] = -1
        return False
    return covers


def mute_covering(job: JobState, mutes: Iterable[Mute], now: int) -> Mute | None:
    """The first mute that would cover the job now, without changing any progress (for display)."""
    for mute in mutes:
        if not fnmatch.fnmatchcase(job.name, mute.match):
            continue
        progress = job.mute_runs.get(mute.id, 0)
        if (mute.until is not None and now >= mute.until) or progress < 0:
            continue
        if mute.runs is not None and progress >= mute.runs:
            continue
        return mute
    return None


def _recent(job: JobState, policy: JobPolicy) -> tuple[RunBrief, ...]:
    runs = counted_runs(job, policy)[-policy.window :]
    return tuple(
        RunBrief(
            run_id=r.run_id,
            status=r.status,
            outcome=outcome_of(policy, r.status),
            finished_at=r.finished_at,
            url=r.url,
            commit=r.commit,
            reason=r.reason,
        )
        for r in runs
    )


def _incident_start(job: JobState, policy: JobPolicy, reasons: list[str]) -> tuple[int | None, str | None, int]:
    """When the failures behind an alert began, the commit where they began, and how many failures that is."""
    runs = counted_runs(job, policy)
    if CONSECUTIVE in reasons or not runs:
        start = len(runs) - min(job.consecutive_failures, len(runs))
        count = job.consecutive_failures
    else:
        window = runs[-policy.window :]
        start = len(runs) - len(window)
        while start < len(runs) and outcome_of(policy, runs[start].status) is not Outcome.FAILURE:
            start += 1
        count = job.window_failures
    first = runs[start] if start < len(runs) else None
    return (first.finished_at if first else None, first.commit if first else None, count)


def _last_reason(job: JobState, policy: JobPolicy) -> str | None:
    for r in reversed(job.runs):
        if outcome_of(policy, r.status) is Outcome.FAILURE:
            return r.reason or r.status.value.replace("_", " ")
    return None


def _latest_counted_succeeded(job: JobState, policy: JobPolicy) -> bool:
    for r in reversed(job.runs):
        outcome = outcome_of(policy, r.status)
        if outcome is not Outcome.IGNORED:
            return outcome is Outcome.SUCCESS
    return job.consecutive_failures == 0


def _reminder_due(job: JobState, alert: Alert, policy: JobPolicy, now: int) -> bool:
    cadence = policy.reminder
    if cadence.every_hours is not None and now - alert.last_notified_at >= cadence.every_hours * 3_600_000:
        return True
    return cadence.every_runs is not None and job.total_runs - alert.runs_at_last_notice >= cadence.every_runs


def evaluate(job: JobState, policy: JobPolicy, now: int, mute: Mute | None = None) -> Notification | None:
    """Advance the job's incident state and return the notification it calls for, if any (see module doc)."""
    reasons = crossed(job, policy)
    alert = job.alert
    event: Event | None = None
    if alert is None:
        if not reasons:
            return None
        since, commit, count = _incident_start(job, policy, reasons)
        alert = job.alert = Alert(
            triggered_at=now,
            reasons=reasons,
            since=since,
            failures_base=job.total_failures - count,
            last_notified_at=now,
            runs_at_last_notice=job.total_runs,
            first_commit=commit,
            announced=mute is None,
        )
        job.threads = {}
        event = Event.TRIGGERED
    elif not reasons and _latest_counted_succeeded(job, policy):
        job.alert = None
        event = Event.RESOLVED
    elif not alert.announced:
        if mute is not None:
            return None
        alert.announced = True
        alert.reasons = reasons or alert.reasons
        event = Event.TRIGGERED
    elif _reminder_due(job, alert, policy, now):
        event = Event.REMINDER
    else:
        return None

    # An incident nobody was told about ends as quietly as it began.
    suppressed = mute is not None or not alert.announced
    if event is not Event.RESOLVED:
        alert.last_notified_at = now
        alert.runs_at_last_notice = job.total_runs
        if suppressed:
            alert.suppressed += 1
    return Notification(
        id=f"{event.value}:{alert.triggered_at}:{now}:{job.name}",
        job=job.name,
        event=event,
        reasons=tuple(reasons if event is not Event.RESOLVED else alert.reasons),
        consecutive_failures=job.consecutive_failures,
        window_failures=job.window_failures,
        window_size=job.window_size,
        consecutive_threshold=policy.consecutive,
        cumulative_threshold=policy.cumulative,
        window=policy.window,
        created_at=now,
        since=alert.since,
        failed_runs=job.total_failures - alert.failures_base,
        last_reason=_last_reason(job, policy),
        first_commit=alert.first_commit,
        recent=_recent(job, policy),
        owner=job.owner,
        source=job.source,
        suppressed=suppressed,
        mute_reason=mute.reason if mute else None,
    )
