"""The state codec's job rows: as written, version 1 still read, and a lossless round trip."""

from __future__ import annotations

import gzip
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.core.model import (
    Alert,
    DeadLetter,
    Event,
    JobState,
    Mute,
    Notification,
    OutboxEntry,
    Run,
    State,
    Status,
)
from failstreak.state import codec
from tests.conftest import document_content

OPT = st.one_of(st.none(), st.text(max_size=5))
RUNS = st.builds(
    Run,
    run_id=st.text(min_size=1, max_size=5),
    status=st.sampled_from(list(Status)),
    finished_at=st.integers(0, 2**53),
    attempt=st.integers(0, 5),
    url=OPT,
    commit=OPT,
    reason=OPT,
    category=OPT,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(RUNS, max_size=12))
def test_runs_are_stored_as_rows_and_decode_back(runs: list[Run]) -> None:
    # Given a job with any runs; When it is encoded and decoded
    state = State(jobs={"j": JobState(name="j", runs=runs)})
    body = codec.encode(state)
    # Then each run is the row [finished_at, run_id, attempt, status, url, commit, reason, category] and nothing
    # is lost
    job = orjson.loads(body)["jobs"][0]
    assert job["name"] == "j"
    assert job.get("runs", []) == [
        [r.finished_at, r.run_id, r.attempt, r.status.value, r.url, r.commit, r.reason, r.category] for r in runs
    ]
    assert codec.decode(body).jobs["j"].runs == runs


def test_an_unknown_status_in_a_row_is_reported_as_malformed_with_its_place() -> None:
    doc = {"version": codec.VERSION, "jobs": [{"name": "j", "runs": [[1, "1", 0, "exploded"]]}]}
    with pytest.raises(codec.StateCorrupt, match=r"malformed .*exploded.*\$\.jobs\[0\]\.runs\[0\]\[3\]"):
        codec.decode(orjson.dumps(doc))


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ([{"name": "a"}, {"name": "a"}], "1 job\\(s\\) listed twice"),
        ([{"name": "a"}, {"runs": []}], "1 job\\(s\\) without a name"),
    ],
)
def test_a_document_with_duplicate_or_unnamed_jobs_is_malformed(jobs: list[dict[str, Any]], message: str) -> None:
    # Given a version 2 document whose job list names a job twice or not at all; Then it is refused, not merged
    with pytest.raises(codec.StateCorrupt, match=message):
        codec.decode(orjson.dumps({"version": 2, "jobs": jobs}))


def test_a_job_filed_under_another_name_is_not_written() -> None:
    # Given a state whose map and job disagree on the name; Then encoding refuses instead of renaming the job
    with pytest.raises(ValueError, match="'b' is filed under 'a'"):
        codec.encode(State(jobs={"a": JobState(name="b")}))


def _state(jobs: int, moved_mutes: list[Mute] | None = None) -> State:
    note = Notification("n1", "job-0", Event.TRIGGERED, ("consecutive",), 3, 3, 3, 3, 5, 10, 1)
    return State(
        jobs={
            f"job-{i}": JobState(
                name=f"job-{i}",
                runs=[
                    Run(10**12 + k, str(k), 0, Status.FAILED, f"u{k}", "c" if k else None, "oom" if k == 2 else None)
                    for k in range(3)
                ]
                + [Run(10**12 + 9, "9", 1, Status.SUCCESS)],
                total_runs=4,
                total_failures=3,
                last_failure=10**12 + 2,
                owner="team-a" if i % 3 else None,
                alert=Alert(1, ["consecutive"], 1, 0, 1, 3, first_commit="c", announced=False) if i % 2 else None,
                threads={"slack:#c": "1.2"} if i % 2 else {},
                mute_runs={"m": 2} if i % 4 else {},
            )
            for i in range(jobs)
        },
        outbox=[OutboxEntry("n1>console", "console", note)],
        dead_letters=[DeadLetter("x")],
        cursors={"gitlab": {"since": 3}},
        updated_at=7,
        passes=2,
        moved_mutes=moved_mutes or [],
    )


def _version_1_mute(m: Mute) -> dict[str, Any]:
    # A mute as versions 1 and 2 of the codec wrote it, by hand: fields at None or False left out.
    d: dict[str, Any] = {"id": m.id, "match": m.match, "created_at": m.created_at}
    for name in ("until", "runs", "reason"):
        value = getattr(m, name)
        if value is not None:
            d[name] = value
    if m.until_success:
        d["until_success"] = True
    return d


def _version_1_outbox_entry(e: OutboxEntry) -> dict[str, Any]:
    # An outbox entry as versions 1 and 2 wrote it, by hand; the notification with every field.
    d: dict[str, Any] = {"id": e.id, "destination": e.destination, "notification": msgspec.to_builtins(e.notification)}
    if e.attempts:
        d["attempts"] = e.attempts
    if e.last_error:
        d["last_error"] = e.last_error
    if e.lease_owner:
        d["lease_owner"] = e.lease_owner
        d["lease_until"] = e.lease_until
    return d


