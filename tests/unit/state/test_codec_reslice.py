"""A document written with larger slices of jobs than the codec writes now: each of its members is cut to the
current size when a save writes it again, and kept as stored until then (docs/state.md, "The index")."""

from __future__ import annotations

import pytest

from failstreak.core.model import JobState, Run, State, Status
from failstreak.state import codec
from failstreak.state.lazy import LazyJobs
from tests.conftest import document_content


def _state(jobs: int) -> State:
    return State(
        jobs={
            f"job-{i:02}": JobState(
                name=f"job-{i:02}",
                runs=[Run(10**12 + k, str(k), 0, Status.FAILED if k % 2 else Status.SUCCESS) for k in range(3)],
                total_runs=3,
                total_failures=1,
            )
            for i in range(jobs)
        },
        updated_at=7,
        passes=2,
    )


def _written_with_slices_of(size: int, state: State, monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(codec, "JOBS_PER_MEMBER", size)
        return codec.encode_document(state, compress_above=10).body


def _read_in_slices_of(size: int, monkeypatch: pytest.MonkeyPatch) -> tuple[State, LazyJobs]:
    """12 jobs stored six to a member, read back by a codec that writes `size` to a member."""
    stored = _written_with_slices_of(6, _state(12), monkeypatch)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", size)
    state, _ = codec.decode_document(stored)
    assert isinstance(state.jobs, LazyJobs)
    return state, state.jobs


def _counts(body: bytes) -> list[int]:
    index = codec.decode_document(body)[0].jobs
    assert isinstance(index, LazyJobs)
    return [len(m.names) for m in index._members if m.names]


def test_a_member_written_again_is_cut_to_the_current_size_and_the_others_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given 12 jobs stored six to a member, read back by a codec that writes three to a member
    stored = _written_with_slices_of(6, _state(12), monkeypatch)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(stored)
    assert since is not None
    assert since.members is not None
    # When one job of the first member gets a run, and the state is saved
    state.jobs["job-01"].runs.append(Run(10**12 + 9, "9", 0, Status.SUCCESS))
    saved = codec.encode_document(state, compress_above=10)
    # Then the first member is written as two of three jobs, the second is the stored one, and the document is the
    # one a fresh encoding writes
    assert saved.members is not None
    assert [len(m) > 0 for m in saved.members] == [True, True, True]
    assert saved.members[2] is since.members[1]
    assert _counts(saved.body) == [3, 3, 6]
    expected = _state(12)
    expected.jobs["job-01"].runs.append(Run(10**12 + 9, "9", 0, Status.SUCCESS))
    assert document_content(saved.body) == document_content(codec.encode_document(expected, compress_above=10).body)
    assert codec.decode(saved.body) == expected


def test_the_cut_members_are_those_of_the_next_save(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a state whose first member was cut by its first save
    state, _ = _read_in_slices_of(3, monkeypatch)
    state.jobs["job-00"].total_runs += 1
    first = codec.encode_document(state, compress_above=10)
    assert first.members is not None
    # When a job of the second piece and one of the uncut member change before the next save, and a job is added
    state.jobs["job-04"].threads["slack:#c"] = "1.2"
    state.jobs["job-08"].total_runs += 1
    state.jobs["job-99"] = JobState(name="job-99")
    again = codec.encode_document(state, compress_above=10)
    # Then the first piece is reused, the other two members written again (the uncut one cut in its turn), the
    # new job in a member of its own, and every job reads back as it is
    assert again.members is not None
    assert again.members[0] is first.members[0]
    assert _counts(again.body) == [3, 3, 3, 3, 1]
    assert codec.decode(again.body) == codec.decode(codec.encode_document(state, compress_above=10).body)
    reread, _ = codec.decode_document(again.body)
    assert dict(reread.jobs.items()) == dict(state.jobs.items())


def test_a_member_decoded_whole_is_cut_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 12 jobs stored six to a member, all of the first member's jobs read in one call (as a pass bringing
    # runs to most of them reads them)
    state, jobs = _read_in_slices_of(4, monkeypatch)
    held = jobs.held([f"job-{i:02}" for i in range(6)])
    assert jobs.decoded == 1
    assert jobs.jobs_decoded == 6
    # When one of them changes and another is retired, and the state is saved
    held["job-02"].total_runs += 1
    del jobs["job-05"]
    saved = codec.encode_document(state, compress_above=10)
    # Then its five jobs are written four and one, and read back as they are
    assert _counts(saved.body) == [4, 1, 6]
    reread, _ = codec.decode_document(saved.body)
    assert dict(reread.jobs.items()) == dict(state.jobs.items())
    assert "job-05" not in reread.jobs


def test_the_jobs_a_cut_left_as_they_were_are_known_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored member of six jobs, its digest taken as a page made from it records it
    state, jobs = _read_in_slices_of(3, monkeypatch)
    digest = jobs.slice_of("job-00")
    assert digest is not None
    # When one of its jobs changes and the save cuts it in two
    jobs["job-04"].total_runs += 1
    codec.encode_document(state, compress_above=10)
    # Then every other job of it is known to have kept its text, in either piece; the changed one is not
    assert [jobs.unchanged_in(f"job-{i:02}", {digest}) for i in range(6)] == [True] * 4 + [False, True]
    assert jobs.slice_of("job-00") != jobs.slice_of("job-03")
