"""Alert rules (docs/configuration.md): thresholds, the incident state machine, reminders and mutes. Pure: no I/O,
no clock.

Per job and pass, `evaluate` is called once, after all of the pass's runs are applied, and returns at most one
notification:

- not alerting, and `consecutive_failures >= consecutive` or `window_failures >= cumulative` → `triggered`,
  naming every threshold crossed;
- alerting, latest counted run a success and both counters below their thresholds → `resolved`, with a
  summary of the incident;
- alerting otherwise → `reminder` when the cadence (hours and/or counted runs since the last notice) is due.
- not alerting and silent (its cadence says it should have run: core/triage.py) → `triggered` with the reason
  `silent`; its next run ends that incident (`resolved`), or, if the job is then past a threshold, opens an
  incident on its failures instead (`triggered`).

A muted job goes through the same transitions; its notifications come back with `suppressed=True`. A job whose
`triggered` was suppressed is announced (`triggered`) at its first evaluation after the mute ends, if it is
still alerting; its `resolved` is only sent if its `triggered` was (else it is recorded as suppressed).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import TYPE_CHECKING

from failstreak.core import incidents
from failstreak.core.counting import JobDelta, counted_runs, run_outcome
from failstreak.core.health import Health, Judgement
from failstreak.core.model import Ack, Alert, Event, JobState, Mute, Notification, Outcome, RunBrief

if TYPE_CHECKING:
    from failstreak.core.policy import JobPolicy

CONSECUTIVE = "consecutive"
CUMULATIVE = "cumulative"
SILENT = "silent"


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
            outcome=run_outcome(policy, r),
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
        while start < len(runs) and run_outcome(policy, runs[start]) is not Outcome.FAILURE:
            start += 1
        count = job.window_failures
    first = runs[start] if start < len(runs) else None
    return (first.finished_at if first else None, first.commit if first else None, count)


def _last_reason(job: JobState, policy: JobPolicy) -> str | None:
    for r in reversed(job.runs):
        if run_outcome(policy, r) is Outcome.FAILURE:
            return r.reason or r.status.value.replace("_", " ")
    return None


def _latest_counted_succeeded(job: JobState, policy: JobPolicy) -> bool:
    for r in reversed(job.runs):
        outcome = run_outcome(policy, r)
        if outcome is not Outcome.IGNORED:
            return outcome is Outcome.SUCCESS
    return job.consecutive_failures == 0


def _reminder_due(job: JobState, alert: Alert, policy: JobPolicy, now: int) -> bool:
    cadence = policy.reminder
    if cadence.every_hours is not None and now - alert.last_notified_at >= cadence.every_hours * 3_600_000:
        return True
    return cadence.every_runs is not None and job.total_runs - alert.runs_at_last_notice >= cadence.every_runs


def _open(job: JobState, policy: JobPolicy, now: int, reasons: list[str], silent: int | None, muted: bool) -> Alert:
    """A new incident: on the thresholds crossed, or (none crossed) on the job's silence since `silent`."""
    if reasons:
        since, commit, count = _incident_start(job, policy, reasons)
    else:
        reasons, since, commit, count = [SILENT], silent, None, 0
    job.threads = {}
    job.alert = Alert(
        triggered_at=now,
        reasons=reasons,
        since=since,
        failures_base=job.total_failures - count,
        last_notified_at=now,
        runs_at_last_notice=job.total_runs,
        first_commit=commit,
        announced=not muted,
    )
    return job.alert


def _close(job: JobState, policy: JobPolicy, alert: Alert, now: int) -> None:
    """Keep the incident that just ended in the job's history (docs/page.md)."""
    job.incidents = incidents.closed(
        job.incidents,
        incidents.Incident(
            triggered_at=alert.triggered_at,
            resolved_at=now,
            reasons=list(alert.reasons),
            since=alert.since,
            failed_runs=job.total_failures - alert.failures_base,
            first_commit=alert.first_commit,
            last_reason=_last_reason(job, policy),
            suppressed=alert.suppressed,
        ),
    )