def _version_1(state: State) -> bytes:
    # The document exactly as version 1 of the codec wrote it (commit f0ef065): jobs as a map from name to an
    # object without the name, rows with trailing nulls dropped, fields at 0, null or empty omitted.
    def row(r: Run) -> list[Any]:
        out: list[Any] = [r.finished_at, r.run_id, r.attempt, r.status.value, r.url, r.commit, r.reason]
        while len(out) > 4 and out[-1] is None:
            out.pop()
        return out

    def job(j: JobState) -> dict[str, Any]:
        d: dict[str, Any] = {"runs": [row(r) for r in j.runs]}
        for name in ("older_streak", "forgotten", "total_runs", "total_failures", "first_seen", "last_seen"):
            if getattr(j, name):
                d[name] = getattr(j, name)
        for name in ("last_success", "last_failure", "owner", "source"):
            if getattr(j, name) is not None:
                d[name] = getattr(j, name)
        for name in ("consecutive_failures", "window_failures", "window_size"):
            if getattr(j, name):
                d[name] = getattr(j, name)
        if j.alert is not None:
            a = j.alert
            d["alert"] = {
                "triggered_at": a.triggered_at,
                "reasons": a.reasons,
                "since": a.since,
                "failures_base": a.failures_base,
                "last_notified_at": a.last_notified_at,
                "runs_at_last_notice": a.runs_at_last_notice,
                **({"first_commit": a.first_commit} if a.first_commit is not None else {}),
                **({"announced": False} if not a.announced else {}),
            }
        if j.threads:
            d["threads"] = j.threads
        if j.mute_runs:
            d["mute_runs"] = j.mute_runs
        return d

    return orjson.dumps(
        {
            "version": 1,
            "updated_at": state.updated_at,
            "passes": state.passes,
            "jobs": {name: job(j) for name, j in state.jobs.items()},
            "outbox": [_version_1_outbox_entry(e) for e in state.outbox],
            "mutes": [_version_1_mute(m) for m in state.moved_mutes],
            "dead_letters": [msgspec.to_builtins(d) for d in state.dead_letters],
            "cursors": state.cursors,
        }
    )


@pytest.mark.parametrize("jobs", [0, 1, 6])
def test_a_version_1_document_reads_as_the_same_state(jobs: int) -> None:
    # Given a state as the first release stored it, with a mute
    state = _state(jobs, moved_mutes=[Mute("m", "job-*", 1, until=5)])
    # When it is read; Then it is the same state (its mutes to be moved into the mutes document), and the next
    # save writes the current version, which holds no mutes
    assert codec.decode(_version_1(state)) == state
    assert codec.decode(gzip.compress(_version_1(state))) == state
    rewritten = orjson.loads(codec.encode(codec.decode(_version_1(state))))
    assert rewritten["version"] == codec.VERSION
    assert "mutes" not in rewritten


def test_fields_at_their_default_are_not_stored() -> None:
    # Given a job with nothing but a name; Then its stored object is just the name
    body = codec.encode(State(jobs={"quiet": JobState(name="quiet")}))
    assert orjson.loads(body)["jobs"] == [{"name": "quiet"}]


def test_large_documents_are_gzipped_and_read_back() -> None:
    # Given a state whose JSON is larger than the threshold
    state = _state(40)
    plain = codec.encode(state, compress_above=float("inf"))
    packed = codec.encode(state, compress_above=100)
    # Then it is written as gzip of the same JSON, and decodes to the same state
    assert packed[:2] == b"\x1f\x8b"
    assert document_content(packed) == document_content(plain)
    assert codec.decode(packed) == codec.decode(plain) == state


def test_small_documents_stay_plain_json() -> None:
    body = codec.encode(_state(2))
    assert body[:1] == b"{"
    assert len(body) < codec.COMPRESS_ABOVE


@pytest.mark.parametrize("jobs", [0, 1, 7, 9])
def test_a_large_document_is_gzip_members_that_read_as_one_document(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given jobs encoded three at a time, and a threshold every document crosses
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state = _state(jobs)
    encoded = codec.encode_document(state, compress_above=10)
    # Then the body is the gzip of the plain document with its index, one member per slice of jobs plus head and tail
    assert document_content(encoded.body) == document_content(codec.encode(state, compress_above=float("inf")))
    assert encoded.members is not None
    assert len(encoded.members) == -(-jobs // 3)
    assert codec.decode(encoded.body) == state


def test_writing_again_reuses_unchanged_jobs_and_gives_the_bytes_of_a_fresh_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a state saved once, jobs encoded three at a time
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state = _state(9)
    first = codec.encode_document(state, compress_above=10)
    assert first.members is not None
    # When one job gets a thread reference and the outbox and dead letters change, as delivery results do
    state.jobs["job-4"].threads["slack:#new"] = "9.9"
    state.outbox.clear()
    state.dead_letters.append(DeadLetter("y"))
    again = codec.encode_document(state, compress_above=10, since=first, changed={"job-4"})
    # Then only the slice holding that job is encoded again, and the document is the fresh one
    assert again.members is not None
    assert [a is b for a, b in zip(again.members, first.members, strict=True)] == [True, False, True]
    assert document_content(again.body) == document_content(codec.encode(state, compress_above=float("inf")))
    assert codec.decode(again.body) == state


def test_a_different_set_of_jobs_is_encoded_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a state saved once; When a job is added (the previous encoding no longer lines up)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", 3)
    state = _state(6)
    first = codec.encode_document(state, compress_above=10)
    state.jobs["job-new"] = JobState(name="job-new")
    again = codec.encode_document(state, compress_above=10, since=first, changed=())
    # Then nothing is reused and the new job is written
    assert first.members is not None
    assert again.members is not None
    assert not any(a is b for a, b in zip(again.members, first.members, strict=False))
    assert "job-new" in codec.decode(again.body).jobs
