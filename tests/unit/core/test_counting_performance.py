"""The optimised engine gives exactly what the reference engine gives, and its work grows linearly.

Linearity is pinned by counting operations (Python function calls made while applying, and order-key
computations), never by timing.
"""

from __future__ import annotations

import copy
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.app.config import Config, parse_config
from failstreak.core import counting
from failstreak.core.model import Execution, Outcome, State, Status
from tests.unit import reference_engine

STATUSES = [Status.SUCCESS, Status.FAILED, Status.TIMED_OUT, Status.SKIPPED, Status.CANCELED, Status.RUNNING]
CFG = parse_config(
    "thresholds: {window: 4}\nhistory: 5\noverrides: [{match: 'b*', window: 2, outcomes: {skipped: failure}}]"
)


def _executions(rng: random.Random, jobs: int, count: int, t0: int = 10**12) -> list[Execution]:
    out = []
    for _ in range(count):
        job = f"{rng.choice('ab')}{rng.randrange(jobs)}"
        run = rng.randrange(count // max(jobs, 1) * 3 + 3)
        run_id = str(run) if rng.random() < 0.8 else f"r{run:02d}"
        out.append(
            Execution(
                job,
                run_id,
                rng.choice(STATUSES),
                t0 + run * 1000 + rng.choice((0, 0, 0, 1)),
                rng.choice((0, 0, 0, 1, 2)),
                url=f"u{run}",
                commit=rng.choice((None, "c")),
                reason=rng.choice((None, "r")),
                owner=rng.choice((None, "team")),
            )
        )
    return out


def _snapshot(state: State, trimmed: bool = False) -> dict[str, Any]:
    """Every job, with each run as stored; `trimmed` applies the remembered-extras rule to the reference."""
    out = {}
    for name, live in sorted(state.jobs.items()):
        job = copy.deepcopy(live)
        policy = CFG.policy_for(name)
        rows = []
        for r in job.runs:
            failed = counting.outcome_of(policy, r.status) is Outcome.FAILURE
            extras = (r.url, r.commit, r.reason) if failed or not trimmed else (None, None, None)
            rows.append((r.run_id, r.status, r.finished_at, r.attempt, *extras))
        job.runs = []
        out[name] = (job, rows)
    return out


def _stats(stats: Any) -> tuple[Any, ...]:
    return (
        stats.ingested,
        stats.duplicates,
        stats.superseded,
        stats.stale,
        stats.running,
        stats.replaced,
        {k: (v.counted, v.successes, v.failures) for k, v in stats.touched.items()},
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 4), st.lists(st.integers(0, 40), min_size=1, max_size=5))
def test_optimised_engine_matches_the_reference_pass_after_pass(seed: int, jobs: int, batches: list[int]) -> None:
    # Given the same batches (duplicates, retries, late and stale runs, ignored statuses, overrides)
    rng = random.Random(seed)
    fast, ref = State(), State()
    for n, size in enumerate(batches):
        batch = _executions(rng, jobs, size)
        rng.shuffle(batch)
        # When both engines apply them pass after pass
        got = counting.apply(fast, batch, CFG.policy_for, now=n)
        want = reference_engine.apply(ref, batch, CFG.policy_for, now=n)
        # Then statistics and every job's state are identical (but for links, commits and reasons of runs that
        # did not fail, which the optimised engine does not remember)
        assert _stats(got) == _stats(want)
        assert _snapshot(fast) == _snapshot(ref, trimmed=True)


@contextmanager
def _count_calls() -> Iterator[list[int]]:
    calls = [0]

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            calls[0] += 1

    sys.setprofile(profiler)
    try:
        yield calls
    finally:
        sys.setprofile(None)


