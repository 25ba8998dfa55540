"""Contract tests: each platform's published sample pages replayed through its adapter, page by page, and every
resulting record checked field by field (the samples and where they come from: platform_samples.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from failstreak.core.model import Execution, Status
from failstreak.sources.common import HttpSource
from tests.integration import platform_samples as s
from tests.integration.platform_servers import Page, Replay, build_source, serve

pytestmark = pytest.mark.integration

TOKEN = "sample-token"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@contextmanager
def replay(monkeypatch: pytest.MonkeyPatch, header: str, value: str, pages: list[Page]) -> Iterator[Replay]:
    monkeypatch.setenv("SAMPLE_TOKEN", TOKEN)
    with serve(Replay(header, value, pages)) as fake:
        yield fake


def adapter(block: dict[str, object]) -> HttpSource:
    src = build_source(block)
    assert isinstance(src, HttpSource)
    return src


def asked(api: Replay) -> list[tuple[str, dict[str, str]]]:
    return [(r.path, r.query) for r in api.requests]


def test_databricks_2_2_sample_pages_become_these_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the Jobs API 2.2 runs/list sample page, a last page derived from it, and no active run
    path = "/api/2.2/jobs/runs/list"
    pages = [
        Page(path, {"completed_only": "true", "page_token": None}, s.DATABRICKS_PAGE_1),
        Page(path, {"completed_only": "true", "page_token": "CAEomPuciYcxMKbM9JvMlwU="}, s.DATABRICKS_PAGE_2),
        Page(path, {"active_only": "true"}, {}),
    ]
    now = 1625070000000
    with replay(monkeypatch, "authorization", f"Bearer {TOKEN}", pages) as api:
        block = {"type": "databricks", "url": api.base_url, "token": {"env": "SAMPLE_TOKEN"}, "api_version": "2.2"}

        # When the adapter pulls
        pulled = adapter(block).pull({}, now)

    # Then both pages and the active listing were read, and each run becomes exactly this record
    assert [(q.get("page_token"), q.get("active_only")) for _, q in asked(api)] == [
        (None, None),
        ("CAEomPuciYcxMKbM9JvMlwU=", None),
        (None, "true"),
    ]
    job = "A multitask job run"
    url = "https://my-workspace.cloud.databricks.com/#job/11223344/run/"
    message = (
        "Library installation failed for library due to user error.Error messages: "
        "'Manage'permissions are required to install libraries on a cluster"
    )
    assert pulled.executions == [
        Execution(job, "455644833", Status.SUCCESS, 1625060863413, 0, url + "123", source="databricks"),
        Execution(
            job,
            "455644830",
            Status.FAILED,
            1625050600000,
            0,
            url + "120",
            reason=f"RUN_EXECUTION_ERROR: {message}",
            source="databricks",
        ),
        Execution(
            job,
            "455644830",
            Status.FAILED,
            1625051000000,
            1,
            url + "121",
            reason="INTERNAL_ERROR: Cluster was terminated unexpectedly",
            source="databricks",
        ),
        Execution(job, "455644832", Status.SUCCESS, 1625055900000, 1000, url + "122", source="databricks"),
    ]
    assert pulled.cursor == {"since": now}


def test_gitlab_sample_pages_become_these_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given GitLab's pipelines example over two offset pages, and the pipeline jobs example over two more
    base = "/api/v4/projects/1/pipelines"
    pages = [
        Page(base, {"page": None}, s.GITLAB_PIPELINES_PAGE_1, {"X-Page": "1", "X-Next-Page": "2"}),
        Page(base, {"page": "2"}, s.GITLAB_PIPELINES_PAGE_2, {"X-Page": "2", "X-Next-Page": ""}),
        Page(f"{base}/47/jobs", {}, s.GITLAB_JOBS_47, {"X-Page": "1", "X-Next-Page": ""}),
        Page(f"{base}/6/jobs", {"page": None}, s.GITLAB_JOBS_6_PAGE_1, {"X-Page": "1", "X-Next-Page": "2"}),
        Page(f"{base}/6/jobs", {"page": "2"}, s.GITLAB_JOBS_6_PAGE_2, {"X-Page": "2", "X-Next-Page": ""}),
    ]
    now = ms("2016-08-12T11:00:00Z")
    with replay(monkeypatch, "private-token", TOKEN, pages) as api:
        block = {"type": "gitlab", "url": api.base_url, "token": {"env": "SAMPLE_TOKEN"}, "project": 1}

        # When the adapter pulls
        pulled = adapter(block).pull({}, now)

    # Then every page was read, retried jobs included, and each job becomes exactly this record
    assert [(p, q.get("page")) for p, q in asked(api)] == [
        (base, None),
        (base, "2"),
        (f"{base}/47/jobs", None),
        (f"{base}/6/jobs", None),
        (f"{base}/6/jobs", "2"),
    ]
    assert all(q["include_retried"] == "true" for p, q in asked(api) if p.endswith("/jobs"))
    sha = "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd"
    assert pulled.executions == [
        Execution(
            "teaspoon",
            "6",
            Status.FAILED,
            ms("2015-12-24T17:54:27.895Z"),
            7,
            "https://example.com/foo/bar/-/jobs/7",
            sha,
            "script_failure",
            source="gitlab",
        ),
        Execution(
            "rspec:other",
            "6",
            Status.TIMED_OUT,
            ms("2015-12-24T17:54:24.921Z"),
            6,
            "https://example.com/foo/bar/-/jobs/6",
            sha,
            "stuck_or_timeout_failure",
            source="gitlab",
        ),
    ]
    assert pulled.cursor == {"since": now}


def test_github_sample_pages_become_these_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given GitHub's workflow runs example (a queued run) and a completed run on the next page (Link), with the
    # jobs example for it
    runs = "/repos/octo-org/octo-repo/actions/runs"
    link = {"Link": f'<{{base}}{runs}?page=2&per_page=100>; rel="next"'}
    pages = [
        Page(runs, {"page": None}, s.GITHUB_RUNS_PAGE_1, link),
        Page(runs, {"page": "2"}, s.GITHUB_RUNS_PAGE_2),
        Page(f"{runs}/29679449/jobs", {"filter": "latest"}, s.GITHUB_JOBS_29679449),
    ]
    now = ms("2020-01-22T20:00:00Z")
    with replay(monkeypatch, "authorization", f"Bearer {TOKEN}", pages) as api:
        block = {"type": "github", "url": api.base_url, "token": {"env": "SAMPLE_TOKEN"}, "repo": "octo-org/octo-repo"}

        # When the adapter pulls
        pulled = adapter(block).pull({}, now)

    # Then the queued run holds the cursor, and the completed run gives its job's record and its workflow's
    assert [p for p, _ in asked(api)] == [runs, runs, f"{runs}/29679449/jobs"]
    sha = "f83a356604ae3c5d03e1b46ef4d1ca77d64a90b0"
    assert pulled.executions == [
        Execution(
            "CI / build",
            "29679449",
            Status.SUCCESS,
            ms("2020-01-20T17:44:39Z"),
            1,
            "https://github.com/octo-org/octo-repo/runs/29679449/jobs/399444496",
            sha,
            source="github",
        ),
        Execution(
            "CI",
            "29679449",
            Status.SUCCESS,
            ms("2020-01-20T17:44:50Z"),
            1,
            "https://github.com/octo-org/octo-repo/actions/runs/29679449",
            sha,
            source="github",
        ),
    ]
    assert pulled.cursor == {"since": ms("2020-01-22T19:33:08Z")}


def test_dataiku_sample_jobs_become_these_records(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the job list of the Dataiku docs' example (an aborted job) with a failed and a running job beside it
    path = "/public/api/projects/IMPALA/jobs/"
    auth = "Basic " + base64.b64encode(f"{TOKEN}:".encode()).decode()
    now = 1443434500000
    with replay(monkeypatch, "authorization", auth, [Page(path, {"limit": "100"}, s.DATAIKU_JOBS)]) as api:
        block = {"type": "dataiku", "url": api.base_url, "api_key": {"env": "SAMPLE_TOKEN"}, "projects": ["IMPALA"]}

        # When the adapter pulls
        pulled = adapter(block).pull({}, now)

    # Then one request with a limit was enough, the stable jobs become these records, the running one holds the cursor
    assert [p for p, _ in asked(api)] == [path]
    failed_id = "build_cat_train_hdfs_NP_2015-09-28T09-40-00.000"
    aborted_id = "build_cat_train_hdfs_NP_2015-09-28T09-17-37.455"
    assert pulled.executions == [
        Execution(
            "IMPALA/build_cat_train_hdfs_NP",
            failed_id,
            Status.FAILED,
            1443433260000,
            0,
            f"{api.base_url}/projects/IMPALA/jobs/{failed_id}/",
            reason="FAILED",
            source="dataiku",
        ),
        Execution(
            "IMPALA/build_cat_train_hdfs_NP",
            aborted_id,
            Status.CANCELED,
            1443431857455,
            0,
            f"{api.base_url}/projects/IMPALA/jobs/{aborted_id}/",
            reason="ABORTED",
            source="dataiku",
        ),
    ]
    assert pulled.cursor == {"since": 1443434462100}
