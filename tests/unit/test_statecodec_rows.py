"""The state codec's run rows: same bytes as before the performance work, and a lossless round trip."""

from __future__ import annotations

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
