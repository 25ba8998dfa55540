"""Each job as the run-history page shows it, from the state and plain lookups (no config, no I/O). Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from failstreak.core.alerting import mute_covering
from failstreak.core.model import JobState, Mute, State, iso
from failstreak.core.policy import JobPolicy
from failstreak.views.page import JobView


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
    mutes = list(mutes)
    views = []
    for job in state.jobs.values():
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
