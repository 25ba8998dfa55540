"""Runs applied to a state read lazily (docs/state.md, "The index"): the jobs a pass brings runs to are read
together, a slice most of whose jobs are read is decoded whole and written back in one encode; all of it gives
exactly what the state read whole, or read job by job, gives (docs/performance.md, "The big pass, applied slice
by slice")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.app.config import Config
from failstreak.core import counting
from failstreak.core.jobindex import held
from failstreak.core.model import Execution, JobState, Run, State, Status
from failstreak.state import codec
from failstreak.state.lazy import LazyJobs
from tests.conftest import T0, document_content
from tests.unit.core.test_counting_performance import _stats as counted

CFG = Config()
PER_MEMBER = 4


def _estate(history: list[list[tuple[int, Status]]]) -> State:
    """Jobs `job-0`, `job-1`, ... each remembering the runs (id, status) given, a minute apart."""
    jobs = {}
    for i, runs in enumerate(history):
        job = JobState(name=f"job-{i}", first_seen=T0, last_seen=T0)
        counting.apply(
            State(jobs={job.name: job}),
            [Execution(job.name, str(rid), status, T0 + rid * 60_000) for rid, status in runs],
            CFG.policy_for,
            T0,
        )
        jobs[job.name] = job
    return State(jobs=jobs, updated_at=T0, passes=1)


def _stored(state: State) -> bytes:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
        return codec.encode_document(state, compress_above=10).body


def _saved(state: State, since: codec.Encoded | None) -> bytes:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
        return codec.encode_document(state, compress_above=10, since=since).body


def _stats(stats: counting.ApplyStats) -> tuple[object, ...]:
    """Every count of a pass's stats (`test_counting_performance`'s), and the failures it listed."""
    return (*counted(stats), stats.failures)


HISTORY = st.lists(
    st.lists(st.tuples(st.integers(1, 30), st.sampled_from([Status.SUCCESS, Status.FAILED])), max_size=14),
    min_size=1,
    max_size=14,
)


@st.composite
def batches(draw: st.DrawFn, jobs: int) -> list[Execution]:
    """A pass's executions: to jobs held and to new ones, run ids that repeat the history's and each other's
    (duplicates, retries, late runs), every status."""
    names = st.sampled_from([f"job-{i}" for i in range(jobs)] + ["new-a", "new-b"])
    return draw(
        st.lists(
            st.builds(
                Execution,
                job=names,
                run_id=st.integers(1, 40).map(str),
                status=st.sampled_from(list(Status)),
                finished_at=st.integers(0, 45).map(lambda m: T0 + m * 60_000),
                attempt=st.integers(0, 2),
                reason=st.sampled_from([None, "OOMKilled", "exit code 1"]),
            ),
            max_size=60,
        )
    )


@settings(max_examples=150, deadline=None)
@given(data=st.data(), history=HISTORY)
def test_runs_applied_to_a_state_read_lazily_give_the_stats_jobs_and_document_of_the_state_read_whole_or_job_by_job(
    data: st.DataObject, history: list[list[tuple[int, Status]]]
) -> None:
    # Given a stored estate in slices of four jobs, and a pass's executions for some of its jobs and new ones
    stored = _stored(_estate(history))
    executions = data.draw(batches(len(history)))
    # When they are applied to the state read lazily, to the same read whole, and to the same read lazily with
    # every job they name read first, one by one (each slice split, no slice decoded whole)
    lazy, since = codec.decode_document(stored)
    plain = codec.decode(stored)
    one_by_one, since_one = codec.decode_document(stored)
    for name in {ex.job for ex in executions}:
        if name in one_by_one.jobs:
            one_by_one.jobs[name]
    got = [counting.apply(state, executions, CFG.policy_for, T0 + 3_600_000) for state in (lazy, plain, one_by_one)]
    # Then the counts and every job are the same, and the lazily read states write the same document, byte for
    # byte, the one the state read whole writes but for its index
    assert _stats(got[0]) == _stats(got[1]) == _stats(got[2])
    assert dict(lazy.jobs.items()) == plain.jobs == dict(one_by_one.jobs.items())
    body = _saved(lazy, since)
    assert body == _saved(one_by_one, since_one)
    assert document_content(body) == document_content(codec.encode(plain, compress_above=float("inf")))


def test_the_jobs_held_are_read_a_slice_at_a_time_where_most_of_it_is_named_and_given_slice_by_slice() -> None:
    # Given a stored estate of twelve jobs, four to a slice, read lazily
    state, _ = codec.decode_document(_stored(_estate([[(1, Status.FAILED)]] * 12)))
    jobs = state.jobs
    assert isinstance(jobs, LazyJobs)
    # When three jobs of the second slice, one of the third and a job it does not hold are asked for
    got = held(jobs, ["job-9", "job-5", "nobody", "job-4", "job-6"])
    # Then the jobs held come slice by slice, as stored (within a slice, as named); the second slice was decoded
    # whole (its fourth job too), and of the third only the job named, after splitting it
    assert list(got) == ["job-5", "job-4", "job-6", "job-9"]
    assert [job.name for job in got.values()] == list(got)
    assert (jobs.decoded, jobs.jobs_decoded) == (2, 5)


def test_a_slice_read_whole_is_written_back_as_stored_unless_a_job_changed_even_to_text_of_the_same_length() -> None:
    # Given a stored estate of eight jobs, four to a slice, every job read together
    stored = _stored(_estate([[(1, Status.FAILED), (2, Status.FAILED)]] * 8))
    state, since = codec.decode_document(stored)
    assert since is not None
    assert since.members is not None
    held(state.jobs, list(state.jobs))
    # When a job of the second slice changes without changing the length of its text, and the state is saved
    state.jobs["job-6"].total_runs += 1
    assert len(str(state.jobs["job-6"].total_runs)) == 1
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then the first slice is its stored bytes, the second compressed again, and the document is the fresh one
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, since.members, strict=True)] == [True, False]
    assert document_content(again.body) == document_content(codec.encode(state, compress_above=float("inf")))
    assert codec.decode(again.body).jobs["job-6"].total_runs == 3


def test_a_slice_read_whole_that_lost_a_job_is_written_without_it() -> None:
    # Given a stored estate of eight jobs, four to a slice, every job read together
    state, since = codec.decode_document(_stored(_estate([[(1, Status.SUCCESS)]] * 8)))
    assert since is not None
    assert since.members is not None
    held(state.jobs, list(state.jobs))
    # When a job of the first slice is retired and the state saved
    del state.jobs["job-1"]
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then the first slice is written again without it, the second reused, and the document is the fresh one
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, since.members, strict=True)] == [False, True]
    assert list(codec.decode(again.body).jobs) == [f"job-{i}" for i in (0, 2, 3, 4, 5, 6, 7)]
    assert document_content(again.body) == document_content(codec.encode(state, compress_above=float("inf")))


def test_a_new_run_is_remembered_with_its_own_copy_of_its_id_and_time() -> None:
    # Given a job and an execution of it
    state = State()
    execution = Execution("j", "123456", Status.SUCCESS, T0 + 1)
    # When it is applied
    counting.apply(state, [execution], CFG.policy_for, T0)
    # Then the run remembers the same id and time, in objects of its own (laid out beside the job's other new
    # runs rather than where the inbox's parser left them: docs/performance.md)
    (run,) = state.jobs["j"].runs
    assert run == Run(T0 + 1, "123456", 0, Status.SUCCESS)
    assert run.run_id is not execution.run_id
    assert run.finished_at is not execution.finished_at
