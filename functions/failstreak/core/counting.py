"""Counting: order, dedupe, attempts, late arrivals, streaks and windows. Pure: no I/O, no clock.

Runs are remembered with their link, commit, reason and category only when their status counts as a failure (for
their job's policy); the other runs keep their id, status, time and attempt. A failure whose category the policy
does not count (docs/triage.md: by default only `code` counts) is remembered, but is for the streak, the window
and the totals what an ignored run is.

The counters of a job always equal a direct recomputation over its runs sorted by (`finished_at`, `run_id`),
whatever order and batches they arrived in, as long as a late run is newer than the oldest run the state still
remembers for its job (older ones are reported as `stale` and not applied).

Cost: each pass is O(E log E) for sorting its own executions plus O(H) per touched job for merging them into
its remembered history (H = the job's history bound): linear in executions and in jobs.
"""

from __future__ import annotations

import itertools
import operator
from collections import defaultdict
from collections.abc import Collection, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from failstreak.core.categories import BUILT_IN, CODE
from failstreak.core.jobindex import briefs, held
from failstreak.core.model import Execution, JobState, Outcome, Run, State, Status, run_id_key

if TYPE_CHECKING:
    from failstreak.core.policy import JobPolicy, PolicyFor

IGNORED = Outcome.IGNORED
_FINISHED_AT = operator.attrgetter("finished_at")
_ATTEMPT = operator.attrgetter("attempt")
_RUN_ID = operator.attrgetter("run_id")
_NEW_STRING = ("", "")
FAILURE = Outcome.FAILURE


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
    """The jobs the pass changed and what it changed, in the order they were applied (the jobs held in their
    stored order, then the new jobs in the order their runs arrived)."""
    failures: list[tuple[str, int]] = field(default_factory=list)
    """(category, finished_at) of every new run whose status is a failure, whatever its category, in the order
    the runs arrived."""


def apply(state: State, executions: Iterable[Execution], policy_for: PolicyFor, now: int) -> ApplyStats:
    """Apply a batch of executions to the state in place and return what happened.

    `ingested` counts executions that changed a job (new runs, higher attempts, and a result that replaces an
    ignored record of the same attempt); `duplicates` the same (job, run_id, attempt) seen again;
    `superseded` lower attempts of a run already known at a higher one (and, within a batch, an ignored record
    replaced by a later one); `stale` runs older than anything the job still remembers, and retries of runs it
    has forgotten; `running` non-terminal records (not applied).
    """
    stats = ApplyStats()
    # The newest attempt of each run, by job, kept as the executions are read: each is then just built and near
    # the next in memory, where reading them again job by job would meet each one cold (docs/performance.md).
    by_job: defaultdict[str, dict[str, Execution]] = defaultdict(dict)
    running = Status.RUNNING
    for ex in executions:
        if ex.status is running:
            stats.running += 1
            continue
        best = by_job[ex.job]
        known = len(best)
        best.setdefault(ex.run_id, ex)
        if len(best) == known:
            _again_in_batch(best, ex, policy_for(ex.job), stats)
    # The jobs held are read together, and applied in the order they are stored: the runs a pass adds are then
    # laid out in memory as the save walks them (docs/performance.md). The new jobs follow, in arrival order.
    present = held(state.jobs, by_job)
    failures: dict[str, list[tuple[str, int]]] = {}
    touched: dict[str, JobDelta] = {}
    for name, job in itertools.chain(present.items(), _new_jobs(state, by_job, present, now)):
        job_failures: list[tuple[str, int]] = []
        delta = _apply_job(job, by_job[name], policy_for(name), stats, job_failures)
        if delta is not None:
            job.last_seen = now
            touched[name] = delta
        if job_failures:
            failures[name] = job_failures
    stats.touched = touched
    # In the order the runs arrived, whatever the order the jobs were applied in: the estate-wide category watch
    # keeps them in this order (docs/triage.md).
    for name in by_job:
        stats.failures.extend(failures.get(name, ()))
    return stats


def _new_jobs(
    state: State, by_job: Mapping[str, dict[str, Execution]], present: Container[str], now: int
) -> Iterator[tuple[str, JobState]]:
    """The jobs of `by_job` that `state` does not hold, each added to it as it is reached, in arrival order."""
    for name in by_job:
        if name not in present:
            job = state.jobs[name] = JobState(name=name, first_seen=now)
            yield name, job


def _counts(policy: JobPolicy, status: Status) -> Outcome:
    return policy.outcomes[status]


