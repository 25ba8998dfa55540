"""The engine as it was before the performance work (main at cba6190), kept as a reference: the optimised
engine must give exactly the same state and statistics. It follows the same replacement rules (docs/sources.md,
"Run identity"): a later record of the same attempt replaces an ignored one, and a retry of a forgotten run is
stale. Not used by the package.

The counters of a job always equal a direct recomputation over its runs sorted by (`finished_at`, `run_id`),
whatever order and batches they arrived in, as long as a late run is newer than the oldest run the state still
remembers for its job (older ones are reported as `stale` and not applied).

Cost: each pass is O(E log E) for sorting its own executions plus O(H) per touched job for merging them into
its remembered history (H = the job's history bound): linear in executions and in jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from failstreak.core.model import Execution, JobState, Outcome, State, Status, run_id_key

if TYPE_CHECKING:
    from failstreak.core.policy import JobPolicy

PolicyFor = Callable[[str], "JobPolicy"]


@dataclass(slots=True)
class JobDelta:
    """What one pass changed for one job: how many counted runs it added and whether any was a success."""

    counted: int = 0
    successes: int = 0
    failures: int = 0


@dataclass(slots=True)
class ApplyStats:
    ingested: int = 0
    duplicates: int = 0
    superseded: int = 0
    stale: int = 0
    running: int = 0
    replaced: int = 0
    touched: dict[str, JobDelta] = field(default_factory=dict)


def apply(state: State, executions: Iterable[Execution], policy_for: PolicyFor, now: int) -> ApplyStats:
    """Apply a batch of executions to the state in place and return what happened.

    `ingested` counts executions that changed a job (new runs and higher attempts); `duplicates` the same
    (job, run_id, attempt) seen again; `superseded` lower attempts of a run already known at a higher one;
    `stale` runs older than anything the job still remembers; `running` non-terminal records (not applied).
    """
    stats = ApplyStats()
    by_job: dict[str, list[Execution]] = {}
    for ex in executions:
        if ex.status is Status.RUNNING:
            stats.running += 1
            continue
        by_job.setdefault(ex.job, []).append(ex)
    for name, batch in by_job.items():
        job = state.jobs.get(name)
        if job is None:
            job = state.jobs[name] = JobState(name=name, first_seen=now)
        delta = _apply_job(job, batch, policy_for(name), stats)
        if delta is not None:
            job.last_seen = now
            stats.touched[name] = delta
    return stats


def _counts(policy: JobPolicy, status: Status) -> Outcome:
    return policy.outcomes.get(status, Outcome.IGNORED)


def _apply_job(job: JobState, batch: list[Execution], policy: JobPolicy, stats: ApplyStats) -> JobDelta | None:
    # Newest attempt per run within the batch; equal attempts are duplicates.
    best: dict[str, Execution] = {}
    for ex in batch:
        seen = best.get(ex.run_id)
        if seen is None:
            best[ex.run_id] = ex
        elif ex.attempt > seen.attempt:
            best[ex.run_id] = ex
            stats.superseded += 1
        elif ex.attempt == seen.attempt:
            if ex.status is not seen.status and _counts(policy, seen.status) is Outcome.IGNORED:
                best[ex.run_id] = ex
                stats.superseded += 1
            else:
                stats.duplicates += 1
        else:
            stats.superseded += 1

    known = {r.run_id: r for r in job.runs}
    oldest = job.runs[0].order_key() if job.runs else None
    forgot = job.forgotten > 0
    added: list[Execution] = []
    removed: set[str] = set()
    delta = JobDelta()
    for ex in best.values():
        old = known.get(ex.run_id)
        if old is not None:
            if ex.attempt == old.attempt:
                if ex.status is old.status or _counts(policy, old.status) is not Outcome.IGNORED:
                    stats.duplicates += 1
                    continue
            elif ex.attempt < old.attempt:
                stats.superseded += 1
                continue
            removed.add(ex.run_id)
            stats.replaced += 1
            _count(job, policy, old, -1, delta)
        elif forgot and oldest is not None and ex.order_key() < oldest:
            stats.stale += 1
            continue
        elif (
            forgot
            and ex.attempt > 0
            and any(r.isdigit() == ex.run_id.isdigit() for r in known)
            and run_id_key(ex.run_id) < min(run_id_key(r) for r in known if r.isdigit() == ex.run_id.isdigit())
        ):
            # A retry of a forgotten run: it was counted at its earlier attempt.
            stats.stale += 1
            continue
        added.append(ex)
        _count(job, policy, ex, +1, delta)
        stats.ingested += 1
        if ex.owner:
            job.owner = ex.owner
        if ex.source:
            job.source = ex.source

    if not added:
        return None
    runs = [r for r in job.runs if r.run_id not in removed] if removed else job.runs
    runs.extend(added)
    # Timsort merges the two sorted runs (remembered, then new) in linear time.
    runs.sort(key=Execution.order_key)
    job.runs = runs
    _trim(job, policy)
    recompute(job, policy)
    return delta


def _count(job: JobState, policy: JobPolicy, ex: Execution, sign: int, delta: JobDelta) -> None:
    outcome = _counts(policy, ex.status)
    if outcome is Outcome.IGNORED:
        return
    job.total_runs += sign
    delta.counted += sign
    if outcome is Outcome.FAILURE:
        job.total_failures += sign
        delta.failures += sign
        if sign > 0 and (job.last_failure is None or ex.finished_at > job.last_failure):
            job.last_failure = ex.finished_at
    else:
        delta.successes += sign
        if sign > 0 and (job.last_success is None or ex.finished_at > job.last_success):
            job.last_success = ex.finished_at


def _trim(job: JobState, policy: JobPolicy) -> None:
    """Forget the oldest runs beyond the history bound, folding forgotten failures into `older_streak`."""
    keep = policy.history
    runs = job.runs
    counted = sum(1 for r in runs if _counts(policy, r.status) is not Outcome.IGNORED)
    drop = 0
    while counted > keep:
        outcome = _counts(policy, runs[drop].status)
        if outcome is Outcome.FAILURE:
            job.older_streak += 1
            counted -= 1
        elif outcome is Outcome.SUCCESS:
            job.older_streak = 0
            counted -= 1
        drop += 1
    if drop:
        del runs[:drop]
        job.forgotten += drop
    extra_ignored = len(runs) - counted - keep
    if extra_ignored > 0:
        # Ignored runs only serve dedupe; keep the newest `keep` of them so a job that is always skipped
        # cannot grow without bound. Counted runs are never dropped here.
        kept = []
        for r in runs:
            if extra_ignored > 0 and _counts(policy, r.status) is Outcome.IGNORED:
                extra_ignored -= 1
                continue
            kept.append(r)
        job.runs = kept


def recompute(job: JobState, policy: JobPolicy) -> None:
    """Recompute the streak and window counters from the remembered runs."""
    streak = 0
    broken = False
    window_size = 0
    window_failures = 0
    for r in reversed(job.runs):
        outcome = _counts(policy, r.status)
        if outcome is Outcome.IGNORED:
            continue
        failed = outcome is Outcome.FAILURE
        if not broken:
            if failed:
                streak += 1
            else:
                broken = True
        if window_size < policy.window:
            window_size += 1
            window_failures += failed
        elif broken:
            break
    if not broken:
        streak += job.older_streak
    job.consecutive_failures = streak
    job.window_failures = window_failures
    job.window_size = window_size


def counted_runs(job: JobState, policy: JobPolicy) -> list[Execution]:
    """The job's remembered counted runs, oldest first."""
    return [r for r in job.runs if _counts(policy, r.status) is not Outcome.IGNORED]


def outcome_of(policy: JobPolicy, status: Status) -> Outcome:
    return _counts(policy, status)


def retire(state: State, now: int, retire_after_ms: int | None, keep: Iterable[str] = ()) -> list[str]:
    """Forget jobs not seen for `retire_after_ms`; return their names, sorted."""
    if retire_after_ms is None:
        return []
    spared = set(keep)
    cutoff = now - retire_after_ms
    gone = sorted(n for n, j in state.jobs.items() if j.last_seen < cutoff and n not in spared)
    for name in gone:
        del state.jobs[name]
    return gone
