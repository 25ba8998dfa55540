"""Databricks Jobs adapter against a local runs/list server in the documented shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from failstreak.core import counting
from failstreak.core.model import State, Status, now_ms
from failstreak.errors import SourceError
from failstreak.sources.common import HttpSource
from tests.conftest import config
from tests.integration.platform_servers import Answer, FakeDatabricks, Seen, build_source, databricks_run, serve

pytestmark = pytest.mark.integration

TOKEN = "dapi-0123456789-secret"
NOW = now_ms()
MIN = 60_000


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDatabricks]:
    monkeypatch.setenv("DBX_TOKEN", TOKEN)
    with serve(FakeDatabricks(TOKEN)) as fake:
        yield fake


def source(api: FakeDatabricks, **extra: object) -> HttpSource:
    src = build_source({"type": "databricks", "url": api.base_url, "token": {"env": "DBX_TOKEN"}, **extra})
    assert isinstance(src, HttpSource)
    return src


def completed(api: FakeDatabricks) -> list[Seen]:
    return [r for r in api.requests if r.query.get("completed_only") == "true"]


def test_every_result_state_of_spec_3_maps_to_its_canonical_status(api: FakeDatabricks) -> None:
    # Given one finished run per Databricks result_state in docs/records.md, and one still running
    table = {
        "SUCCESS": Status.SUCCESS,
        "SUCCESS_WITH_FAILURES": Status.SUCCEEDED_WITH_FAILURES,
        "FAILED": Status.FAILED,
        "TIMEDOUT": Status.TIMED_OUT,
        "UPSTREAM_FAILED": Status.UPSTREAM_FAILED,
        "UPSTREAM_CANCELED": Status.UPSTREAM_FAILED,
        "CANCELED": Status.CANCELED,
        "SKIPPED": Status.SKIPPED,
        "EXCLUDED": Status.SKIPPED,
        "MAXIMUM_CONCURRENT_RUNS_REACHED": Status.SKIPPED,
    }
    for i, state in enumerate(table, start=1):
        api.runs.append(databricks_run(i, f"job-{state}", state, start=NOW - 30 * MIN, end=NOW - 20 * MIN))
    api.runs.append(databricks_run(99, "job-running", None, start=NOW - 5 * MIN, end=None))

    # When the source pulls
    pulled = source(api).pull({}, NOW)

    # Then each finished run has the status of the table and the running one is not emitted
    got = {ex.job: ex.status for ex in pulled.executions}
    assert got == {f"job-{state}": status for state, status in table.items()}
    assert api.requests[0].query["completed_only"] == "true"


def test_runs_carry_attempt_link_reason_commit_and_source_name(api: FakeDatabricks) -> None:
    # Given a failed second attempt of a run from a Git-backed job
    api.runs.append(
        databricks_run(
            7,
            "nightly-etl",
            "FAILED",
            start=NOW - 40 * MIN,
            end=NOW - 35 * MIN,
            attempt=1,
            message="Task ingest failed with message: FileNotFoundError",
            commit="abc123",
        )
    )

    # When the source named "dbx-prod" pulls
    [ex] = source(api, name="dbx-prod").pull({}, NOW).executions

    # Then the execution carries everything an alert shows
    assert (ex.job, ex.run_id, ex.attempt, ex.finished_at) == ("nightly-etl", "7", 1, NOW - 35 * MIN)
    assert ex.url == "https://adb-1.azuredatabricks.net/?o=1#job/1/run/7"
    assert ex.reason == "FAILED: Task ingest failed with message: FileNotFoundError"
    assert ex.commit == "abc123"
    assert ex.source == "dbx-prod"


def test_newer_payloads_with_only_termination_details_are_mapped(api: FakeDatabricks) -> None:
    # Given runs that carry only the newer `status.termination_details`
    for i, code in enumerate(
        ["SUCCESS", "RUN_EXECUTION_ERROR", "USER_CANCELED", "SKIPPED", "MAX_CONCURRENT_RUNS_EXCEEDED"]
    ):
        api.runs.append(
            databricks_run(
                i, f"j-{code}", None, start=NOW - 9 * MIN, end=NOW - 8 * MIN, newer=True, code=code, message="boom"
            )
        )

    # When the source pulls
    got = {ex.job: ex for ex in source(api, api_version="2.2").pull({}, NOW).executions}

    # Then the termination code decides, and the message is the reason of a failure
    assert {k: v.status for k, v in got.items()} == {
        "j-SUCCESS": Status.SUCCESS,
        "j-RUN_EXECUTION_ERROR": Status.FAILED,
        "j-USER_CANCELED": Status.CANCELED,
        "j-SKIPPED": Status.SKIPPED,
        "j-MAX_CONCURRENT_RUNS_EXCEEDED": Status.SKIPPED,
    }
    assert got["j-RUN_EXECUTION_ERROR"].reason == "RUN_EXECUTION_ERROR: boom"
    assert api.requests[0].path == "/api/2.2/jobs/runs/list"


def test_all_pages_are_followed_through_next_page_token(api: FakeDatabricks) -> None:
    # Given 60 finished runs: three pages of at most 25
    for i in range(60):
        api.runs.append(databricks_run(i, "hourly", "SUCCESS", start=NOW - (120 - i) * MIN, end=NOW - (119 - i) * MIN))

    # When the source pulls
    pulled = source(api).pull({}, NOW)

    # Then every run is read, the later pages asked by token
    assert sorted(int(e.run_id) for e in pulled.executions) == list(range(60))
    assert [r.query.get("page_token") for r in completed(api)] == [None, "tok-25", "tok-50"]


def test_max_pages_bounds_one_pull(api: FakeDatabricks) -> None:
    # Given more runs than max_pages pages
    for i in range(60):
        api.runs.append(databricks_run(i, "hourly", "SUCCESS", start=NOW - (120 - i) * MIN, end=NOW - (119 - i) * MIN))

    # When the source pulls with max_pages 2
    pulled = source(api, max_pages=2).pull({}, NOW)

    # Then it stops after two pages, with the newest runs
    assert len(completed(api)) == 2
    assert len(pulled.executions) == 50
    assert min(int(e.run_id) for e in pulled.executions) == 10


def test_next_pull_starts_at_the_cursor_minus_the_overlap(api: FakeDatabricks) -> None:
    # Given a first pull that stored its cursor (no repair lookback, so the window alone decides)
    src = source(api, overlap_minutes=30, repair_lookback_hours=0)
    first = src.pull({}, NOW)
    assert first.cursor == {"since": NOW}
    assert int(completed(api)[0].query["start_time_from"]) == NOW - 24 * 60 * MIN

    # When the next pull runs ten minutes later
    src.pull(first.cursor, NOW + 10 * MIN)

    # Then it asks for runs started since the cursor minus the overlap
    assert int(completed(api)[1].query["start_time_from"]) == NOW - 30 * MIN


def test_a_refused_token_fails_the_source_with_a_permission_message_and_no_secret(api: FakeDatabricks) -> None:
    # Given a server that does not know the token
    api.token = "another"

    # When the source pulls, then it raises a one-line SourceError naming the source and the permission
    with pytest.raises(SourceError) as err:
        source(api, name="dbx").pull({}, NOW)
    message = str(err.value)
    assert message.startswith("dbx: GET /api/2.1/jobs/runs/list: HTTP 401")
    assert "CAN VIEW" in message
    assert TOKEN not in message
    assert "\n" not in message


def test_a_page_that_is_not_the_documented_shape_fails_the_source(api: FakeDatabricks) -> None:
    # Given a page whose runs are not a list
    api.inject(Answer(200, {"runs": {"oops": 1}, "has_more": False}))

    # When the source pulls, then it reports a malformed page
    with pytest.raises(SourceError, match=r"databricks: .*malformed page: 'runs' is not a list"):
        source(api).pull({}, NOW)


def test_a_run_still_active_holds_the_cursor_so_it_is_read_when_it_finishes_hours_later(api: FakeDatabricks) -> None:
    # Given a run that started 100 minutes ago and is still running
    long_run = databricks_run(50, "backfill", None, start=NOW - 100 * MIN, end=None)
    api.runs.append(long_run)
    src = source(api, overlap_minutes=10)

    # When a pull runs, then the cursor is held at the run's start
    first = src.pull({}, NOW)
    assert first.executions == []
    assert first.cursor == {"since": NOW - 100 * MIN}
    assert any(r.query.get("active_only") == "true" for r in api.requests)

    # When the run finishes two hours later and the next pull runs
    api.runs[0] = databricks_run(50, "backfill", "FAILED", start=NOW - 100 * MIN, end=NOW + 110 * MIN)
    second = src.pull(first.cursor, NOW + 120 * MIN)

    # Then it is read, and the cursor moves on
    assert [(e.job, e.status) for e in second.executions] == [("backfill", Status.FAILED)]
    assert second.cursor == {"since": NOW + 120 * MIN}


def test_a_run_active_longer_than_max_run_hours_no_longer_holds_the_cursor(api: FakeDatabricks) -> None:
    # Given a run stuck for two days
    api.runs.append(databricks_run(51, "stuck", None, start=NOW - 48 * 60 * MIN, end=None))

    # When a pull runs with max_run_hours 6, then the cursor is held six hours back at most
    pulled = source(api, max_run_hours=6).pull({}, NOW)
    assert pulled.cursor == {"since": NOW - 6 * 60 * MIN}


def test_api_2_2_pages_are_followed_on_next_page_token_alone(api: FakeDatabricks) -> None:
    # Given 60 finished runs served by the 2.2 API, whose pages carry next_page_token but no has_more
    for i in range(60):
        api.runs.append(databricks_run(i, "hourly", "SUCCESS", start=NOW - (120 - i) * MIN, end=NOW - (119 - i) * MIN))

    # When a 2.2 source pulls
    pulled = source(api, api_version="2.2").pull({}, NOW)

    # Then every run of the three pages is read
    assert sorted(int(e.run_id) for e in pulled.executions) == list(range(60))
    assert [r.query.get("page_token") for r in completed(api)] == [None, "tok-25", "tok-50"]
    assert all(r.path == "/api/2.2/jobs/runs/list" for r in api.requests)


def test_api_2_2_active_runs_on_a_later_page_still_hold_the_cursor(api: FakeDatabricks) -> None:
    # Given 30 active runs on the 2.2 API, the earliest started 5 hours ago and listed last (second page)
    for i in range(30):
        api.runs.append(databricks_run(i, "stream", None, start=NOW - (i + 1) * 10 * MIN, end=None))

    # When a 2.2 source pulls
    pulled = source(api, api_version="2.2").pull({}, NOW)

    # Then the cursor is held at the start of the earliest active run, read from the second page
    assert pulled.cursor == {"since": NOW - 300 * MIN}
    active = [r for r in api.requests if r.query.get("active_only") == "true"]
    assert [r.query.get("page_token") for r in active] == [None, "tok-25"]


def test_a_repaired_run_is_a_newer_attempt_whose_result_replaces_the_failure(api: FakeDatabricks) -> None:
    # Given a failed run that a first pass read and counted
    api.runs.append(databricks_run(9, "etl", "FAILED", start=NOW - 60 * MIN, end=NOW - 50 * MIN, message="boom"))
    src = source(api)
    first = src.pull({}, NOW)
    state = State()
    cfg = config("thresholds: {consecutive: 1}")
    counting.apply(state, first.executions, cfg.policy_for, NOW)
    assert state.jobs["etl"].consecutive_failures == 1

    # When someone repairs it (same run_id and attempt_number, repair_history grows) and the next pass reads it
    api.runs[0] = databricks_run(9, "etl", None, start=NOW - 60 * MIN, end=None, repairs=[(NOW + 5 * MIN, "SUCCESS")])
    second = src.pull(first.cursor, NOW + 10 * MIN)
    stats = counting.apply(state, second.executions, cfg.policy_for, NOW + 10 * MIN)

    # Then the repair is attempt 1000 of the same run, finished when the repair did, and the job is green
    [ex] = second.executions
    assert (ex.run_id, ex.attempt, ex.status, ex.finished_at) == ("9", 1000, Status.SUCCESS, NOW + 5 * MIN)
    assert stats.replaced == 1
    assert (state.jobs["etl"].consecutive_failures, state.jobs["etl"].total_runs) == (0, 1)


def test_a_repair_of_a_run_started_before_the_window_is_still_read(api: FakeDatabricks) -> None:
    # Given a run started 30 hours ago, failed then, and repaired ten minutes ago
    api.runs.append(
        databricks_run(
            4,
            "daily",
            None,
            start=NOW - 30 * 60 * MIN,
            end=None,
            repairs=[(NOW - 29 * 60 * MIN, "FAILED"), (NOW - 10 * MIN, "SUCCESS")],
        )
    )
    # and an old run that was never repaired
    api.runs.append(databricks_run(3, "daily", "FAILED", start=NOW - 40 * 60 * MIN, end=NOW - 39 * 60 * MIN))

    # When a pull whose window starts an hour ago runs
    pulled = source(api, overlap_minutes=60).pull({"since": NOW}, NOW)

    # Then the listing reaches back repair_lookback_hours (48) and only the repaired run is emitted, second repair
    assert int(completed(api)[0].query["start_time_from"]) == NOW - 48 * 60 * MIN
    assert [(e.run_id, e.attempt, e.status) for e in pulled.executions] == [("4", 2000, Status.SUCCESS)]


def test_a_retry_carries_its_original_run_id_so_its_result_replaces_the_first_attempt(api: FakeDatabricks) -> None:
    # Given a run that failed and its automatic retry (a new run_id, attempt_number 1) that succeeded
    api.runs.append(databricks_run(20, "ingest", "FAILED", start=NOW - 30 * MIN, end=NOW - 25 * MIN))
    api.runs.append(
        databricks_run(21, "ingest", "SUCCESS", start=NOW - 24 * MIN, end=NOW - 20 * MIN, attempt=1, original=20)
    )

    # When the source pulls and the engine counts the runs
    pulled = source(api).pull({}, NOW)
    state = State()
    counting.apply(state, pulled.executions, config().policy_for, NOW)

    # Then both are attempts of run 20, the retry's link kept, and the job counts one successful run
    got = sorted((e.run_id, e.attempt, e.status, e.url) for e in pulled.executions)
    assert got == [
        ("20", 0, Status.FAILED, "https://adb-1.azuredatabricks.net/?o=1#job/1/run/20"),
        ("20", 1, Status.SUCCESS, "https://adb-1.azuredatabricks.net/?o=1#job/1/run/21"),
    ]
    job = state.jobs["ingest"]
    assert (job.total_runs, job.total_failures, job.consecutive_failures) == (1, 0, 0)


def test_an_internal_error_life_cycle_without_result_is_a_failure(api: FakeDatabricks) -> None:
    # Given a run that ended in life_cycle_state INTERNAL_ERROR with no result_state
    run = databricks_run(
        30,
        "lost",
        None,
        start=NOW - 9 * MIN,
        end=NOW - 8 * MIN,
        life_cycle="INTERNAL_ERROR",
        message="Cluster was terminated unexpectedly",
    )

    api.runs.append(run)

    # When the source pulls
    [ex] = source(api).pull({}, NOW).executions

    # Then it is a failure whose reason names the state and the message
    assert ex.status is Status.FAILED
    assert ex.reason == "INTERNAL_ERROR: Cluster was terminated unexpectedly"


def test_a_2_2_cancellation_for_exceeding_the_maximum_duration_is_a_timeout(api: FakeDatabricks) -> None:
    # Given two 2.2 runs canceled by the platform: one for its timeout, one for another reason
    api.runs.append(
        databricks_run(
            40,
            "slow",
            None,
            start=NOW - 9 * MIN,
            end=NOW - 8 * MIN,
            newer=True,
            code="CANCELED",
            message="Run timed out after exceeding the maximum duration of 3600 seconds.",
        )
    )
    api.runs.append(
        databricks_run(
            41,
            "other",
            None,
            start=NOW - 9 * MIN,
            end=NOW - 8 * MIN,
            newer=True,
            code="CANCELED",
            message="Run was canceled because the workspace is being deleted.",
        )
    )

    # When the source pulls
    got = {e.job: e for e in source(api, api_version="2.2").pull({}, NOW).executions}

    # Then the timeout counts as timed_out (a failure), the other cancellation stays canceled
    assert got["slow"].status is Status.TIMED_OUT
    assert got["slow"].reason == "CANCELED: Run timed out after exceeding the maximum duration of 3600 seconds."
    assert got["other"].status is Status.CANCELED


def test_a_cut_beyond_the_window_is_not_reported_as_lost_runs(
    api: FakeDatabricks, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 10 runs in the last hour and 60 older ones within the repair lookback
    for i in range(70):
        start = NOW - (i + 1) * (5 if i < 10 else 30) * MIN
        api.runs.append(databricks_run(i, "hourly", "SUCCESS", start=start, end=start + MIN))

    # When a pull whose window is the last hour reads at most two pages
    with caplog.at_level("WARNING", logger="failstreak.sources"):
        pulled = source(api, max_pages=2, overlap_minutes=60).pull({"since": NOW}, NOW)

    # Then every run of the window is read and no warning says runs were lost
    assert len(pulled.executions) == 10
    assert "max_pages" not in caplog.text

    # When the window itself is longer than two pages, then the cut is reported
    with caplog.at_level("WARNING", logger="failstreak.sources"):
        source(api, max_pages=2, overlap_minutes=60 * 30).pull({"since": NOW}, NOW)
    assert "stopped after max_pages=2" in caplog.text
