"""The runs of one batch: grouped by job as they are read, the newest attempt of each run kept, the others
counted (docs/records.md), exactly as a fold over the records in the order they arrived would count them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.app.config import Config
from failstreak.core import counting
from failstreak.core.model import DEFAULT_OUTCOMES, Execution, Outcome, State, Status
from tests.conftest import T0

CFG = Config()
NOW = T0 + 10**9

RECORDS = st.lists(
    st.builds(
        Execution,
        job=st.sampled_from(["alpha", "beta", "gamma"]),
        run_id=st.integers(1, 6).map(str),
        status=st.sampled_from(list(Status)),
        finished_at=st.integers(0, 40).map(lambda s: T0 + s * 1000),
        attempt=st.integers(0, 2),
    ),
    max_size=40,
)


def _fold(executions: list[Execution]) -> tuple[dict[tuple[str, str], Execution], int, int, int]:
    """The newest attempt of each (job, run) in arrival order, and the duplicates, superseded and running records,
    one record at a time: the rule of docs/records.md written as plainly as it reads."""
    kept: dict[tuple[str, str], Execution] = {}
    duplicates = superseded = running = 0
    for ex in executions:
        if ex.status is Status.RUNNING:
            running += 1
            continue
        seen = kept.get((ex.job, ex.run_id))
        if seen is None:
            kept[(ex.job, ex.run_id)] = ex
        elif ex.attempt > seen.attempt:
            kept[(ex.job, ex.run_id)] = ex
            superseded += 1
        elif ex.attempt < seen.attempt:
            superseded += 1
        elif ex.status is not seen.status and DEFAULT_OUTCOMES[seen.status] is Outcome.IGNORED:
            kept[(ex.job, ex.run_id)] = ex  # a manual or skipped run played later
            superseded += 1
        else:
            duplicates += 1
    return kept, duplicates, superseded, running


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_a_batch_keeps_the_newest_attempt_of_each_run_and_counts_the_rest_as_a_fold_over_its_records(
    executions: list[Execution],
) -> None:
    # Given records of a few jobs whose run ids and attempts repeat, in any order, and an empty state
    state = State()
    # When they are applied in one batch
    stats = counting.apply(state, executions, CFG.policy_for, NOW)
    # Then what is kept and counted is what a fold over the records in arrival order keeps and counts
    kept, duplicates, superseded, running = _fold(executions)
    assert (stats.ingested, stats.duplicates, stats.superseded, stats.running) == (
        len(kept),
        duplicates,
        superseded,
        running,
    )
    for name in {job for job, _ in kept}:
        outcomes = [DEFAULT_OUTCOMES[ex.status] for (job, _), ex in kept.items() if job == name]
        counted = [o for o in outcomes if o is not Outcome.IGNORED]
        assert state.jobs[name].total_runs == len(counted)
        assert state.jobs[name].total_failures == counted.count(Outcome.FAILURE)
    # And the failures are listed job by job in the order the jobs' first records arrived, each job's in the
    # order its runs' first records arrived
    order = list(dict.fromkeys(job for job, _ in kept))
    assert stats.failures == [
        ("code", ex.finished_at)
        for name in order
        for (job, _), ex in kept.items()
        if job == name and DEFAULT_OUTCOMES[ex.status] is Outcome.FAILURE
    ]


def test_the_same_record_given_twice_counts_once_and_once_as_a_duplicate() -> None:
    # Given one record, listed twice (the same object)
    record = Execution("alpha", "1", Status.FAILED, T0)
    state = State()
    # When the batch is applied
    stats = counting.apply(state, [record, record], CFG.policy_for, NOW)
    # Then the run is counted once, and the second listing as a duplicate
    assert (stats.ingested, stats.duplicates) == (1, 1)
    assert state.jobs["alpha"].total_failures == 1
