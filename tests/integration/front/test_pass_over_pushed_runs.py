"""What the front writes, counted by a pass: each run once, however many ways and times it arrived."""

from __future__ import annotations

import uuid

import pytest

from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import run_pass
from tests.integration.front import frontkit
from tests.integration.front.frontkit import call, front, front_config, github_event, gitlab_event, ingest_event
from tests.integration.front.samples import GITHUB_WORKFLOW_JOB_FAILED, GITHUB_WORKFLOW_RUN_COMPLETED, gitlab_job
from tests.integration.s3 import passkit
from tests.integration.s3.backends import S3

pytestmark = pytest.mark.integration

# Both platforms name a job `test` in their published examples: the prefixes keep them apart, as a team mixing
# platforms would.
HTTP = frontkit.HTTP + "  github_job_prefix: gh/\n  gitlab_job_prefix: gl/\n"


def test_a_pass_counts_each_pushed_run_exactly_once(moto_s3: S3) -> None:
    # Given one GitHub job run delivered by its webhook, replayed (refused), delivered again under another
    # delivery id (a second hook on the repository), and reported by `failstreak report` through /ingest
    f = front(moto_s3, HTTP)
    delivery = str(uuid.uuid4())
    assert call(f, github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job", delivery=delivery))[0] == 202
    assert call(f, github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job", delivery=delivery))[0] == 401
    assert call(f, github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job"))[0] == 202
    reported = (
        b'{"job": "gh/CodeQL / linters", "run_id": "2202229078", "attempt": 1, "status": "failed",'
        b' "finished_at": "2021-08-05T10:38:16Z", "source": "github"}\n'
    )
    assert call(f, ingest_event(reported))[0] == 202
    # And the workflow's own run, and a GitLab job that failed then passed on retry (a new job id, same pipeline)
    assert call(f, github_event(GITHUB_WORKFLOW_RUN_COMPLETED, "workflow_run"))[0] == 202
    assert call(f, gitlab_event(gitlab_job()))[0] == 202
    retried = gitlab_job(build_id=1978, build_status="success", build_failure_reason=None, retries_count=3)
    retried["build_finished_at_iso"] = "2021-02-23T02:55:00Z"
    assert call(f, gitlab_event(retried))[0] == 202
    assert len(moto_s3.keys("fs/inbox/")) == 6

    # When a pass reads the inbox
    cfg = front_config(moto_s3, HTTP)
    summary = run_pass(pass_settings(cfg), passkit.ports(cfg, passkit.Recorder(), passkit.Clock())).to_dict()

    # Then every object was read, and each run counted once: the GitHub job's three copies as one failure (two
    # duplicates), the GitLab job's retry replacing its failed try (superseded)
    assert (summary["files"], summary["rejected"]) == (6, 0)
    assert (summary["ingested"], summary["duplicates"], summary["superseded"]) == (3, 2, 1)
    jobs = passkit.counters(moto_s3)
    assert {name: (j["total_runs"], j["total_failures"], j["runs"]) for name, j in jobs.items()} == {
        "gh/CodeQL / linters": (1, 1, [("2202229078", 1, "failed")]),
        "gh/test": (1, 0, [("289782451", 1, "success")]),
        "gl/test": (1, 0, [("2366", 1978, "success")]),
    }
