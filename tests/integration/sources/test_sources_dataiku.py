"""Dataiku DSS adapter against a local public-API server returning project job lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from failstreak.core.model import Status, now_ms
from failstreak.errors import SourceError
from failstreak.sources.common import HttpSource
from tests.integration.platform_servers import FakeDataiku, build_source, dataiku_job, serve

pytestmark = pytest.mark.integration

KEY = "dkuaps-secret-key"
NOW = now_ms()
MIN = 60_000


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDataiku]:
    monkeypatch.setenv("DKU_KEY", KEY)
    with serve(FakeDataiku(KEY, {"SALES": [], "FINANCE": []})) as fake:
        yield fake


def source(api: FakeDataiku, projects: list[str], **extra: object) -> HttpSource:
    raw = {"type": "dataiku", "url": api.base_url, "api_key": {"env": "DKU_KEY"}, "projects": projects, **extra}
    src = build_source(raw)
    assert isinstance(src, HttpSource)
    return src


def test_stable_states_map_per_spec_3_and_unstable_ones_are_not_emitted(api: FakeDataiku) -> None:
    # Given one job per Dataiku state: three stable, two not
    states = ["DONE", "FAILED", "ABORTED", "RUNNING", "NOT_STARTED"]
    for n, state in enumerate(states):
        ended = NOW - 10 * MIN if state in ("DONE", "FAILED", "ABORTED") else None
        api.projects["SALES"].append(
            dataiku_job("SALES", f"build_{state.lower()}", state, started=NOW - 20 * MIN, ended=ended, n=n)
        )

    # When the source pulls
    got = {ex.job: ex for ex in source(api, ["SALES"]).pull({}, NOW).executions}

    # Then only stable jobs are emitted, keyed PROJECTKEY/def.name, with the state as the reason of a failure
    assert {k: v.status for k, v in got.items()} == {
        "SALES/build_done": Status.SUCCESS,
        "SALES/build_failed": Status.FAILED,
        "SALES/build_aborted": Status.CANCELED,
    }
    failed = got["SALES/build_failed"]
    assert failed.reason == "FAILED"
    assert failed.finished_at == NOW - 10 * MIN
    assert failed.run_id.startswith("Build_build_failed_")
    assert failed.url == f"{api.base_url}/projects/SALES/jobs/{failed.run_id}/"
    assert failed.source == "dataiku"


def test_every_configured_project_is_read_with_the_api_key_as_basic_auth_user(api: FakeDataiku) -> None:
    # Given jobs in two projects
    api.projects["SALES"].append(
        dataiku_job("SALES", "orders", "DONE", started=NOW - 9 * MIN, ended=NOW - 8 * MIN, n=1)
    )
    api.projects["FINANCE"].append(
        dataiku_job("FINANCE", "ledger", "FAILED", started=NOW - 9 * MIN, ended=NOW - 7 * MIN, n=2)
    )

    # When the source pulls both projects
    pulled = source(api, ["SALES", "FINANCE"]).pull({}, NOW)

    # Then both are read, one request each, authenticated as the fake checks
    assert sorted(ex.job for ex in pulled.executions) == ["FINANCE/ledger", "SALES/orders"]
    assert api.paths() == ["/public/api/projects/SALES/jobs/", "/public/api/projects/FINANCE/jobs/"]


def test_jobs_that_ended_before_the_window_are_left_out(api: FakeDataiku) -> None:
    # Given a job that ended before the cursor's overlap and one after
    api.projects["SALES"].append(
        dataiku_job("SALES", "old", "DONE", started=NOW - 300 * MIN, ended=NOW - 290 * MIN, n=1)
    )
    api.projects["SALES"].append(dataiku_job("SALES", "new", "DONE", started=NOW - 50 * MIN, ended=NOW - 40 * MIN, n=2))

    # When the source pulls from a cursor an hour ago with a 60-minute overlap
    pulled = source(api, ["SALES"]).pull({"since": NOW - 60 * MIN}, NOW)

    # Then only the recent job is emitted and the cursor moves to now
    assert [ex.job for ex in pulled.executions] == ["SALES/new"]
    assert pulled.cursor == {"since": NOW}


def test_an_unknown_project_fails_the_source_naming_it(api: FakeDataiku) -> None:
    # Given a config naming a project the instance does not have
    # When the source pulls, then the error says what was not found
    with pytest.raises(SourceError, match=r"^dataiku: GET /public/api/projects/NOPE/jobs/: HTTP 404"):
        source(api, ["NOPE"]).pull({}, NOW)


def test_a_wrong_api_key_fails_the_source_saying_it_lacks_permission(api: FakeDataiku) -> None:
    # Given an instance that does not accept the key
    api.api_key = "other"

    # When the source pulls, then the error names the permission and never the key
    with pytest.raises(SourceError) as err:
        source(api, ["SALES"]).pull({}, NOW)
    assert "read access to the projects" in str(err.value)
    assert KEY not in str(err.value)


def test_jobs_are_asked_with_a_limit_and_the_list_stops_at_the_cursor(api: FakeDataiku) -> None:
    # Given 250 finished jobs, one every two minutes over the last 500 minutes
    for n in range(250):
        started = NOW - (500 - 2 * n) * MIN
        api.projects["SALES"].append(dataiku_job("SALES", "orders", "DONE", started=started, ended=started + MIN, n=n))

    # When a pull whose window starts 90 minutes ago runs
    pulled = source(api, ["SALES"], overlap_minutes=30).pull({"since": NOW - 60 * MIN}, NOW)

    # Then one request for the newest 100 reached the window's start: the runs of the window, nothing older
    assert [r.query.get("limit") for r in api.requests] == ["100"]
    assert len(pulled.executions) == 45
    assert min(e.finished_at for e in pulled.executions) >= NOW - 90 * MIN


def test_a_full_answer_inside_the_window_is_asked_again_with_a_larger_limit(api: FakeDataiku) -> None:
    # Given 250 finished jobs, all inside the first pull's 24-hour lookback
    for n in range(250):
        started = NOW - (500 - 2 * n) * MIN
        api.projects["SALES"].append(dataiku_job("SALES", "orders", "DONE", started=started, ended=started + MIN, n=n))

    # When the first pull runs
    pulled = source(api, ["SALES"]).pull({}, NOW)

    # Then the limit doubles until the answer is not full, and every job is read once
    assert [r.query.get("limit") for r in api.requests] == ["100", "200", "400"]
    assert len({e.run_id for e in pulled.executions}) == len(pulled.executions) == 250


def test_a_running_job_holds_the_cursor_at_its_start(api: FakeDataiku) -> None:
    # Given a job started three hours ago and still running
    api.projects["SALES"].append(dataiku_job("SALES", "backfill", "RUNNING", started=NOW - 180 * MIN, ended=None, n=1))

    # When a pull runs
    pulled = source(api, ["SALES"]).pull({}, NOW)

    # Then the cursor stays at its start, so the next window still holds it when it finishes
    assert pulled.cursor == {"since": NOW - 180 * MIN}