def _steady_workload(jobs: int, per_job: int, cfg: Config) -> tuple[State, list[Execution]]:
    """A state where every job has a full history, and a batch of new runs with late, duplicate and retried ones."""
    rng = random.Random(jobs * 7 + per_job)
    state = State()
    history = [
        Execution(f"job-{j}", str(k), rng.choice(STATUSES[:4]), 10**12 + k * 1000, url="u")
        for j in range(jobs)
        for k in range(12)
    ]
    counting.apply(state, history, cfg.policy_for, now=0)
    batch = []
    for j in range(jobs):
        for k in range(12, 12 + per_job):
            ex = Execution(f"job-{j}", str(k), rng.choice(STATUSES[:4]), 10**12 + k * 1000, url="u")
            batch.append(ex)
            if k % 5 == 0:
                batch.append(ex)  # duplicate delivery
            if k % 7 == 0:
                batch.append(Execution(ex.job, ex.run_id, Status.SUCCESS, ex.finished_at + 1, attempt=1))
        batch.append(Execution(f"job-{j}", "late", Status.FAILED, 10**12 + 10_500))  # late arrival
    rng.shuffle(batch)
    return state, batch


def _work(jobs: int, per_job: int) -> tuple[int, int]:
    cfg = Config()
    state, batch = _steady_workload(jobs, per_job, cfg)
    keys = [0]
    original = Execution.order_key

    def counted(self: Execution) -> tuple[int, tuple[int, int, str]]:
        keys[0] += 1
        return original(self)

    Execution.order_key = counted  # type: ignore[method-assign]
    try:
        with _count_calls() as calls:
            counting.apply(state, batch, cfg.policy_for, now=1)
    finally:
        Execution.order_key = original  # type: ignore[method-assign]
    return calls[0], keys[0]


def test_engine_work_grows_linearly_with_jobs() -> None:
    # Given steady states of 200 and 800 jobs with the same runs per job; When a pass is applied
    small_calls, small_keys = _work(200, 10)
    big_calls, big_keys = _work(800, 10)
    # Then four times the jobs costs four times the operations (within a small constant)
    assert big_calls <= 4.4 * small_calls
    assert big_keys <= 4.4 * small_keys


def test_engine_work_grows_linearly_with_executions_per_job() -> None:
    # Given the same jobs receiving 10 or 40 runs each (ordering, dedupe, late arrivals per job)
    small_calls, small_keys = _work(100, 10)
    big_calls, big_keys = _work(100, 40)
    # Then the work grows at most in proportion to the executions (ordering is n log n on the job's batch only,
    # done in C: the Python-level work and the order keys computed stay linear)
    ratio = 40 / 10
    assert big_calls <= 1.15 * ratio * small_calls
    assert big_keys <= 1.15 * ratio * small_keys


def test_links_commits_and_reasons_are_remembered_for_failures_only() -> None:
    # Given a failure, a success and a skipped run, each with a link, a commit and a reason
    state = State()
    runs = [
        Execution("j", str(k), status, 10**12 + k, url=f"u{k}", commit=f"c{k}", reason=f"r{k}", owner="team")
        for k, status in enumerate([Status.FAILED, Status.SUCCESS, Status.SKIPPED])
    ]
    # When they are applied
    counting.apply(state, runs, CFG.policy_for, now=0)
    job = state.jobs["j"]
    # Then only the failure keeps them; the others keep id, status, time and attempt; the owner is still learnt
    assert [(r.url, r.commit, r.reason) for r in job.runs] == [("u0", "c0", "r0"), (None, None, None), (None,) * 3]
    assert [(r.run_id, r.status, r.finished_at) for r in job.runs] == [
        (r.run_id, r.status, r.finished_at) for r in runs
    ]
    assert job.owner == "team"


def test_a_status_that_a_job_counts_as_failure_keeps_its_link() -> None:
    # Given a job whose override counts skipped runs as failures
    state = State()
    counting.apply(state, [Execution("b1", "1", Status.SKIPPED, 10**12, url="u")], CFG.policy_for, now=0)
    # Then its skipped run keeps its link
    assert state.jobs["b1"].runs[0].url == "u"