def run_outcome(policy: JobPolicy, run: Run) -> Outcome:
    """How a remembered run counts: its status's outcome, except that a failure of a category the policy does not
    count is ignored (docs/triage.md)."""
    outcome = policy.outcomes[run.status]
    if outcome is FAILURE and (run.category or CODE) not in policy.counts:
        return IGNORED
    return outcome


def _apply_job(
    job: JobState, best: dict[str, Execution], policy: JobPolicy, stats: ApplyStats, new_failures: list[tuple[str, int]]
) -> JobDelta | None:
    """Apply one job's executions of this pass (`best`: the newest attempt of each run, by run id, in the order
    the runs arrived): drop what the job already holds or has forgotten, record the rest, and settle the
    counters. None when nothing changed the job."""
    delta = JobDelta()
    runs = job.runs
    removed: set[str] = set()
    fresh: Iterable[Execution] = best.values()
    # Runs this batch brings again (a duplicate delivery or a retry): rare, found with set operations in C.
    again = best.keys() & map(_RUN_ID, runs) if runs else set()
    oldest = runs[0] if runs and job.forgotten > 0 else None
    if again or (oldest is not None and _reaches_back(best.values(), oldest)):
        fresh = _not_yet_applied(job, fresh, again, oldest, policy, stats, removed, delta)
    added = _record(job, fresh, policy, delta, new_failures)
    if not added:
        return None
    stats.ingested += len(added)  # every run that changed the job is in `added`, once
    job.runs = _merged(runs, added, removed)
    settle(job, policy)
    return delta


def _again_in_batch(best: dict[str, Execution], ex: Execution, policy: JobPolicy, stats: ApplyStats) -> None:
    """A run the batch already brought (`best` holds it): the higher attempt is kept, and an equal one that
    replaces an ignored record (a manual or skipped job played later); either way the other counts as
    superseded, and the same attempt again as a duplicate. Usually every run id of a batch is new."""
    seen = best[ex.run_id]
    if ex.attempt > seen.attempt:
        best[ex.run_id] = ex
        stats.superseded += 1
    elif ex.attempt < seen.attempt:
        stats.superseded += 1
    elif ex.status is not seen.status and policy.outcomes[seen.status] is IGNORED:
        best[ex.run_id] = ex
        stats.superseded += 1
    else:
        stats.duplicates += 1


def _reaches_back(candidates: Collection[Execution], oldest: Run) -> bool:
    """Whether any of the executions may be stale for a job that has forgotten runs: one finished no later than
    its oldest remembered run, or a retry. Usually none is (the runs a pass brings are newer than those it
    remembers), and this asks it in two loops in C rather than one in Python (`_not_yet_applied`)."""
    return min(map(_FINISHED_AT, candidates)) <= oldest.finished_at or any(map(_ATTEMPT, candidates))


def _not_yet_applied(
    job: JobState,
    candidates: Iterable[Execution],
    again: set[str],
    oldest: Run | None,
    policy: JobPolicy,
    stats: ApplyStats,
    removed: set[str],
    delta: JobDelta,
) -> list[Execution]:
    """The executions that change a job which already remembers runs: a run it holds (in `again`) is taken again
    only at a higher attempt (or as the result of an ignored placeholder), its old record uncounted and put in
    `removed`; when the job has forgotten runs (`oldest` is its oldest remembered one), a run older than that, or
    a retry of a forgotten run, is stale."""
    runs = job.runs
    known = {r.run_id: r for r in runs if r.run_id in again} if again else {}
    firsts: dict[bool, tuple[int, int, str] | None] | None = None
    kept: list[Execution] = []
    for ex in candidates:
        if again and (old := known.get(ex.run_id)) is not None:
            if not _replaces(ex, old, policy, stats):
                continue
            removed.add(ex.run_id)
            stats.replaced += 1
            _count(job, policy, old, -1, delta)
        elif oldest is not None:
            if ex.finished_at <= oldest.finished_at and ex.order_key() < oldest.order_key():
                stats.stale += 1
                continue
            if ex.attempt > 0:
                if firsts is None:
                    firsts = first_ids(runs)
                if _retries_forgotten(ex, firsts):
                    stats.stale += 1
                    continue
        kept.append(ex)
    return kept


def _replaces(ex: Execution, old: Run, policy: JobPolicy, stats: ApplyStats) -> bool:
    """Whether `ex` replaces the remembered record `old` of the same run; counts it as duplicate or superseded
    when it does not."""
    if ex.attempt == old.attempt:
        if ex.status is old.status or policy.outcomes[old.status] is not IGNORED:
            stats.duplicates += 1
            return False
        # The same attempt again with a new status, where the first was ignored: a manual or skipped job that
        # was played later. Its result replaces the placeholder (docs/sources.md).
        return True
    if ex.attempt < old.attempt:
        stats.superseded += 1
        return False
    return True


