"""Each job as the run-history page shows it, from the state and plain lookups (no config, no I/O). Pure."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable

from failstreak.core.alerting import mute_covering
from failstreak.core.jobindex import Brief, briefs
from failstreak.core.model import JobState, Mute, State, iso
from failstreak.core.policy import JobPolicy
from failstreak.views import page
from failstreak.views.page import JobView, Totals


def describe_mute(mute: Mute, job: JobState) -> str:
    """A mute as a person reads it: until when, or for how many more runs, and why."""
    parts = []
    if mute.until is not None:
        parts.append(f"until {iso(mute.until)}")
    if mute.runs is not None:
        parts.append(f"for {max(mute.runs - job.mute_runs.get(mute.id, 0), 0)} more runs")
    if mute.until_success:
        parts.append("until the next success")
    text = ", ".join(parts) or "until unmuted"
    return f"{text} ({mute.reason})" if mute.reason else text


def job_views(
    state: State,
    mutes: Iterable[Mute],
    policy_for: Callable[[str], JobPolicy],
    teams_of: Callable[[str, str | None], list[str]],
    now: int,
    health_of: Callable[[JobState], str] | None = None,
) -> list[JobView]:
    """Every job of `state` with its window (`policy_for`), owning teams (`teams_of(name, owner)`), the mute
    covering it at `now`, and its health (`health_of`, when given)."""
    return _views(state.jobs.values(), mutes, policy_for, teams_of, now, health_of)


def _order(b: Brief) -> tuple[bool, int, str]:
    """The page's order of jobs: alerting first, then the longest streak, then the name (`page._shown`)."""
    return (not b.alerting, -b.streak, b.name)


def page_views(
    state: State,
    mutes: Iterable[Mute],
    policy_for: Callable[[str], JobPolicy],
    teams_of: Callable[[str, str | None], list[str]],
    now: int,
    health_of: Callable[[JobState], str] | None = None,
    max_jobs: int | None = None,
) -> tuple[list[JobView], Totals]:
    """`job_views` of the jobs the page shows (at most `max_jobs`, by default `page.MAX_JOBS`, picked as
    `page.render` picks them), with the estate's totals: picked from the state's index, so that only those jobs
    are read (docs/performance.md)."""
    max_jobs = page.MAX_JOBS if max_jobs is None else max_jobs
    rows = list(briefs(state.jobs))
    totals = Totals(len(rows), sum(1 for b in rows if b.alerting))
    shown = rows if len(rows) <= max_jobs else heapq.nsmallest(max_jobs, rows, key=_order)
    jobs = [state.jobs[b.name] for b in shown]
    return _views(jobs, mutes, policy_for, teams_of, now, health_of), totals


def _views(
    jobs: Iterable[JobState],
    mutes: Iterable[Mute],
    policy_for: Callable[[str], JobPolicy],
    teams_of: Callable[[str, str | None], list[str]],
    now: int,
    health_of: Callable[[JobState], str] | None,
) -> list[JobView]:
    mutes = list(mutes)
    views = []
    for job in jobs:
        mute = mute_covering(job, mutes, now)
        views.append(
            JobView(
                job=job,
                teams=tuple(teams_of(job.name, job.owner)),
                window=policy_for(job.name).window,
                mute=describe_mute(mute, job) if mute is not None else None,
                incidents=tuple(job.incidents),
                health=health_of(job) if health_of is not None else None,
            )
        )
    return views
