"""Reading a large state decodes only the jobs read; saving it reuses the gzip members of the others as stored
(docs/state.md, "The index"): counted, not timed."""

from __future__ import annotations

import gzip

import msgspec
import pytest

from failstreak.core.jobindex import Brief, brief, briefs, count_alerting
from failstreak.core.model import Alert, JobState, Run, State, Status
from failstreak.errors import StateCorrupt
from failstreak.state import codec
from failstreak.state import lazy as lazy_module
from failstreak.state.lazy import LazyJobs
from tests.conftest import calls_of, document_content


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


def test_a_document_as_read_saves_again_reusing_the_members_of_jobs_that_were_not_changed(
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
    assert document_content(again.body) == document_content(codec.encode(state, compress_above=float("inf")))
    assert codec.decode(again.body) == state


@pytest.mark.parametrize("jobs", [30, 300])
def test_saving_a_state_as_read_compresses_only_the_head_and_decodes_no_job_whatever_the_number_of_jobs(
    jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored document of many jobs, read back
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(_stored(_state(jobs)))
    calls = calls_of(monkeypatch, codec, "compress")
    heads = calls_of(monkeypatch, codec, "_head_start")
    # When it is saved with no job read (a pass that brought no runs)
    state.passes += 1
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then one member is compressed (the head, with the index), not one per slice of jobs, and no job was decoded
    assert (len(heads), len(calls)) == (1, 0)
    assert isinstance(state.jobs, LazyJobs)
    assert state.jobs.decoded == 0
    assert codec.decode(again.body) == state


def test_a_large_state_of_new_jobs_is_written_compressed_without_a_whole_plain_encoding_or_the_jobs_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a state of many jobs none of which was ever stored (a first pass, or a pass creating many jobs)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state = _state(300)
    written = codec._written
    frames: list[list[JobState]] = []

    def spy(state: State, index: object, jobs: list[JobState]) -> object:
        frames.append(jobs)
        return written(state, index, jobs)  # type: ignore[arg-type]

    monkeypatch.setattr(codec, "_written", spy)
    # When it is saved
    encoded = codec.encode_document(state, compress_above=10)
    # Then it was not first written whole as plain JSON (only the frame around the jobs: its jobs list empty),
    # and the members written for its new jobs keep no split texts beside the jobs
    assert [len(jobs) for jobs in frames] == [0]
    assert encoded.jobs is not None
    assert all(m.texts is None for m in encoded.jobs._members)
    # And the document is the state; a job's stored text is still at hand (the page digests it), and a save
    # after one job changed writes that job's member again alone
    assert codec.decode(encoded.body) == state
    assert encoded.jobs.text_of("job-4") == msgspec.json.encode(state.jobs["job-4"])
    calls = calls_of(monkeypatch, codec, "compress")
    state.jobs["job-4"].total_runs += 1
    again = codec.encode_document(state, compress_above=10, since=encoded, changed={"job-4"})
    assert len(calls) == 1
    assert codec.decode(again.body) == state


def test_a_small_state_is_still_written_as_plain_json() -> None:
    # Given a state whose document fits under the bound
    state = _state(2)
    # When it is saved
    body = codec.encode_document(state).body
    # Then it is plain JSON, as a person can read it
    assert body[:1] == b"{"
    assert codec.decode(body) == state


def test_a_second_save_that_changes_no_row_of_the_index_compresses_only_what_follows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a large state read back and saved once (a pass's first save), with a job read and changed
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, stored = codec.decode_document(_stored(_state(30)))
    state.jobs["job-4"].total_runs += 1
    first = codec.encode_document(state, compress_above=10, since=stored)
    heads = calls_of(monkeypatch, codec, "_head_start")
    # When it is saved again after a change outside the jobs (a delivery recorded: the outbox, the cursors)
    state.cursors["gitlab"]["since"] = 4
    second = codec.encode_document(state, compress_above=10, since=first, changed=set())
    # Then the head's start through the index is the first save's, and the document is byte for byte what
    # encoding the same state afresh gives
    assert heads == []
    assert second.head is first.head
    assert codec.decode(second.body) == state
    assert second.body == codec.encode_document(codec.decode(second.body), compress_above=10).body
    # And when a job changes its row (here its streak), the next save indexes the jobs afresh
    heads.clear()
    state.jobs["job-7"].consecutive_failures = 9
    third = codec.encode_document(state, compress_above=10, since=second, changed={"job-7"})
    assert len(heads) == 1
    assert third.head is not second.head
    read, _ = codec.decode_document(third.body)
    assert isinstance(read.jobs, LazyJobs)
    assert {b.name: b.streak for b in read.jobs.briefs()}["job-7"] == 9
    assert codec.decode(third.body) == state


def test_a_job_read_decodes_its_member_alone_and_the_save_compresses_it_again_only_if_it_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stored document of 300 jobs, three to a member, read back
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(_stored(_state(300)))
    assert isinstance(state.jobs, LazyJobs)
    calls = calls_of(monkeypatch, codec, "compress")
    heads = calls_of(monkeypatch, codec, "_head_start")
    # When two jobs of one member and one of another are read, and only one of them is changed
    state.jobs["job-6"].total_runs += 1
    assert state.jobs["job-7"].total_runs == 3
    assert state.jobs.get("job-150") is not None
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then two members were decoded, and the head and the changed one compressed
    assert state.jobs.decoded == 2
    assert (len(heads), len(calls)) == (1, 1)
    assert codec.decode(again.body).jobs["job-6"].total_runs == 4


def test_jobs_added_and_retired_after_a_read_are_saved_in_the_order_a_dict_keeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stored document of 9 jobs, three to a member, read back
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, _ = codec.decode_document(_stored(_state(9)))
    expected = _state(9)
    # When a job is retired, one added, and one retired and added again, in the read state and in a plain one
    for jobs in (state.jobs, expected.jobs):
        del jobs["job-1"]
        jobs["new"] = JobState(name="new")
        job = jobs.pop("job-5")
        jobs["job-5"] = job
    again = codec.encode_document(state, compress_above=10)
    # Then the saved document lists the jobs as the plain state does, and reads back as it
    assert list(state.jobs) == list(expected.jobs)
    assert document_content(again.body) == document_content(codec.encode(expected, compress_above=float("inf")))
    assert codec.decode(again.body) == expected
    # And read again, it is the same state
    assert codec.decode_document(again.body)[0] == expected


def test_a_document_written_in_other_slices_is_read_and_saved_in_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a document written three jobs to a member, read by a release that writes two to a member
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    stored = _stored(_state(9))
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 2)
    state, since = codec.decode_document(stored)
    # When it is saved
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then its index describes its members: every one is reused, and the document is the fresh one
    assert since is not None
    assert since.members is not None
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, since.members, strict=True)] == [True, True, True]
    assert document_content(again.body) == document_content(codec.encode(state, compress_above=float("inf")))


