"""Saving a state as read: the gzip members of jobs that encode to the same bytes are reused, not compressed again."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest

from failstreak.core.model import JobState, Run, State, Status
from failstreak.errors import StateCorrupt
from failstreak.state import codec


def _state(jobs: int) -> State:
    return State(
        jobs={
            f"job-{i}": JobState(
                name=f"job-{i}",
                runs=[Run(10**12 + k, str(k), 0, Status.FAILED, f"u{k}") for k in range(3)],
                total_runs=3,
                total_failures=3,
            )
            for i in range(jobs)
        },
        cursors={"gitlab": {"since": 3}},
        updated_at=7,
        passes=2,
    )


def _stored(state: State) -> bytes:
    """The state as a pass writes a large one: gzip, one member per slice of jobs."""
    return codec.encode_document(state, compress_above=10).body


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real: Callable[[bytes], bytes] = codec.compress

    def compress(body: bytes) -> bytes:
        calls.append(len(body))
        return real(body)

    monkeypatch.setattr(codec, "compress", compress)
    return calls


def test_a_document_as_read_saves_again_reusing_the_members_of_jobs_that_did_not_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stored document, jobs three to a member, read back with what a save can reuse
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(_stored(_state(9)))
    assert since is not None
    assert since.members is not None
    # When one job changes and the pass's fields move on, and the state is saved
    state.jobs["job-4"].total_runs += 1
    state.passes += 1
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then only the slice holding that job is compressed again, and the document is the fresh one
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, since.members, strict=True)] == [True, False, True]
    assert gzip.decompress(again.body) == codec.encode(state, compress_above=float("inf"))
    assert codec.decode(again.body) == state


@pytest.mark.parametrize("jobs", [30, 300])
def test_saving_a_state_as_read_compresses_only_the_head_and_tail_whatever_the_number_of_jobs(
    jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored document of many jobs, read back
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(_stored(_state(jobs)))
    calls = _counting(monkeypatch)
    # When it is saved with no job changed (a pass that brought no runs)
    state.passes += 1
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then two members are compressed (head and tail), not one per slice of jobs
    assert len(calls) == 2
    assert codec.decode(again.body) == state


def test_a_document_written_in_other_slices_is_saved_afresh_and_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a document written three jobs to a member, read by a release that writes two to a member
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    stored = _stored(_state(9))
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 2)
    state, since = codec.decode_document(stored)
    # When it is saved
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then no member matches its new place, and the document is the fresh one
    assert since is not None
    assert since.members is not None
    assert again.members is not None
    assert not any(a is b for a in again.members for b in since.members)
    assert gzip.decompress(again.body) == codec.encode(state, compress_above=float("inf"))


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(codec.encode(_state(3)), id="plain JSON"),
        pytest.param(gzip.compress(codec.encode(_state(3))), id="one gzip member"),
        pytest.param(None, id="no document"),
    ],
)
def test_a_document_not_in_slices_of_jobs_reads_the_same_with_nothing_to_reuse(stored: bytes | None) -> None:
    # Given a document not written a slice of jobs per member; When it is read for a save
    state, since = codec.decode_document(stored)
    # Then it reads as `decode` reads it, and there is nothing to reuse
    assert state == codec.decode(stored)
    assert since is None


def test_a_truncated_document_is_corrupt_as_decode_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored document cut short in its last member
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    stored = _stored(_state(9))[:-5]
    with pytest.raises(StateCorrupt) as expected:
        codec.decode(stored)
    # When it is read for a save; Then it is refused with decode's message
    with pytest.raises(StateCorrupt) as got:
        codec.decode_document(stored)
    assert str(got.value) == str(expected.value)
