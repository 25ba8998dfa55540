"""Triage of one job and of the estate (docs/triage.md): its silence and health from its state and policy, and the
estate-wide category notifications. Pure: the clock is an argument; nothing here changes a job's counters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from failstreak.core import categories, silence
from failstreak.core.counting import counted_failures, counted_runs
from failstreak.core.health import Judgement, judge
from failstreak.core.model import Event, JobState, Notification

if TYPE_CHECKING:
    from failstreak.core.policy import JobPolicy

CATEGORY_REASON = "category"


@dataclass(frozen=True)
class TriageSettings:
    """The pass-wide triage settings (docs/triage.md), as plain values: whether cadences are learned, the grace
    after a missed run (None: the default), whether some job declares a cadence, and the estate-wide alerts."""

    learn: bool = False
    grace_ms: int | None = None
    expects_runs: bool = False
    estate_alerts: Mapping[str, categories.CategoryAlert] = field(default_factory=dict)

    def judge(self, policy_for: Callable[[str], JobPolicy], now: int) -> Callable[[JobState], Judgement]:
        """A job's health at `now` under these settings (docs/triage.md), as the views show it."""

        def judged(job: JobState) -> Judgement:
            policy = policy_for(job.name)
            return health(job, policy, silent_since(job, policy, now, learn=self.learn, grace_ms=self.grace_ms))

        return judged

    @property
    def watches_silence(self) -> bool:
        """Whether any job can fall silent, so that the jobs a pass brings nothing for are looked at too."""
        return self.learn or self.expects_runs


def last_run(job: JobState) -> int | None:
    """When the job last finished a run (any status: a skipped run shows the job is alive)."""
    return job.runs[-1].finished_at if job.runs else None


def silent_since(job: JobState, policy: JobPolicy, now: int, *, learn: bool, grace_ms: int | None) -> int | None:
    """When the job's missed run was expected, if it is silent now: against its declared cadence, else (with
    `learn`) its learned hours of the week; None otherwise, and always None for a job with neither."""
    active = job.learned.active if job.learned is not None else None
    return silence_of(last_run(job), active, policy, now, learn=learn, grace_ms=grace_ms)


def silence_of(
    last: int | None, active: str | None, policy: JobPolicy, now: int, *, learn: bool, grace_ms: int | None
) -> int | None:
    """`silent_since` from the job's last run and learned hours alone, as the index keeps them (core/jobindex.py)."""
    if policy.expect_every is not None:
        return silence.declared_silence(policy.expect_every, last, now, grace_ms)
    if learn and active is not None:
        return silence.learned_silence(silence.Learned(active=active), last, now, grace_ms)
    return None


def learn_runs(job: JobState) -> None:
    """Teach the job's learned cadence the runs it finished since what it has learned (docs/triage.md)."""
    since = job.learned.until if job.learned is not None else -1
    newer = [r.finished_at for r in job.runs if r.finished_at > since]
    if newer:
        job.learned = silence.learn(job.learned, newer)


def health(job: JobState, policy: JobPolicy, silent: int | None) -> Judgement:
    """The job's health from its counted window, its streak and its silence."""
    broken = policy.consecutive is not None and job.consecutive_failures >= policy.consecutive
    if silent is not None or broken:
        # Judged on its silence or its streak: the window is not read (every job is judged by `status --json`).
        return judge(
            (),
            broken=broken,
            streak=job.consecutive_failures,
            commit=_streak_commit(job, policy) if broken and silent is None else None,
            silent_since=silent,
            min_flips=policy.min_flips,
        )
    return judge(
        counted_failures(job, policy)[-policy.window :],
        broken=False,
        streak=job.consecutive_failures,
        min_flips=policy.min_flips,
    )


def _streak_commit(job: JobState, policy: JobPolicy) -> str | None:
    """The commit of the first failure of a broken job's streak: its alert's, else its first counted run's."""
    if job.alert is not None and job.alert.first_commit:
        return job.alert.first_commit
    streak = counted_runs(job, policy)[-job.consecutive_failures :]
    return streak[0].commit if streak else None


def estate_notification(event: categories.EstateEvent, now: int) -> Notification:
    """The notification of an estate-wide category event: about no job (`scope: category:<name>`), owned by the
    category's team, so that it is routed to that team's destinations."""
    kind = Event.TRIGGERED if event.event == "triggered" else Event.RESOLVED
    return Notification(
        id=f"{kind.value}:{event.since}:{now}:category:{event.category}",
        job=f"{event.category} failures",
        event=kind,
        reasons=(CATEGORY_REASON,),
        consecutive_failures=0,
        window_failures=event.count,
        window_size=event.count,
        consecutive_threshold=None,
        cumulative_threshold=event.threshold,
        window=event.count,
        created_at=now,
        since=event.since,
        failed_runs=event.count,
        last_reason=categories.describe(event),
        owner=event.team,
        scope=f"category:{event.category}",
    )
