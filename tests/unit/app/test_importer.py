"""Migrating the reference script's statistics."""

from __future__ import annotations

import json

import pytest

from failstreak.app.importer import import_reference
from failstreak.core.model import State
from failstreak.errors import ConfigError
from tests.conftest import T0, config

V2 = {
    "pipeline_id": 123,
    "jobs": {
        "broken": {
            "consecutive_failures": 14,
            "jobs_info": [{"id": 300 + i, "failing": True, "commit": f"c{i}"} for i in range(10)],
        },
        "flaky": {
            "consecutive_failures": 1,
            "jobs_info": [{"id": None if i % 2 else 400 + i, "failing": i % 2 == 0, "commit": "x"} for i in range(9)],
        },
        "fine": {"consecutive_failures": 0, "cumulative_failures": [{"id": None, "failing": False, "commit": "y"}]},
    },
}


def test_v2_jobs_past_a_threshold_are_imported_alerting_with_their_full_streak() -> None:
    # Given the reference's v2 document
    state = State()
    # When it is imported
    result = import_reference(state, json.dumps(V2), "job_executions.v2.json", config(), T0)
    # Then every job is there, with the streak beyond the 10 kept executions, and the broken ones alerting
    assert (result.jobs, result.alerting) == (3, 2)
    broken = state.jobs["broken"]
    assert (broken.consecutive_failures, broken.window_failures, broken.window_size) == (14, 10, 10)
    assert broken.alert is not None
    assert broken.alert.announced
    assert broken.alert.first_commit == "c0"
    flaky = state.jobs["flaky"]
    assert (flaky.consecutive_failures, flaky.window_failures) == (1, 5)
    assert flaky.alert is not None
    assert flaky.alert.reasons == ["cumulative"]
    assert state.jobs["fine"].alert is None


def test_v1_lists_of_ones_and_zeros_are_read() -> None:
    doc = {"job-a": {"consecutive_failures": 3, "cumulative_failures": [0, 0, 1, 1, 1]}}
    state = State()
    import_reference(state, json.dumps(doc), "job_executions.json", config(), T0)
    assert state.jobs["job-a"].consecutive_failures == 3
    assert state.jobs["job-a"].total_runs == 5


def test_jobs_already_known_are_kept_and_reported_skipped() -> None:
    state = State()
    import_reference(state, json.dumps(V2), "f", config(), T0)
    again = import_reference(state, json.dumps(V2), "f", config(), T0 + 1)
    assert again.jobs == 0
    assert sorted(again.skipped) == ["broken", "fine", "flaky"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[", "not valid JSON"),
        ('{"j": {"jobs_info": []}}', "consecutive_failures"),
        ('{"j": {"consecutive_failures": 0, "jobs_info": ["x"]}}', "execution 1"),
    ],
)
def test_a_malformed_reference_document_is_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        import_reference(State(), text, "ref.json", config(), T0)
