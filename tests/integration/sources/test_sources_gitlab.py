"""GitLab CI adapter against a local pipelines/jobs API server in the documented shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from failstreak.core import counting
from failstreak.core.model import State, Status, now_ms
from failstreak.errors import SourceError
from failstreak.sources.common import HttpSource
from tests.conftest import config
from tests.integration.platform_servers import FakeGitLab, build_source, gitlab_job, gitlab_pipeline, parse_iso, serve

pytestmark = pytest.mark.integration

TOKEN = "glpat-secret-token"
NOW = now_ms()
MIN = 60_000


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitLab]:
    monkeypatch.setenv("GL_TOKEN", TOKEN)
    with serve(FakeGitLab(TOKEN, "group/app")) as fake:
        yield fake


def source(api: FakeGitLab, **extra: object) -> HttpSource:
    raw = {"type": "gitlab", "url": api.base_url, "token": {"env": "GL_TOKEN"}, "project": "group/app", "ref": "main"}
    src = build_source({**raw, **extra})
    assert isinstance(src, HttpSource)
    return src


def test_job_statuses_map_per_spec_3_with_allow_failure_and_timeouts(api: FakeGitLab) -> None:
    # Given a pipeline with a job in each GitLab status, an allowed failure and a timeout
    p = gitlab_pipeline(5001, "main", "failed", updated=NOW - 5 * MIN)
    done = NOW - 6 * MIN
    api.add(
        p,
        gitlab_job(1, p, "build", "success", finished=done),
        gitlab_job(2, p, "unit", "failed", finished=done, failure_reason="script_failure"),
        gitlab_job(3, p, "lint", "failed", finished=done, allow_failure=True, failure_reason="script_failure"),
        gitlab_job(4, p, "e2e", "failed", finished=done, failure_reason="job_execution_timeout"),
        gitlab_job(5, p, "deploy", "canceled", finished=done),
        gitlab_job(6, p, "docs", "skipped", finished=None),
        gitlab_job(7, p, "release", "manual", finished=None),
        gitlab_job(8, p, "later", "created", finished=None),
        gitlab_job(9, p, "queued", "pending", finished=None),
        gitlab_job(10, p, "busy", "running", finished=None),
    )

    # When the source pulls
    got = {ex.job: ex for ex in source(api).pull({}, NOW).executions}

    # Then finished jobs map per docs/records.md and unfinished ones are not emitted
    assert {k: v.status for k, v in got.items()} == {
        "build": Status.SUCCESS,
        "unit": Status.FAILED,
        "lint": Status.SUCCEEDED_WITH_FAILURES,
        "e2e": Status.TIMED_OUT,
        "deploy": Status.CANCELED,
        "docs": Status.SKIPPED,
        "release": Status.SKIPPED,
    }
    assert got["unit"].reason == "script_failure"
    assert got["lint"].reason == "allowed to fail: script_failure"
    assert got["e2e"].reason == "job_execution_timeout"
    assert got["docs"].finished_at == parse_iso(p["updated_at"])
    unit = got["unit"]
    assert (unit.run_id, unit.attempt, unit.commit) == ("5001", 2, p["sha"])
    assert unit.url == "https://gitlab.example.com/group/app/-/jobs/2"


def test_a_retried_job_is_superseded_by_its_latest_attempt(api: FakeGitLab) -> None:
    # Given a job that failed twice and then passed on its third try
    p = gitlab_pipeline(5002, "main", "success", updated=NOW - 3 * MIN)
    api.add(
        p,
        gitlab_job(20, p, "flaky", "failed", finished=NOW - 9 * MIN, failure_reason="script_failure"),
        gitlab_job(21, p, "flaky", "failed", finished=NOW - 7 * MIN, failure_reason="script_failure"),
        gitlab_job(22, p, "flaky", "success", finished=NOW - 4 * MIN),
    )

    # When the source pulls
    [ex] = source(api).pull({}, NOW).executions

    # Then one execution stands for the run: the last try, its attempt its job id (above the two before it)
    assert (ex.job, ex.status, ex.attempt, ex.url) == (
        "flaky",
        Status.SUCCESS,
        22,
        "https://gitlab.example.com/group/app/-/jobs/22",
    )
    assert all(r.query.get("include_retried") == "true" for r in api.requests if r.path.endswith("/jobs"))


def test_pipelines_are_asked_for_the_ref_updated_since_the_cursor_oldest_first(api: FakeGitLab) -> None:
    # Given pipelines on main (one too old for the window) and one on another branch
    old = gitlab_pipeline(6000, "main", "success", updated=NOW - 200 * MIN)
    new = gitlab_pipeline(6001, "main", "success", updated=NOW - 20 * MIN)
    other = gitlab_pipeline(6002, "feature", "failed", updated=NOW - 10 * MIN)
    for p in (old, new, other):
        api.add(p, gitlab_job(p["id"], p, "build", "success" if p is not other else "failed", finished=NOW - 30 * MIN))

    # When the source pulls from a cursor 90 minutes ago with the default 60-minute overlap
    pulled = source(api).pull({"since": NOW - 90 * MIN}, NOW)

    # Then only main's recent pipeline is read
    assert [ex.run_id for ex in pulled.executions] == ["6001"]
    q = api.requests[0].query
    assert (q["ref"], q["order_by"], q["sort"], q["per_page"]) == ("main", "updated_at", "asc", "100")
    assert parse_iso(q["updated_after"]) == (NOW - 150 * MIN) // 1000 * 1000


def test_offset_pages_are_followed_through_x_next_page(api: FakeGitLab) -> None:
    # Given 105 pipelines (two pages) and one pipeline with 130 jobs (two pages)
    for i in range(105):
        p = gitlab_pipeline(7000 + i, "main", "success", updated=NOW - (200 - i) * MIN)
        api.add(p, gitlab_job(10_000 + i, p, "build", "success", finished=NOW - (201 - i) * MIN))
    big = gitlab_pipeline(8000, "main", "success", updated=NOW - MIN)
    api.add(big, *[gitlab_job(20_000 + i, big, f"shard-{i}", "success", finished=NOW - 2 * MIN) for i in range(130)])

    # When the source pulls
    pulled = source(api, initial_lookback_hours=6).pull({}, NOW)

    # Then every pipeline and every job is read
    assert len(pulled.executions) == 105 + 130
    assert [r.query.get("page") for r in api.requests if r.path.endswith("/pipelines")] == [None, "2"]
    assert [r.query.get("page") for r in api.requests if r.path.endswith("/8000/jobs")] == [None, "2"]


def test_keyset_pages_are_followed_through_the_link_header(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a GitLab answering with Link headers only (keyset pagination)
    monkeypatch.setenv("GL_TOKEN", TOKEN)
    with serve(FakeGitLab(TOKEN, "42", keyset=True)) as api:
        for i in range(150):
            p = gitlab_pipeline(9000 + i, "main", "success", updated=NOW - (300 - i) * MIN)
            api.add(p, gitlab_job(30_000 + i, p, "build", "success", finished=NOW - (301 - i) * MIN))

        # When the source pulls
        pulled = source(api, project=42, initial_lookback_hours=8).pull({}, NOW)

    # Then both pages are read
    assert len(pulled.executions) == 150
    assert [r.query.get("page") for r in api.requests if r.path.endswith("/pipelines")] == [None, "2"]


def test_a_listing_cut_by_max_pages_resumes_after_the_last_pipeline_read(api: FakeGitLab) -> None:
    # Given 150 pipelines and a bound of one page per pull
    for i in range(150):
        p = gitlab_pipeline(7000 + i, "main", "success", updated=NOW - (300 - i) * MIN)
        api.add(p, gitlab_job(10_000 + i, p, "build", "success", finished=NOW - (301 - i) * MIN))
    src = source(api, max_pages=1, initial_lookback_hours=8, overlap_minutes=10)

    # When the source pulls twice
    first = src.pull({}, NOW)
    second = src.pull(first.cursor, NOW)

    # Then the first pass reads the oldest 100 and the second starts at the last one read
    assert len(first.executions) == 100
    last_read = NOW - (300 - 99) * MIN
    assert first.cursor == {"since": last_read + 10 * MIN}
    assert {ex.run_id for ex in first.executions} | {ex.run_id for ex in second.executions} == {
        str(7000 + i) for i in range(150)
    }


def test_a_token_without_read_api_fails_the_source_naming_the_scope(api: FakeGitLab) -> None:
    # Given a server refusing the token
    api.token = "other"

    # When the source pulls, then the error says which scope and role the token needs
    with pytest.raises(SourceError) as err:
        source(api, name="gitlab-app").pull({}, NOW)
    assert str(err.value).startswith("gitlab-app: GET /api/v4/projects/group%2Fapp/pipelines: HTTP 401")
    assert "read_api" in str(err.value)
    assert "Reporter" in str(err.value)
    assert TOKEN not in str(err.value)


def test_stuck_or_timeout_failure_is_a_timeout(api: FakeGitLab) -> None:
    # Given a job GitLab failed as stuck or timed out (the failure_reason of GitLab's own docs example)
    p = gitlab_pipeline(5003, "main", "failed", updated=NOW - 3 * MIN)
    api.add(p, gitlab_job(30, p, "e2e", "failed", finished=NOW - 4 * MIN, failure_reason="stuck_or_timeout_failure"))

    # When the source pulls
    [ex] = source(api).pull({}, NOW).executions

    # Then it is timed_out, with the reason kept
    assert (ex.status, ex.reason) == (Status.TIMED_OUT, "stuck_or_timeout_failure")


def test_a_manual_job_played_later_counts_with_its_result(api: FakeGitLab) -> None:
    # Given a pipeline whose manual deploy job a first pass read (as skipped) and applied
    p = gitlab_pipeline(5004, "main", "manual", updated=NOW - 60 * MIN)
    api.add(p, gitlab_job(40, p, "deploy", "manual", finished=None))
    src = source(api)
    cfg = config("thresholds: {consecutive: 1}")
    state = State()
    first = src.pull({}, NOW)
    counting.apply(state, first.executions, cfg.policy_for, NOW)
    assert [(e.run_id, e.attempt, e.status) for e in first.executions] == [("5004", 40, Status.SKIPPED)]

    # When someone plays it, it fails (same job id, same attempt; the pipeline is updated) and the next pass reads it
    played = gitlab_pipeline(5004, "main", "failed", updated=NOW + 10 * MIN)
    api.add(played, gitlab_job(40, played, "deploy", "failed", finished=NOW + 9 * MIN, failure_reason="script_failure"))
    second = src.pull(first.cursor, NOW + 15 * MIN)
    stats = counting.apply(state, second.executions, cfg.policy_for, NOW + 15 * MIN)

    # Then its failure replaces the skipped record and counts
    assert [(e.run_id, e.attempt, e.status) for e in second.executions] == [("5004", 40, Status.FAILED)]
    assert stats.replaced == 1
    job = state.jobs["deploy"]
    assert (job.total_runs, job.total_failures, job.consecutive_failures) == (1, 1, 1)