def test_a_damaged_member_is_refused_when_its_job_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored document whose second member of jobs has a damaged byte
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    good = codec.encode_document(_state(9), compress_above=10)
    assert good.members is not None
    at = good.body.index(good.members[1]) + len(good.members[1]) // 2
    damaged = good.body[:at] + bytes([good.body[at] ^ 0xFF]) + good.body[at + 1 :]
    state, _ = codec.decode_document(damaged)
    # When a job of another member is read, then one of that member
    assert state.jobs["job-1"].total_runs == 3
    # Then the document is refused, naming the member
    with pytest.raises(StateCorrupt, match="member 2 of jobs"):
        state.jobs["job-4"]


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


def test_a_job_read_before_a_save_and_changed_after_it_is_written_again_when_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stored document read back, one job read, and the state saved (the pass's first save)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(_stored(_state(9)))
    job = state.jobs["job-4"]
    first = codec.encode_document(state, compress_above=10, since=since)
    # When the job gets a thread reference after the save, as a delivery result does, and the state is saved
    # again naming it
    job.threads["slack:#ci"] = "1.2"
    again = codec.encode_document(state, compress_above=10, since=first, changed={"job-4"})
    # Then the second save holds the reference, and compressed again only the job's slice
    assert codec.decode(again.body).jobs["job-4"].threads == {"slack:#ci": "1.2"}
    assert first.members is not None
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, first.members, strict=True)] == [True, False, True]


