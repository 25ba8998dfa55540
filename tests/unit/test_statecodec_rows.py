"""The state codec's run rows: same bytes as before the performance work, and a lossless round trip."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak import statecodec
from failstreak.model import Execution, JobState, State, Status

OPT = st.one_of(st.none(), st.text(max_size=5))
RUNS = st.builds(
    Execution,
    job=st.just("j"),
    run_id=st.text(min_size=1, max_size=5),
    status=st.sampled_from(list(Status)),
    finished_at=st.integers(0, 2**53),
    attempt=st.integers(0, 5),
    url=OPT,
    commit=OPT,
    reason=OPT,
)


def _reference_row(r: Execution) -> list[Any]:
    # The row as the codec wrote it before (commit 9425366).
    row: list[Any] = [r.finished_at, r.run_id, r.attempt, r.status.value, r.url, r.commit, r.reason]
    while len(row) > 4 and row[-1] is None:
        row.pop()
    return row


@settings(max_examples=300, deadline=None)
@given(st.lists(RUNS, max_size=12))
def test_runs_encode_to_the_same_rows_and_decode_back(runs: list[Execution]) -> None:
    # Given a job with any runs; When it is encoded and decoded
    state = State(jobs={"j": JobState(name="j", runs=runs)})
    body = statecodec.encode(state)
    # Then the rows are those of the reference encoder and nothing is lost
    assert orjson.loads(body)["jobs"]["j"]["runs"] == [_reference_row(r) for r in runs]
    assert statecodec.decode(body).jobs["j"].runs == runs


def test_an_unknown_status_in_a_row_is_reported_as_malformed() -> None:
    doc = {"version": statecodec.VERSION, "jobs": {"j": {"runs": [[1, "1", 0, "exploded"]]}}}
    with pytest.raises(statecodec.StateCorrupt, match="malformed"):
        statecodec.decode(orjson.dumps(doc))


def _state(jobs: int) -> State:
    from failstreak.model import Alert, Event, Mute, Notification, OutboxEntry

    note = Notification("n1", "job-0", Event.TRIGGERED, ("consecutive",), 3, 3, 3, 3, 5, 10, 1)
    return State(
        jobs={
            f"job-{i}": JobState(
                name=f"job-{i}",
                runs=[Execution(f"job-{i}", str(k), Status.FAILED, 10**12 + k, url=f"u{k}") for k in range(3)],
                total_runs=3,
                alert=Alert(1, ["consecutive"], 1, 0, 1, 3) if i % 2 else None,
            )
            for i in range(jobs)
        },
        outbox=[OutboxEntry("n1>console", "console", note)],
        mutes=[Mute("m", "job-*", 1, until=5)],
        dead_letters=[{"id": "x"}],
        cursors={"gitlab": {"since": 3}},
        updated_at=7,
        passes=2,
    )


def _reference_encode(state: State) -> bytes:
    # The document as the codec wrote it before (commit 9425366): one orjson.dumps of the whole dict.
    return orjson.dumps(
        {
            "version": statecodec.VERSION,
            "updated_at": state.updated_at,
            "passes": state.passes,
            "jobs": {name: statecodec.job_to_dict(j) for name, j in state.jobs.items()},
            "outbox": [statecodec._outbox_to_dict(e) for e in state.outbox],
            "mutes": [statecodec._mute_to_dict(m) for m in state.mutes],
            "dead_letters": state.dead_letters,
            "cursors": state.cursors,
        }
    )


@pytest.mark.parametrize("jobs", [0, 1, 5, 6, 13])
def test_chunked_encoding_gives_the_bytes_of_one_dump(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given states with no job, one, and several chunks' worth (chunks of 3 here)
    monkeypatch.setattr(statecodec, "_JOBS_PER_CHUNK", 3)
    state = _state(jobs)
    # When encoded below the compression threshold; Then the bytes are those of one dump of the document
    assert statecodec.encode(state, compress_above=float("inf")) == _reference_encode(state)


def test_large_documents_are_gzipped_and_read_back() -> None:
    # Given a state whose JSON is larger than the threshold
    state = _state(40)
    plain = statecodec.encode(state, compress_above=float("inf"))
    packed = statecodec.encode(state, compress_above=100)
    # Then it is written as gzip of the same JSON, and decodes to the same state
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == plain
    assert statecodec.decode(packed) == statecodec.decode(plain) == state


def test_small_documents_stay_plain_json() -> None:
    body = statecodec.encode(_state(2))
    assert body[:1] == b"{"
    assert len(body) < statecodec.COMPRESS_ABOVE
