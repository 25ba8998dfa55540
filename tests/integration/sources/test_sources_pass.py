"""Whole monitor passes over all four platforms at once, through the production wiring and a local store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from failstreak.app import wiring
from failstreak.app.config import Config, parse_config
from failstreak.app.report import build_record, write_record
from failstreak.app.wiring import pass_settings
from failstreak.core.model import State, Status, now_ms
from failstreak.pipeline.run import run_pass
from failstreak.pipeline.summary import Summary
from failstreak.state.codec import decode
from failstreak.state.local import LocalStateStore
from tests.integration.platform_servers import (
    FakeDatabricks,
    FakeDataiku,
    FakeGitHub,
    FakeGitLab,
    databricks_run,
    dataiku_job,
    github_job,
    github_run,
    gitlab_job,
    gitlab_pipeline,
    iso,
    serve,
)

pytestmark = pytest.mark.integration

NOW = now_ms()
MIN = 60_000


@dataclass
class Platforms:
    dbx: FakeDatabricks
    dku: FakeDataiku
    gl: FakeGitLab
    gh: FakeGitHub


@pytest.fixture
def platforms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Platforms]:
    for var, value in {"DBX": "dapi-1", "DKU": "dku-1", "GL": "glpat-1", "GH": "ghp-1"}.items():
        monkeypatch.setenv(var, value)
    with ExitStack() as stack:
        yield Platforms(
            stack.enter_context(serve(FakeDatabricks("dapi-1"))),
            stack.enter_context(serve(FakeDataiku("dku-1", {"SALES": []}))),
            stack.enter_context(serve(FakeGitLab("glpat-1", "group/app"))),
            stack.enter_context(serve(FakeGitHub("ghp-1", "octo/app"))),
        )


def config(tmp_path: Path, p: Platforms, extra: str = "") -> Config:
    fast = "max_retries: 1, backoff_seconds: 0.01, time_budget_seconds: 5"
    text = f"""