def test_many_jobs_read_together_decode_each_of_their_slices_once_and_are_the_jobs_read_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stored document of 30 jobs, three to a member, read back, one job already read alone
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, _ = codec.decode_document(_stored(_state(30)))
    assert isinstance(state.jobs, LazyJobs)
    alone = state.jobs["job-4"]
    # When seven jobs of four members are read together, in an order of their own
    names = ["job-29", "job-3", "job-4", "job-5", "job-12", "job-13", "job-0"]
    got = state.jobs.many(names)
    # Then they are the jobs asked for, in that order, the one read before the same object; the members holding
    # them were decoded once each (the one already split not again): the three others whole, in one call each,
    # and of the split one the two jobs asked for
    assert [j.name for j in got] == names
    assert got[2] is alone
    assert got == [_state(30).jobs[n] for n in names]
    assert state.jobs.decoded == 4
    assert state.jobs.jobs_decoded == 1 + 3 * 3 + 2


def test_a_save_after_many_jobs_were_read_together_reuses_the_unchanged_slices_and_writes_the_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stored document of 9 jobs, three to a member, read back, and every job read together
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state, since = codec.decode_document(_stored(_state(9)))
    assert since is not None
    assert since.members is not None
    assert isinstance(state.jobs, LazyJobs)
    jobs = state.jobs.many(list(state.jobs))
    # When one job changes, one is retired, and the state is saved
    jobs[4].total_runs += 1
    del state.jobs["job-8"]
    again = codec.encode_document(state, compress_above=10, since=since)
    # Then the first slice is reused as stored, the other two written again, and the document is the fresh one
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, since.members, strict=True)] == [True, False, False]
    assert document_content(again.body) == document_content(codec.encode(state, compress_above=float("inf")))
    assert codec.decode(again.body).jobs["job-4"].total_runs == 4


def test_a_damaged_member_is_refused_when_its_jobs_are_read_together(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored document whose second member of jobs has a damaged byte
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    good = codec.encode_document(_state(9), compress_above=10)
    assert good.members is not None
    at = good.body.index(good.members[1]) + len(good.members[1]) // 2
    damaged = good.body[:at] + bytes([good.body[at] ^ 0xFF]) + good.body[at + 1 :]
    state, _ = codec.decode_document(damaged)
    assert isinstance(state.jobs, LazyJobs)
    # When every job is read together; Then the document is refused, naming the member
    with pytest.raises(StateCorrupt, match="member 2 of jobs"):
        state.jobs.many(list(state.jobs))


@pytest.mark.parametrize("read", ["none", "some", "many"])
def test_the_index_rows_left_out_and_the_alerting_count_agree_with_the_jobs_themselves(
    read: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a large stored state read lazily, and beside it the same jobs decoded whole; in both, some jobs read
    # and changed (one now alerting, one seen later, one retired), one added
    stored = _stored(_state(300))
    lazy, _ = codec.decode_document(stored)
    plain = codec.decode(stored)
    assert isinstance(lazy.jobs, LazyJobs)
    if read == "many":
        lazy.jobs.many(list(lazy.jobs)[::2])
    for state in (lazy, plain):
        if read != "none":
            state.jobs["job-7"].alert = Alert(10**12, ["consecutive"], 10**12, 0, 10**12, 3)
            state.jobs["job-150"].last_seen = 99
            del state.jobs["job-200"]
        state.jobs["job-new"] = JobState(name="job-new", last_seen=5)
    skip = {"job-3", "job-150", "job-new", "not-a-job"}
    built: list[str] = []

    def counted(job: JobState) -> Brief:
        built.append(job.name)
        return brief(job)

    monkeypatch.setattr(lazy_module, "brief", counted)
    # When their rows are listed leaving some out, and their alerting jobs counted
    rows = list(briefs(lazy.jobs, skip=skip))
    # Then the lazy state says what the jobs themselves say, and no row left out was built
    assert rows == [brief(j) for n, j in plain.jobs.items() if n not in skip]
    assert not skip & set(built)
    assert list(briefs(lazy.jobs)) == [brief(j) for j in plain.jobs.values()]
    assert count_alerting(lazy.jobs) == count_alerting(plain.jobs) == (1 if read != "none" else 0)