def _next_event(
    job: JobState, policy: JobPolicy, now: int, reasons: list[str], mute: Mute | None, silent: int | None
) -> Event | None:
    """The event the job's incident state calls for, after moving it (see module doc)."""
    alert = job.alert
    if alert is not None and alert.reasons == [SILENT] and silent is None and reasons:
        # The job ran again and is failing: its silence gives way to an incident on its failures.
        job.alert = alert = None
    if alert is None:
        if not reasons and silent is None:
            return None
        _open(job, policy, now, reasons, silent, mute is not None)
        return Event.TRIGGERED
    if _over(job, policy, alert, reasons, silent):
        job.alert = None
        _close(job, policy, alert, now)
        return Event.RESOLVED
    if not alert.announced:
        if mute is not None:
            return None
        alert.announced = True
        alert.reasons = reasons or alert.reasons
        return Event.TRIGGERED
    return Event.REMINDER if _reminder_due(job, alert, policy, now) else None


def _over(job: JobState, policy: JobPolicy, alert: Alert, reasons: list[str], silent: int | None) -> bool:
    """Whether the incident is over: a silence once the job ran again, failures once the job is fixed."""
    if alert.reasons == [SILENT]:
        return silent is None
    return not reasons and _latest_counted_succeeded(job, policy)


def _held_back(alert: Alert, event: Event, mute: Mute | None, ack: Ack | None) -> tuple[bool, str | None]:
    """Whether the event is recorded as suppressed instead of sent, and the reason shown for it: a mute holds back
    everything, an acknowledgement only reminders, and an incident nobody was told about ends as quietly as it
    began."""
    if mute is not None:
        return True, mute.reason
    if ack is not None and event is Event.REMINDER:
        return True, f"acknowledged by {ack.by}"
    return not alert.announced, None


def evaluate(
    job: JobState,
    policy: JobPolicy,
    now: int,
    mute: Mute | None = None,
    silent: int | None = None,
    judged: Judgement | None = None,
    ack: Ack | None = None,
) -> Notification | None:
    """Advance the job's incident state and return the notification it calls for, if any (see module doc).

    `silent`: when the job's missed run was expected, if it is silent now (core/triage.py); `judged`: its health,
    carried into the notification; `ack`: the job's acknowledgement in force, which holds back its reminders
    (recorded as suppressed), never its triggered or resolved."""
    reasons = crossed(job, policy)
    before = job.alert
    event = _next_event(job, policy, now, reasons, mute, silent)
    if event is None:
        return None
    alert = job.alert if event is not Event.RESOLVED else before
    assert alert is not None  # an event always concerns an incident, open or just closed

    suppressed, held_by = _held_back(alert, event, mute, ack)
    if event is not Event.RESOLVED:
        alert.last_notified_at = now
        alert.runs_at_last_notice = job.total_runs
        if suppressed:
            alert.suppressed += 1
    silence_only = alert.reasons == [SILENT]
    return Notification(
        id=f"{event.value}:{alert.triggered_at}:{now}:{job.name}",
        job=job.name,
        event=event,
        reasons=tuple(alert.reasons if event is Event.RESOLVED or silence_only else reasons),
        consecutive_failures=job.consecutive_failures,
        window_failures=job.window_failures,
        window_size=job.window_size,
        consecutive_threshold=policy.consecutive,
        cumulative_threshold=policy.cumulative,
        window=policy.window,
        created_at=now,
        since=alert.since,
        failed_runs=job.total_failures - alert.failures_base,
        last_reason=None if silence_only else _last_reason(job, policy),
        first_commit=alert.first_commit,
        recent=_recent(job, policy),
        owner=job.owner,
        source=job.source,
        suppressed=suppressed,
        mute_reason=held_by,
        health=judged.health.value if judged else "healthy",
        health_detail=judged.describe() if judged and judged.health is not Health.HEALTHY else None,
    )