def _retries_forgotten(ex: Execution, firsts: dict[bool, tuple[int, int, str] | None]) -> bool:
    """A retry of a run the job no longer remembers: when its id sorts before every remembered run's of its kind
    (numeric or not), it is one of the forgotten runs, already counted at its earlier attempt (docs/sources.md)."""
    first = firsts[ex.run_id.isdigit()]
    return first is not None and run_id_key(ex.run_id) < first


def _record(
    job: JobState, fresh: Iterable[Execution], policy: JobPolicy, delta: JobDelta, new_failures: list[tuple[str, int]]
) -> list[Run]:
    """Turn the executions into runs and count them into the job and `delta`; return the runs, in batch order.
    Each failure gets its category (docs/triage.md), and is listed in `new_failures`; only those of a category
    the policy counts are counted."""
    outcomes = policy.outcomes
    added: list[Run] = []
    # Counted locally and written back once: this loop runs once per ingested execution.
    successes = failures = 0
    last_success = job.last_success
    last_failure = job.last_failure
    owner = job.owner
    source = job.source
    append = added.append
    classify = policy.classifier.classify
    counts = policy.counts
    for ex in fresh:
        outcome = outcomes[ex.status]
        # The run's id and time are copied here, beside the job's other new runs, rather than shared with the
        # execution, which the parser allocated where the inbox had it: the save encodes the jobs one after the
        # other, and reads copies laid out in that order far faster than values scattered over the whole inbox
        # (docs/performance.md). `s.join(("", ""))` is a new string equal to `s`, `n + 0` a new int equal to `n`.
        run_id = ex.run_id.join(_NEW_STRING)
        at = ex.finished_at + 0
        if outcome is FAILURE:
            category = classify(ex.category, ex.reason)
            stored = None if category == CODE else category
            append(Run(at, run_id, ex.attempt, ex.status, ex.url, ex.commit, ex.reason, stored))
            new_failures.append((category, at))
            if category in counts:
                failures += 1
                if last_failure is None or at > last_failure:
                    last_failure = at
        else:
            # Links, commits and reasons are remembered for failures only: alerts cite failed runs, and
            # dropping them elsewhere halves the stored state (docs/state.md).
            append(Run(at, run_id, ex.attempt, ex.status))
            if outcome is not IGNORED:
                successes += 1
                if last_success is None or at > last_success:
                    last_success = at
        if ex.owner:
            owner = ex.owner
        if ex.source:
            source = ex.source
    job.total_runs += successes + failures
    job.total_failures += failures
    job.last_success = last_success
    job.last_failure = last_failure
    job.owner = owner
    job.source = source
    delta.counted += successes + failures
    delta.successes += successes
    delta.failures += failures
    return added


def _merged(runs: list[Run], added: list[Run], removed: set[str]) -> list[Run]:
    """The remembered runs without `removed`, plus `added`, in (`finished_at`, `run_id`) order."""
    order = Run.order_key
    if len(added) > 1:
        # By time first (a C-level key); only runs that share a time need the run id to break the tie. Both
        # sorts are stable, so the order is exactly that of sorting by the full key.
        added.sort(key=_FINISHED_AT)
        if len(set(map(_FINISHED_AT, added))) < len(added):
            added.sort(key=order)
    if removed:
        runs = [r for r in runs if r.run_id not in removed]
        runs.extend(added)
        runs.sort(key=order)
    elif not runs or runs[-1].finished_at < added[0].finished_at:
        # The usual case: everything new is newer than what is remembered; the order is already right.
        runs.extend(added)
    else:
        # Late arrivals: Timsort merges the two sorted runs (remembered, then new) in linear time.
        runs.extend(added)
        runs.sort(key=order)
    return runs


def first_ids(runs: Iterable[Run]) -> dict[bool, tuple[int, int, str] | None]:
    """The smallest remembered run id key among numeric ids (True) and among the others (False)."""
    out: dict[bool, tuple[int, int, str] | None] = {True: None, False: None}
    for r in runs:
        key = run_id_key(r.run_id)
        numeric = r.run_id.isdigit()
        seen = out[numeric]
        if seen is None or key < seen:
            out[numeric] = key
    return out


def _count(job: JobState, policy: JobPolicy, ex: Run, sign: int, delta: JobDelta) -> None:
    outcome = run_outcome(policy, ex)
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


