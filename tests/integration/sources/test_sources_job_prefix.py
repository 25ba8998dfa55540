"""`job_prefix` (docs/sources.md): two GitLab projects with a job of the same name stay two jobs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from failstreak.app import wiring
from failstreak.app.config import parse_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import now_ms
from failstreak.pipeline.run import run_pass
from failstreak.state.codec import decode
from tests.integration.platform_servers import FakeGitLab, gitlab_job, gitlab_pipeline, serve

pytestmark = pytest.mark.integration

NOW = now_ms()
MIN = 60_000


@pytest.fixture
def projects(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeGitLab, FakeGitLab]]:
    monkeypatch.setenv("GL", "glpat-1")
    with ExitStack() as stack:
        yield (
            stack.enter_context(serve(FakeGitLab("glpat-1", "billing/api"))),
            stack.enter_context(serve(FakeGitLab("glpat-1", "web/app"))),
        )


def test_job_prefix_keeps_same_named_jobs_of_two_projects_apart(
    tmp_path: Path, projects: tuple[FakeGitLab, FakeGitLab]
) -> None:
    # Given two GitLab projects that each have a job called "test": billing's fails three times, web's passes
    billing, web = projects
    for n in range(3):
        pipe = gitlab_pipeline(100 + n, "main", "failed", updated=NOW - (10 - n) * MIN)
        billing.add(pipe, gitlab_job(500 + n, pipe, "test", "failed", finished=NOW - (10 - n) * MIN))
        pipe = gitlab_pipeline(200 + n, "main", "success", updated=NOW - (10 - n) * MIN)
        web.add(pipe, gitlab_job(600 + n, pipe, "test", "success", finished=NOW - (10 - n) * MIN))
    fast = "token: {env: GL}, ref: main, max_retries: 1, backoff_seconds: 0.01"
    cfg = parse_config(
        f"""
state: {tmp_path}/state.json
inbox: null
notify: {{console: false}}
sources:
  - {{type: gitlab, name: billing, url: "{billing.base_url}", project: billing/api, job_prefix: "billing/", {fast}}}
  - {{type: gitlab, name: web, url: "{web.base_url}", project: web/app, job_prefix: "web/", {fast}}}
"""
    )

    # When a pass pulls both
    ports = wiring.ports(cfg)
    ports.clock = lambda: NOW
    summary = run_pass(pass_settings(cfg), ports)

    # Then they are two jobs, each with its own project's runs: billing/test alerts, web/test is healthy
    jobs = decode((tmp_path / "state.json").read_bytes()).jobs
    assert sorted(jobs) == ["billing/test", "web/test"]
    assert (jobs["billing/test"].total_failures, jobs["billing/test"].alert is not None) == (3, True)
    assert (jobs["web/test"].total_failures, jobs["web/test"].total_runs) == (0, 3)
    assert [(n.job, n.event.value) for n in summary.notifications] == [("billing/test", "triggered")]