state: {tmp_path}/state.json
inbox: {tmp_path}/inbox/
notify: {{console: false}}
sources:
  - {{type: databricks, name: dbx, url: "{p.dbx.base_url}", token: {{env: DBX}}, {fast}}}
  - {{type: dataiku, name: dku, url: "{p.dku.base_url}", api_key: {{env: DKU}}, projects: [SALES], {fast}}}
  - {{type: gitlab, name: gl, url: "{p.gl.base_url}", token: {{env: GL}}, project: group/app, ref: main, {fast}}}
  - {{type: github, name: gh, url: "{p.gh.base_url}", token: {{env: GH}}, repo: octo/app, branch: main, {fast}}}
{extra}
"""
    return parse_config(text)


def run_at(cfg: Config, at: int) -> Summary:
    ports = wiring.ports(cfg)
    ports.clock = lambda: at
    return run_pass(pass_settings(cfg), ports)


def state_of(cfg: Config) -> State:
    store = LocalStateStore(cfg.state)
    return decode(store.load().data, store.location)


def add_runs(p: Platforms, batch: int, at: int) -> None:
    """One new run per platform job: a failing Databricks job, Dataiku build, GitLab job and GitHub job."""
    p.dbx.runs.append(databricks_run(100 + batch, "nightly-etl", "FAILED", start=at - 30 * MIN, end=at - 20 * MIN))
    p.dku.projects["SALES"].append(
        dataiku_job("SALES", "orders", "FAILED", started=at - 30 * MIN, ended=at - 25 * MIN, n=batch)
    )
    pipe = gitlab_pipeline(5000 + batch, "main", "failed", updated=at - 5 * MIN)
    p.gl.add(
        pipe, gitlab_job(9000 + batch, pipe, "unit", "failed", finished=at - 6 * MIN, failure_reason="script_failure")
    )
    run = github_run(7000 + batch, "CI", "main", created=at - 15 * MIN, updated=at - 4 * MIN, conclusion="failure")
    p.gh.add(run, github_job(8000 + batch, run, "build", "failure", completed=at - 4 * MIN))


JOBS = ("nightly-etl", "SALES/orders", "unit", "CI / build")


def test_a_source_answering_500_fails_alone_and_the_next_pass_catches_up_without_double_counting(
    tmp_path: Path, platforms: Platforms
) -> None:
    p = platforms
    cfg = config(tmp_path, p)

    # Given a first pass over four healthy platforms with one failed run each (and GitHub's workflow record)
    add_runs(p, 1, NOW)
    first = run_at(cfg, NOW)
    assert first.ingested == 5
    assert all(first.sources[n]["ok"] for n in ("dbx", "dku", "gl", "gh"))
    gl_cursor = state_of(cfg).cursors["gl"]

    # When a second failed run lands everywhere and GitLab answers 500 during the next pass
    add_runs(p, 2, NOW + 30 * MIN)
    p.gl.outage = True
    second = run_at(cfg, NOW + 30 * MIN)

    # Then the three healthy sources are counted, GitLab is reported and keeps its cursor, and the pass succeeds
    assert second.ingested == 4
    assert second.sources["gl"]["ok"] is False
    assert second.sources["gl"]["pulled"] == 0
    assert "HTTP 500" in second.sources["gl"]["error"]
    assert second.sources["gl"]["error"].startswith("gl: GET /api/v4/projects/group%2Fapp/pipelines")
    after_outage = state_of(cfg)
    assert after_outage.cursors["gl"] == gl_cursor
    assert after_outage.cursors["gh"] == {"since": NOW + 30 * MIN}
    assert after_outage.jobs["unit"].total_runs == 1

    # When GitLab is healthy again for the third pass
    p.gl.outage = False
    third = run_at(cfg, NOW + 40 * MIN)

    # Then GitLab's missed run is caught up, the overlap re-reads are duplicates, and every job counts two runs
    assert third.sources["gl"] == {"ok": True, "pulled": 2, "seconds": third.sources["gl"]["seconds"]}
    assert third.ingested == 1
    assert third.duplicates >= 5
    final = state_of(cfg)
    for job in JOBS:
        assert final.jobs[job].total_runs == 2, job
        assert final.jobs[job].total_failures == 2, job
        assert final.jobs[job].consecutive_failures == 2, job
    assert final.cursors["gl"] == {"since": NOW + 40 * MIN}
    assert final.jobs["unit"].source == "gl"


def test_a_pass_with_every_source_healthy_alerts_on_a_streak_from_the_platform(
    tmp_path: Path, platforms: Platforms
) -> None:
    # Given three failing GitHub runs of the same job over three passes (threshold 3 in a row)
    p = platforms
    cfg = config(tmp_path, p)
    summaries = []
    for batch in range(3):
        at = NOW + batch * 60 * MIN
        run = github_run(7100 + batch, "CI", "main", created=at - 15 * MIN, updated=at - 4 * MIN, conclusion="failure")
        p.gh.add(
            run, github_job(8100 + batch, run, "build", "failure", completed=at - 4 * MIN, failed_step="Run tests")
        )
        # When each pass runs
        summaries.append(run_at(cfg, at))

    # Then the third pass triggers, naming the consecutive threshold, with the platform's run as evidence
    [note] = summaries[2].notifications
    assert (note.job, note.event.value, note.reasons) == ("CI / build", "triggered", ("consecutive",))
    assert note.last_reason == "step 'Run tests': failure"
    assert note.recent[-1].url == "https://github.com/octo/app/actions/runs/7102/job/8102"


def test_job_key_rules_fold_matrix_variants_and_filter_across_sources_and_the_inbox(
    tmp_path: Path, platforms: Platforms
) -> None:
    p = platforms
    rules = r"""
job_keys:
  rewrite:
    - {pattern: '^(.+?) \(.*\)$', replace: '\1'}
    - {pattern: '^(.+?): \[.*\]$', replace: '\1'}
    - {pattern: '^(.+?) \d+/\d+$', replace: '\1'}
  exclude: ["*docs*"]