def settle(job: JobState, policy: JobPolicy) -> None:
    """Forget the oldest runs beyond the history bound, folding forgotten failures into `older_streak`, and
    recompute the streak and window counters from the remembered runs, in one walk back from the newest run."""
    runs = job.runs
    outcomes = policy.outcomes
    counts = policy.counts
    code_counts = CODE in counts
    keep = policy.history
    window = policy.window
    counted = streak = window_size = window_failures = 0
    broken = False
    cut = 0  # runs before this index are beyond the history bound
    for i in range(len(runs) - 1, -1, -1):
        run = runs[i]
        outcome = outcomes[run.status]
        if outcome is FAILURE and (run.category not in counts if run.category is not None else not code_counts):
            continue  # a failure of a category the job does not count is, here, an ignored run
        if outcome is IGNORED:
            continue
        if counted == keep:
            cut = i + 1
            break
        counted += 1
        failed = outcome is FAILURE
        if not broken:
            if failed:
                streak += 1
            else:
                broken = True
        if window_size < window:
            window_size += 1
            window_failures += failed
    if cut:
        _forget(job, policy, cut)
    if not broken:
        streak += job.older_streak
    job.consecutive_failures = streak
    job.window_failures = window_failures
    job.window_size = window_size
    if len(runs) - counted > keep:
        _forget_extra_ignored(job, policy, len(runs) - counted - keep)


def _forget(job: JobState, policy: JobPolicy, cut: int) -> None:
    """Drop the `cut` oldest runs, folding their failures into `older_streak`: oldest first, a failure lengthens
    it and a success resets it, so it ends as the failures after the last forgotten success, or grows by all of
    them if none was a success."""
    runs = job.runs
    tail = 0
    for i in range(cut - 1, -1, -1):
        outcome = run_outcome(policy, runs[i])
        if outcome is FAILURE:
            tail += 1
        elif outcome is not IGNORED:
            break
    else:
        tail += job.older_streak
    job.older_streak = tail
    del runs[:cut]
    job.forgotten += cut


def _forget_extra_ignored(job: JobState, policy: JobPolicy, extra: int) -> None:
    # Ignored runs only serve dedupe; keep the newest `history` of them so a job that is always skipped cannot
    # grow without bound. Counted runs are never dropped here.
    kept = []
    for r in job.runs:
        if extra > 0 and run_outcome(policy, r) is Outcome.IGNORED:
            extra -= 1
            continue
        kept.append(r)
    job.runs = kept


def counted_runs(job: JobState, policy: JobPolicy) -> list[Run]:
    """The job's remembered counted runs, oldest first."""
    return [r for r in job.runs if run_outcome(policy, r) is not Outcome.IGNORED]


def counted_failures(job: JobState, policy: JobPolicy) -> list[bool]:
    """Whether each of the job's remembered counted runs failed, oldest first: `run_outcome` of each of its
    `counted_runs`, in one loop without a call per run (health judges every job for `status --json`)."""
    outcomes, counts = policy.outcomes, policy.counts
    failed = []
    for r in job.runs:
        outcome = outcomes[r.status]
        if outcome is FAILURE:
            if (r.category or CODE) in counts:
                failed.append(True)
        elif outcome is not IGNORED:
            failed.append(False)
    return failed


def category_failures(job: JobState, policy: JobPolicy) -> dict[str, int]:
    """The failures of each category among the job's last `window` runs that were a success or a failure of any
    category (docs/triage.md): the built-in categories always, at 0 when they have none, and any other that has
    some."""
    out: dict[str, int] = dict.fromkeys(BUILT_IN, 0)
    seen = 0
    outcomes = policy.outcomes
    for r in reversed(job.runs):
        outcome = outcomes[r.status]
        if outcome is IGNORED:
            continue
        if outcome is FAILURE:
            category = r.category or CODE
            out[category] = out.get(category, 0) + 1
        seen += 1
        if seen == policy.window:
            break
    return out


def outcome_of(policy: JobPolicy, status: Status) -> Outcome:
    return _counts(policy, status)


def retire(state: State, now: int, retire_after_ms: int | None, keep: Iterable[str] = ()) -> list[str]:
    """Forget jobs not seen for `retire_after_ms`; return their names, sorted."""
    if retire_after_ms is None:
        return []
    spared = set(keep)
    cutoff = now - retire_after_ms
    gone = sorted(b.name for b in briefs(state.jobs, skip=spared) if b.last_seen < cutoff)
    for name in gone:
        del state.jobs[name]
    return gone
