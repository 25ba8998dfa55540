"""`status --json` (docs/cli.md) is written a few thousand jobs at a time by msgspec, from structs, with the runs'
times rendered together (app/status.py). These tests hold it to the bytes the formulation it replaced wrote: a
dict per job and per run with `iso` times, the whole document given once to `orjson.dumps` and printed. That
formulation is kept below, as it was, as the reference."""

from __future__ import annotations

import io
import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failstreak.app import status as status_module
from failstreak.app.status import Selection, Status, stamps, write_json
from failstreak.core.incidents import Incident
from failstreak.core.model import (
    Ack,
    Alert,
    DeadLetter,
    JobState,
    Mute,
    MuteBook,
    Run,
    State,
    iso,
)
from failstreak.core.model import (
    Status as RunStatus,
)
from failstreak.core.silence import Learned
from failstreak.state import codec
from failstreak.views.jobs import describe_mute
from tests.conftest import HOUR, T0, config

NOW = T0 + 30 * HOUR
CONFIG = """
state: state.json
inbox: inbox/
thresholds: {consecutive: 3, cumulative: 5, window: 6}
overrides:
  - match: "ci/*"
    window: 4
    expect_every: 1h
  - match: "etl/*"
    consecutive: 0
flaky: {min_flips: 2}
silence: {learn: true}
categories: {count: [code, data]}
mutes:
  - {match: "ci/*", runs: 3, reason: "flaky <infra> & \\"more\\""}
  - {match: "etl/?", until_success: true}
"""
BOOK = MuteBook(
    mutes=[Mute.new("deploy/*", T0, until=NOW + HOUR, reason="maintenance ✈"), Mute.new("gone/*", T0, until=T0)],
    acks=[Ack("ci/a", "ana@example.com", T0 + HOUR, NOW + 2 * HOUR), Ack("etl/b", "bo", T0, T0 + 1)],
)
NAMES = st.one_of(
    st.sampled_from(["ci/a", "ci/b", "etl/b", "etl/long", "deploy/x", "gone/y", "plain", "ünïcode/ジョブ"]),
    st.text(min_size=1, max_size=8),
)
# Any time a state holds: before the epoch, past what a calendar shows, at both ends of the four-digit years.
TIMES = st.one_of(
    st.integers(T0 - 10**10, NOW),
    st.sampled_from([0, -1, 253_402_300_799_999, 253_402_300_800_000, -62_135_596_800_001, 2**53]),
)
TEXT = st.one_of(st.none(), st.text(max_size=6))
RUNS = st.builds(
    Run,
    finished_at=st.integers(T0 - 10**10, NOW),
    run_id=st.text(min_size=1, max_size=5),
    attempt=st.integers(0, 3),
    status=st.sampled_from(list(RunStatus)),
    url=TEXT,
    commit=TEXT,
    reason=TEXT,
    category=st.sampled_from([None, "infra", "data"]),
)
ALERTS = st.builds(
    Alert,
    triggered_at=TIMES,
    reasons=st.lists(st.sampled_from(["consecutive", "cumulative", "silent"]), max_size=2),
    since=st.one_of(st.none(), TIMES),
    failures_base=st.integers(0, 3),
    last_notified_at=TIMES,
    runs_at_last_notice=st.integers(0, 3),
    first_commit=TEXT,
    announced=st.booleans(),
    suppressed=st.integers(0, 4),
)
INCIDENTS = st.builds(
    Incident,
    triggered_at=TIMES,
    resolved_at=TIMES,
    reasons=st.lists(st.sampled_from(["consecutive", "cumulative"]), max_size=2),
    since=st.one_of(st.none(), TIMES),
    failed_runs=st.integers(0, 9),
    first_commit=TEXT,
    last_reason=TEXT,
    suppressed=st.integers(0, 3),
)