"""
    cfg = config(tmp_path, p, rules)

    # Given a GitHub matrix where one variant fails, GitLab parallel shards that all pass, a docs job,
    run = github_run(7200, "CI", "main", created=NOW - 15 * MIN, updated=NOW - 4 * MIN, conclusion="failure")
    p.gh.add(
        run,
        github_job(1, run, "test (ubuntu-latest, 3.11)", "success", completed=NOW - 9 * MIN),
        github_job(2, run, "test (macos-latest, 3.12)", "failure", completed=NOW - 5 * MIN, failed_step="pytest"),
        github_job(3, run, "docs", "failure", completed=NOW - 5 * MIN),
    )
    pipe = gitlab_pipeline(5300, "main", "success", updated=NOW - 5 * MIN)
    p.gl.add(pipe, *[gitlab_job(9300 + i, pipe, f"rspec {i}/3", "success", finished=NOW - 6 * MIN) for i in (1, 2, 3)])
    # and an inbox file with the matrix variants of a job written by a CI step
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [
        {"job": "build: [linux, 3]", "run_id": 55, "status": "success", "finished_at": NOW - 20 * MIN},
        {
            "job": "build: [windows, 3]",
            "run_id": 55,
            "status": "failed",
            "finished_at": NOW - 19 * MIN,
            "reason": "link error",
        },
        {"job": "publish-docs", "run_id": 55, "status": "failed", "finished_at": NOW - 19 * MIN},
    ]
    (inbox / "ci.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    # When a pass runs
    summary = run_at(cfg, NOW)

    # Then variants fold into one run per job, failing when any variant failed, and docs jobs are filtered out
    state = state_of(cfg)
    assert sorted(state.jobs) == ["CI", "CI / test", "build", "rspec"]
    assert state.jobs["CI"].runs[-1].status is Status.SUCCESS  # the workflow started
    assert state.jobs["CI / test"].runs[-1].status is Status.FAILED
    assert state.jobs["CI / test"].runs[-1].reason == "step 'pytest': failure"
    assert state.jobs["build"].runs[-1].status is Status.FAILED
    assert state.jobs["build"].runs[-1].reason == "link error"
    assert state.jobs["rspec"].runs[-1].status is Status.SUCCESS
    assert all(j.total_runs == 1 for j in state.jobs.values())
    assert summary.filtered == 2
    assert summary.duplicates == 0


def test_a_run_both_reported_by_its_ci_job_and_polled_counts_once(tmp_path: Path, platforms: Platforms) -> None:
    p = platforms
    cfg = config(tmp_path, p)
    # Given a GitLab job and a GitHub job that failed, each reported by `failstreak report` from its CI environment
    pipe = gitlab_pipeline(5400, "main", "failed", updated=NOW - 5 * MIN)
    p.gl.add(pipe, gitlab_job(9400, pipe, "unit", "failed", finished=NOW - 6 * MIN, failure_reason="script_failure"))
    run = github_run(7400, "CI", "main", created=NOW - 15 * MIN, updated=NOW - 4 * MIN, conclusion="failure")
    p.gh.add(run, github_job(8400, run, "build", "failure", completed=NOW - 4 * MIN))
    gitlab_env = {"GITLAB_CI": "true", "CI_PIPELINE_ID": "5400", "CI_JOB_ID": "9400"}
    github_env = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "7400", "GITHUB_RUN_ATTEMPT": "1"}
    (tmp_path / "inbox").mkdir()
    write_record(
        str(tmp_path / "inbox"),
        build_record("unit", "failed", finished_at=iso(NOW - 6 * MIN), env=gitlab_env),
    )
    write_record(
        str(tmp_path / "inbox"),
        build_record("CI / build", "failure", finished_at=iso(NOW - 4 * MIN), env=github_env),
    )

    # When a pass reads the inbox and polls both platforms
    summary = run_at(cfg, NOW)

    # Then each run counts once: the reported and the polled record share one identity (docs/sources.md)
    state = state_of(cfg)
    assert (state.jobs["unit"].total_runs, state.jobs["CI / build"].total_runs) == (1, 1)
    assert summary.duplicates == 2
