"""Healing a state that holds runs dated in the future, stored before `finished_at` was bounded. Pure.

Runs are ordered by time, so such a run stays its job's newest forever: a success dated 2099 hides every later
failure, a failure dated 2099 keeps the job from ever resolving. A pass now refuses such records
(docs/configuration.md, "What a record may hold"); this forgets the ones a state already remembers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from failstreak.core import counting
from failstreak.core.jobindex import briefs
from failstreak.core.model import Outcome, Run, State

if TYPE_CHECKING:
    from failstreak.core.policy import JobPolicy


def forget_future_runs(state: State, latest: int, policy_for: Callable[[str], JobPolicy]) -> list[str]:
    """Forget every remembered run dated after `latest`, recompute its job's counters, and name each run forgotten
    (`job run <id>`). A job's runs are kept oldest first, so only jobs whose newest run is too late are looked at."""
    forgotten: list[str] = []
    late = [state.jobs[b.name] for b in briefs(state.jobs) if b.newest is not None and b.newest > latest]
    for job in late:
        name, runs = job.name, job.runs
        policy = policy_for(name)
        kept = [r for r in runs if r.finished_at <= latest]
        for r in runs[len(kept) :]:
            outcome = counting.run_outcome(policy, r)
            if outcome is not Outcome.IGNORED:
                job.total_runs -= 1
            if outcome is Outcome.FAILURE:
                job.total_failures -= 1
            forgotten.append(f"{name} run {r.run_id}")
        job.runs = kept
        if job.last_success is not None and job.last_success > latest:
            job.last_success = _newest(kept, policy, Outcome.SUCCESS)
        if job.last_failure is not None and job.last_failure > latest:
            job.last_failure = _newest(kept, policy, Outcome.FAILURE)
        counting.settle(job, policy)
    return forgotten


def _newest(runs: list[Run], policy: JobPolicy, outcome: Outcome) -> int | None:
    return max((r.finished_at for r in runs if counting.run_outcome(policy, r) is outcome), default=None)