@st.composite
def jobs(draw: st.DrawFn) -> JobState:
    runs = sorted(draw(st.lists(RUNS, max_size=9)), key=lambda r: r.finished_at)
    if draw(st.booleans()) and runs:  # a time past what a calendar shows, as a hand-edited state may hold
        runs[-1].finished_at = draw(TIMES)
    return JobState(
        name=draw(NAMES),
        runs=runs,
        total_runs=draw(st.integers(0, 50)),
        total_failures=draw(st.integers(0, 50)),
        first_seen=draw(TIMES),
        last_seen=draw(TIMES),
        last_success=draw(st.one_of(st.none(), TIMES)),
        last_failure=draw(st.one_of(st.none(), TIMES)),
        owner=draw(st.sampled_from([None, "@team-a", "@team-a, ops@example.com", "@team-b/sub"])),
        consecutive_failures=draw(st.integers(0, 6)),
        window_failures=draw(st.integers(0, 6)),
        window_size=draw(st.integers(0, 6)),
        alert=draw(st.one_of(st.none(), ALERTS)),
        mute_runs=draw(st.sampled_from([{}, {"x": 1}])),
        learned=draw(st.sampled_from([None, Learned("ff", "ff" * 21, T0)])),
        incidents=draw(st.lists(INCIDENTS, max_size=3)),
    )


def _state(listed: list[JobState]) -> State:
    return State(
        jobs={j.name: j for j in listed},
        dead_letters=[DeadLetter("n1", "ci/a", "triggered", "slack:#ci", "no such channel", 3, T0)],
        updated_at=NOW - HOUR,
    )


# The formulation replaced, as it was: one dict per job and per run, times by `iso`, one `orjson.dumps`.


def _reference_incident(job: JobState) -> dict[str, Any] | None:
    alert = job.alert
    if alert is None:
        return None
    return {
        "triggered_at": iso(alert.triggered_at),
        "reasons": list(alert.reasons),
        "failing_since": iso(alert.since),
        "first_commit": alert.first_commit,
        "last_notified_at": iso(alert.last_notified_at),
        "suppressed": alert.suppressed,
    }


def _reference_row(view: Status, job: JobState) -> dict[str, Any]:
    mute = view.mute(job)
    judged, by_category = view.triage(job)
    return {
        "health": judged.health.value,
        "health_detail": judged.describe(),
        "category_failures": by_category,
        "consecutive_failures": job.consecutive_failures,
        "window_failures": job.window_failures,
        "window_size": job.window_size,
        "window": view.policy_for(job.name).window,
        "total_runs": job.total_runs,
        "total_failures": job.total_failures,
        "alerting": job.alert is not None,
        "alerting_since": iso(job.alert.triggered_at) if job.alert else None,
        "reasons": list(job.alert.reasons) if job.alert else [],
        "first_seen": iso(job.first_seen),
        "last_seen": iso(job.last_seen),
        "last_success": iso(job.last_success),
        "last_failure": iso(job.last_failure),
        "owner": job.owner,
        "teams": view.teams(job),
        "muted": describe_mute(mute, job) if mute is not None else None,
        "acked": {"by": ack.by, "at": iso(ack.at), "until": iso(ack.until)} if (ack := view.ack(job)) else None,
        "incident": _reference_incident(job),
        "incidents": [
            {
                "triggered_at": iso(i.triggered_at),
                "resolved_at": iso(i.resolved_at),
                "reasons": list(i.reasons),
                "failing_since": iso(i.since),
                "failed_runs": i.failed_runs,
                "first_commit": i.first_commit,
                "last_reason": i.last_reason,
                "suppressed": i.suppressed,
            }
            for i in reversed(job.incidents)
        ],
        "runs": [
            {
                "run_id": r.run_id,
                "status": r.status,
                "finished_at": iso(r.finished_at),
                "attempt": r.attempt,
                "url": r.url,
                "commit": r.commit,
                "reason": r.reason,
            }
            for r in job.runs
        ],
    }


def _reference_document(view: Status, state: State, location: str, selection: Selection) -> bytes:
    doc = {
        "state": location,
        "jobs": {j.name: _reference_row(view, j) for j in sorted(view.select(selection), key=lambda j: j.name)},
        "pending_notifications": len(state.outbox),
        "pending": [],
        "dead_letters": [{"job": d.job, "at": iso(d.at)} for d in state.dead_letters],
        "updated_at": iso(state.updated_at),
    }
    return orjson.dumps(doc) + b"\n"  # `print` of the decoded text


