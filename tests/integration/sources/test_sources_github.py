"""GitHub Actions adapter against a local REST server: runs, jobs, Link paging, rate limits."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from failstreak.core.model import Status, now_ms
from failstreak.errors import SourceError
from failstreak.sources.common import HttpSource
from tests.integration.platform_servers import (
    Answer,
    FakeGitHub,
    build_source,
    github_job,
    github_run,
    parse_iso,
    serve,
)

pytestmark = pytest.mark.integration

TOKEN = "github_pat_secret"
NOW = now_ms()
MIN = 60_000


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    with serve(FakeGitHub(TOKEN, "octo/app")) as fake:
        yield fake


def source(api: FakeGitHub, **extra: object) -> HttpSource:
    raw = {"type": "github", "url": api.base_url, "token": {"env": "GH_TOKEN"}, "repo": "octo/app", "branch": "main"}
    src = build_source({**raw, **extra})
    assert isinstance(src, HttpSource)
    return src


def test_every_conclusion_of_spec_3_maps_and_unfinished_jobs_are_not_emitted(api: FakeGitHub) -> None:
    # Given a completed run with one job per conclusion, and one job still in progress
    run = github_run(101, "CI", "main", created=NOW - 20 * MIN, updated=NOW - 5 * MIN, conclusion="failure")
    conclusions = ["success", "failure", "timed_out", "cancelled", "skipped", "neutral"]
    jobs = [github_job(i, run, f"job-{c}", c, completed=NOW - 6 * MIN) for i, c in enumerate(conclusions)]
    jobs.append(github_job(99, run, "job-pending", None, completed=None))
    api.add(run, *jobs)

    # When the source pulls
    got = {ex.job: ex.status for ex in source(api).pull({}, NOW).executions}

    # Then each conclusion maps per docs/sources.md, keyed "workflow / job"; the workflow's own record says it started
    assert got == {
        "CI": Status.SUCCESS,
        "CI / job-success": Status.SUCCESS,
        "CI / job-failure": Status.FAILED,
        "CI / job-timed_out": Status.TIMED_OUT,
        "CI / job-cancelled": Status.CANCELED,
        "CI / job-skipped": Status.SKIPPED,
        "CI / job-neutral": Status.SKIPPED,
    }


def test_jobs_carry_attempt_link_commit_and_the_failing_step(api: FakeGitHub) -> None:
    # Given the second attempt of a run whose test job failed in a step
    run = github_run(202, "CI", "main", created=NOW - 30 * MIN, updated=NOW - 2 * MIN, attempt=2)
    api.add(
        run,
        github_job(7, run, "test (ubuntu-latest, 3.11)", "failure", completed=NOW - 3 * MIN, failed_step="Run pytest"),
    )

    # When the source pulls
    [ex, workflow] = source(api).pull({}, NOW).executions

    # Then the run attempt, the job's link, the commit and the failing step are kept
    assert (workflow.job, workflow.run_id, workflow.attempt, workflow.status) == ("CI", "202", 2, Status.SUCCESS)
    assert (ex.job, ex.run_id, ex.attempt) == ("CI / test (ubuntu-latest, 3.11)", "202", 2)
    assert ex.url == "https://github.com/octo/app/actions/runs/202/job/7"
    assert ex.commit == run["head_sha"]
    assert ex.reason == "step 'Run pytest': failure"
    assert ex.finished_at == NOW - 3 * MIN
    assert api.requests[1].query["filter"] == "latest"


def test_runs_are_asked_on_the_branch_since_the_window_and_paged_by_link(api: FakeGitHub) -> None:
    # Given 130 completed runs on main, one on another branch and one still running
    for i in range(130):
        run = github_run(1000 + i, "Nightly", "main", created=NOW - (200 - i) * MIN, updated=NOW - (199 - i) * MIN)
        api.add(run, github_job(5000 + i, run, "build", "success", completed=NOW - (199 - i) * MIN))
    other = github_run(3000, "Nightly", "feature", created=NOW - 10 * MIN, updated=NOW - 9 * MIN)
    api.add(other, github_job(6000, other, "build", "failure", completed=NOW - 9 * MIN))
    busy = github_run(3001, "Nightly", "main", created=NOW - 10 * MIN, updated=NOW - 9 * MIN, status="in_progress")
    api.add(busy, github_job(6001, busy, "build", None, completed=None))

    # When the source pulls with a six-hour initial lookback
    pulled = source(api, initial_lookback_hours=6).pull({}, NOW)

    # Then every completed run on main is read, over two pages, and the running one holds the cursor
    assert pulled.cursor == {"since": NOW - 10 * MIN}
    assert sorted(int(e.run_id) for e in pulled.executions if e.job == "Nightly / build") == list(range(1000, 1130))
    listing = [r for r in api.requests if r.path == "/repos/octo/app/actions/runs"]
    assert [r.query.get("page") for r in listing] == [None, "2"]
    q = listing[0].query
    assert (q["branch"], q["per_page"]) == ("main", "100")
    assert parse_iso(q["created"].removeprefix(">=")) == (NOW - 360 * MIN) // 1000 * 1000
    assert listing[0].headers["x-github-api-version"] == "2022-11-28"


def test_a_secondary_rate_limit_is_waited_out_as_retry_after_asks(api: FakeGitHub) -> None:
    # Given a secondary rate limit (403 with retry-after) on the first request, then a 429 with x-ratelimit-reset
    run = github_run(404, "CI", "main", created=NOW - 9 * MIN, updated=NOW - 8 * MIN)
    api.add(run, github_job(1, run, "build", "success", completed=NOW - 8 * MIN))
    api.inject(
        Answer(403, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "1"}),
        Answer(
            429,
            {"message": "API rate limit exceeded"},
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()))},
        ),
    )

    # When the source pulls
    pulled = source(api).pull({}, NOW)

    # Then it waited at least the second asked for before retrying, and got the run
    assert [e.job for e in pulled.executions] == ["CI / build", "CI"]
    gaps = [b.at - a.at for a, b in zip(api.requests, api.requests[1:], strict=False)]
    assert gaps[0] >= 0.95
    assert len(api.requests) == 4


def test_a_rate_limit_longer_than_the_time_budget_fails_the_source_this_pass(api: FakeGitHub) -> None:
    # Given a rate limit asking for a minute while the source's budget is two seconds
    api.inject(Answer(429, {"message": "API rate limit exceeded"}, {"retry-after": "60"}))

    # When the source pulls, then it gives up at once, saying why
    started = time.monotonic()
    with pytest.raises(SourceError, match="would overrun the github time budget"):
        source(api, time_budget_seconds=2).pull({}, NOW)
    assert time.monotonic() - started < 1.5


def test_a_token_without_actions_read_fails_the_source_naming_the_permission(api: FakeGitHub) -> None:
    # Given a 403 that is not a rate limit
    api.inject(Answer(403, {"message": "Resource not accessible by personal access token"}))

    # When the source pulls, then the error names the fine-grained permission needed
    with pytest.raises(SourceError, match=r"HTTP 403: the token was refused or lacks permission .*Actions: read"):
        source(api).pull({}, NOW)


def test_a_run_in_progress_is_read_once_it_completes_even_after_the_overlap(api: FakeGitHub) -> None:
    # Given a run created 90 minutes ago, still in progress
    run = github_run(600, "Release", "main", created=NOW - 90 * MIN, updated=NOW - MIN, status="in_progress")
    api.add(run, github_job(1, run, "package", None, completed=None))
    src = source(api, overlap_minutes=5)

    # When a pull runs, the run holds the cursor at its creation
    first = src.pull({}, NOW)
    assert first.cursor == {"since": NOW - 90 * MIN}

    # When it completes an hour later and the next pull runs
    done = github_run(600, "Release", "main", created=NOW - 90 * MIN, updated=NOW + 55 * MIN, conclusion="failure")
    api.add(done, github_job(1, done, "package", "failure", completed=NOW + 55 * MIN))
    second = src.pull(first.cursor, NOW + 60 * MIN)

    # Then its job is read
    assert [(e.job, e.status) for e in second.executions] == [
        ("Release / package", Status.FAILED),
        ("Release", Status.SUCCESS),
    ]


def test_a_run_that_fails_before_any_job_starts_is_a_failure_of_its_workflow(api: FakeGitHub) -> None:
    # Given a run with an invalid workflow file: completed, conclusion startup_failure (a conclusion of GitHub's REST
    # description, github/rest-api-description), and an empty jobs list, as GitHub answers for such a run
    broken = github_run(
        900, "Deploy", "main", created=NOW - 9 * MIN, updated=NOW - 8 * MIN, conclusion="startup_failure"
    )
    api.add(broken)
    # and the next run, after the fix, which started its jobs
    fixed = github_run(901, "Deploy", "main", created=NOW - 5 * MIN, updated=NOW - 2 * MIN)
    api.add(fixed, github_job(1, fixed, "ship", "success", completed=NOW - 2 * MIN))

    # When the source pulls
    got = sorted((e.job, e.run_id, e.status, e.reason) for e in source(api).pull({}, NOW).executions)

    # Then the startup failure is a failed run of the workflow, and the fixed run resolves it
    assert got == [
        ("Deploy", "900", Status.FAILED, "startup_failure"),
        ("Deploy", "901", Status.SUCCESS, None),
        ("Deploy / ship", "901", Status.SUCCESS, None),
    ]


def test_a_stale_run_without_jobs_is_skipped(api: FakeGitHub) -> None:
    # Given a completed run GitHub marked stale, without jobs
    api.add(github_run(910, "Nightly", "main", created=NOW - 9 * MIN, updated=NOW - 8 * MIN, conclusion="stale"))

    # When the source pulls
    [ex] = source(api).pull({}, NOW).executions

    # Then it is the workflow's skipped run, not counted
    assert (ex.job, ex.status) == ("Nightly", Status.SKIPPED)