def _written(view: Status, state: State, location: str, selection: Selection) -> bytes:
    out = io.BytesIO()
    tail = {
        "pending_notifications": len(state.outbox),
        "pending": [],
        "dead_letters": [{"job": d.job, "at": iso(d.at)} for d in state.dead_letters],
        "updated_at": iso(state.updated_at),
    }
    write_json(view, sorted(view.matching(selection), key=lambda j: j.name), {"state": location}, tail, out.write)
    return out.getvalue()


SELECTIONS = [
    Selection(),
    Selection(alerting=True),
    Selection(pattern="ci/*"),
    Selection(teams=("team-a",)),
    Selection(health=("flaky", "silent")),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(jobs(), max_size=12), st.sampled_from(SELECTIONS), st.sampled_from([1, 2, 2048]))
def test_the_json_of_any_estate_is_the_bytes_the_dict_per_run_formulation_wrote(
    listed: list[JobState], selection: Selection, chunk: int
) -> None:
    # Given any estate (alerts, incidents, mutes, acknowledgements, silences, any names and texts, times past what
    # a calendar shows), any selection, written any number of jobs at a time
    state = _state(listed)
    view = Status(config(CONFIG), state, NOW, book=BOOK)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(status_module, "CHUNK", chunk)
        # When its JSON is written
        got = _written(view, state, "s3://bucket/state.json", selection)
    # Then it is byte for byte what the formulation it replaced wrote, and one JSON document
    assert got == _reference_document(view, state, "s3://bucket/state.json", selection)
    assert set(json.loads(got)["jobs"]) <= set(state.jobs)


@settings(max_examples=100, deadline=None)
@given(jobs())
def test_one_jobs_row_is_the_dict_the_formulation_replaced_built(job: JobState) -> None:
    # Given any job; When its row is asked for (`status JOB --json`, Slack's `status`)
    view = Status(config(CONFIG), _state([job]), NOW, book=BOOK)
    row = view.row(job)
    # Then it is the same dict, and dumps to the same text
    assert row == _reference_row(view, job)
    assert json.dumps(row) == json.dumps(_reference_row(view, job))


def test_a_large_states_json_read_slice_by_slice_is_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a state stored compressed, in slices of jobs, of 500 varied jobs, read back lazily
    listed = [
        JobState(
            name=f"{('ci', 'etl', 'deploy')[i % 3]}/{i:04d}",
            runs=[
                Run(T0 + k * HOUR + i, str(k), k % 2, (RunStatus.FAILED, RunStatus.SUCCESS, RunStatus.SKIPPED)[k % 3])
                for k in range(i % 13)
            ],
            first_seen=T0,
            last_seen=T0 + 12 * HOUR,
            last_success=None if i % 4 else T0,
            consecutive_failures=i % 5,
            alert=Alert(T0, ["consecutive"], T0, 0, T0, 0, "c0ffee") if i % 7 == 0 else None,
            incidents=[Incident(T0, T0 + HOUR, ["cumulative"], T0, 3)] if i % 5 == 0 else [],
        )
        for i in range(500)
    ]
    stored = codec.encode_document(_state(listed), compress_above=10).body
    lazy, _ = codec.decode_document(stored)
    monkeypatch.setattr(status_module, "CHUNK", 100)
    # When its JSON is written, every job and the alerting ones
    for selection in (Selection(), Selection(alerting=True)):
        view = Status(config(CONFIG), lazy, NOW, book=BOOK)
        got = _written(view, lazy, "state.json", selection)
        # Then it is the bytes the dict per run formulation writes for the same state held whole
        whole = _state(listed)
        assert got == _reference_document(Status(config(CONFIG), whole, NOW, book=BOOK), whole, "state.json", selection)


@given(st.lists(st.one_of(st.none(), st.integers(-62_135_596_800_000, 253_402_300_799_999)), max_size=20))
def test_times_rendered_together_are_written_as_iso_writes_each(times: list[int | None]) -> None:
    # Given any times a calendar shows, and none; When they are rendered together and written
    # Then each is written as `iso` writes it
    assert orjson.loads(status_module.msgspec.json.encode(stamps(times))) == [iso(t) for t in times]


def test_a_time_past_what_a_calendar_shows_is_named_among_the_others() -> None:
    # Given times one of which no calendar shows; When they are rendered together
    got = stamps([T0, 10**20, None])
    # Then each is `iso`'s text, the impossible one named
    assert got == [iso(T0), "epoch-ms:100000000000000000000", None]
