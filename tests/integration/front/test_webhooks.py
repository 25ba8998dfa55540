"""`POST /ingest/github` and `/ingest/gitlab` with the platforms' published payloads, signed as they sign them
(docs/http.md): one record per finished job, the platform's one run identity, each delivery accepted once."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from failstreak.app.config import resolve_secret, section_from
from failstreak.app.report import build_record
from failstreak.inbox.records import to_execution
from failstreak.sources.github import GitHubSource
from failstreak.sources.gitlab import GitLabSource
from failstreak.sources.settings import GitHubConfig, GitLabConfig
from tests.integration.front.frontkit import call, front, github_event, gitlab_event, inbox_records
from tests.integration.front.samples import (
    GITHUB_WORKFLOW_JOB_FAILED,
    GITHUB_WORKFLOW_RUN_COMPLETED,
    gitlab_job,
)
from tests.integration.s3.backends import S3

pytestmark = pytest.mark.integration


def test_a_failed_workflow_job_becomes_one_record_with_the_github_run_identity(moto_s3: S3) -> None:
    # Given GitHub's published `workflow_job` completed/failure payload, signed with the webhook secret
    # When it is delivered
    status, body = call(front(moto_s3), github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job"))
    # Then one record: job `workflow / job`, run id the workflow run's, attempt the run attempt, the failing step
    assert (status, body) == (202, {"accepted": 1})
    assert inbox_records(moto_s3) == [
        {
            "job": "CodeQL / linters",
            "run_id": "2202229078",
            "status": "failed",
            "finished_at": "2021-08-05T10:38:16Z",
            "attempt": 1,
            "url": "https://github.com/octo-org/octo-repo/runs/1291536064",
            "commit": "3484a3fb816e0859fd6e1cea078d76385ff50625",
            "reason": "step 'Run yarn run format-check': failure",
            "source": "github",
        }
    ]


def test_the_webhook_report_and_poll_give_a_github_job_the_same_identity(moto_s3: S3) -> None:
    # Given the same job run seen three ways: its webhook, the github source's poll of the API's job entity (the
    # webhook's `workflow_job` is that entity), and `failstreak report` run in the job with GitHub's variables
    call(front(moto_s3), github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job"))
    pushed = to_execution(inbox_records(moto_s3)[0])
    job = GITHUB_WORKFLOW_JOB_FAILED["workflow_job"]
    settings = section_from(GitHubConfig, {"type": "github", "token": {"env": "X"}, "repo": "o/r"})
    source = GitHubSource(settings, resolve_secret)
    polled = source.execution({"id": job["run_id"], "run_attempt": 1, "name": "CodeQL"}, job)
    env = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": str(job["run_id"]), "GITHUB_RUN_ATTEMPT": "1"}
    reported = to_execution(build_record("CodeQL / linters", "failed", finished_at="2021-08-05T10:38:16Z", env=env))
    # Then all three are the one run: same job, run id and attempt
    assert polled is not None
    identities = {(e.job, e.run_id, e.attempt) for e in (pushed, polled, reported)}
    assert identities == {("CodeQL / linters", "2202229078", 1)}


def test_a_completed_workflow_run_becomes_the_workflows_own_record(moto_s3: S3) -> None:
    # Given GitHub's published `workflow_run` completed payload (its run's name empty, the workflow's in `workflow`)
    # When delivered
    assert call(front(moto_s3), github_event(GITHUB_WORKFLOW_RUN_COMPLETED, "workflow_run"))[0] == 202
    # Then the workflow's record: its jobs ran, so the workflow started (a success), named after the workflow
    [record] = inbox_records(moto_s3)
    assert (record["job"], record["run_id"], record["attempt"], record["status"]) == ("test", "289782451", 1, "success")


def test_a_workflow_run_that_could_not_start_is_a_failure(moto_s3: S3) -> None:
    # Given a `workflow_run` whose conclusion is startup_failure (no job ever started)
    payload = copy.deepcopy(GITHUB_WORKFLOW_RUN_COMPLETED)
    payload["workflow_run"]["conclusion"] = "startup_failure"
    # When delivered; Then the workflow's record is a failure naming the conclusion
    call(front(moto_s3), github_event(payload, "workflow_run"))
    [record] = inbox_records(moto_s3)
    assert (record["job"], record["status"], record["reason"]) == ("test", "failed", "startup_failure")


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("ping", {"zen": "Design for failure.", "hook_id": 1}),
        ("push", {"ref": "refs/heads/main"}),
        ("workflow_job", {**GITHUB_WORKFLOW_JOB_FAILED, "action": "in_progress"}),
    ],
)
def test_other_and_unfinished_github_events_are_answered_204_and_write_nothing(
    moto_s3: S3, event: str, payload: dict[str, object]
) -> None:
    # Given a correctly signed event that carries no finished job; When delivered; Then 204, nothing written
    assert call(front(moto_s3), github_event(payload, event))[0] == 204
    assert moto_s3.keys("fs/") == []


def test_a_github_delivery_with_a_wrong_signature_is_refused(moto_s3: S3) -> None:
    # Given the payload signed with another secret; When delivered; Then 401 and nothing written
    event = github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job", secret="other")
    assert call(front(moto_s3), event) == (401, {"error": "wrong signature"})
    assert moto_s3.keys("fs/") == []


def test_a_github_delivery_without_its_signature_header_is_refused(moto_s3: S3) -> None:
    # Given a delivery without X-Hub-Signature-256 (a webhook with no secret set); Then 401, nothing written
    event = github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job")
    del event["headers"]["x-hub-signature-256"]
    assert call(front(moto_s3), event) == (401, {"error": "missing X-Hub-Signature-256"})
    assert moto_s3.keys("fs/") == []


def test_a_replayed_github_delivery_id_is_refused(moto_s3: S3) -> None:
    # Given a delivery accepted once
    delivery = str(uuid.uuid4())
    assert call(front(moto_s3), github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job", delivery=delivery))[0] == 202
    # When a request with the same delivery id arrives again (even re-signed: GitHub's redelivery keeps the id)
    status, body = call(front(moto_s3), github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job", delivery=delivery))
    # Then 401, and the inbox holds one object
    assert status == 401
    assert body is not None
    assert "replayed" in body["error"]
    assert len(moto_s3.keys("fs/inbox/")) == 1


def test_a_github_payload_without_its_job_is_refused_with_a_reason(moto_s3: S3) -> None:
    # Given a signed workflow_job event that lacks workflow_job
    status, body = call(front(moto_s3), github_event({"action": "completed"}, "workflow_job"))
    # Then 400 naming what is missing, nothing written
    assert (status, body) == (400, {"error": "workflow_job: no workflow_job.run_id in the payload"})
    assert moto_s3.keys("fs/") == []


def test_a_github_job_prefix_in_the_config_prefixes_the_job_key(moto_s3: S3) -> None:
    # Given a front configured with the same job prefix as the github source
    f = front(moto_s3, "http: {github_secret: {env: FS_TEST_GITHUB_SECRET}, github_job_prefix: 'gh/'}")
    # When the job event arrives; Then its key carries the prefix, as the source's would
    call(f, github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job"))
    assert inbox_records(moto_s3)[0]["job"] == "gh/CodeQL / linters"


def test_a_failed_gitlab_job_becomes_one_record_with_the_gitlab_run_identity(moto_s3: S3) -> None:
    # Given GitLab's published Job Hook, for a job that failed, with the webhook's secret token
    # When delivered
    status, body = call(front(moto_s3), gitlab_event(gitlab_job()))
    # Then one record: job the job's name, run id the pipeline id, attempt the job id; commit the sha (the
    # payload's commit.id is the pipeline's id), link the job's page
    assert (status, body) == (202, {"accepted": 1})
    assert inbox_records(moto_s3) == [
        {
            "job": "test",
            "run_id": "2366",
            "status": "failed",
            "finished_at": "2021-02-23T02:45:37Z",
            "attempt": 1977,
            "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977",
            "commit": "2293ada6b400935a1378653304eaf6221e0fdb8f",
            "reason": "script_failure",
            "source": "gitlab",
        }
    ]


def test_the_webhook_report_and_poll_give_a_gitlab_job_the_same_identity(moto_s3: S3) -> None:
    # Given one GitLab job seen as its Job Hook, as the API's job entity polled by the gitlab source, and as
    # `failstreak report` run in the job with GitLab's CI variables
    call(front(moto_s3), gitlab_event(gitlab_job()))
    pushed = to_execution(inbox_records(moto_s3)[0])
    settings = section_from(GitLabConfig, {"type": "gitlab", "token": {"env": "X"}, "project": 380})
    source = GitLabSource(settings, resolve_secret)
    [polled] = source.executions(
        {"id": 2366, "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f"},
        [{"id": 1977, "name": "test", "status": "failed", "finished_at": "2021-02-23T02:45:37Z"}],
    )
    env = {"GITLAB_CI": "true", "CI_PIPELINE_ID": "2366", "CI_JOB_ID": "1977"}
    reported = to_execution(build_record("test", "failed", finished_at="2021-02-23T02:45:37Z", env=env))
    # Then all three are the one run
    assert {(e.job, e.run_id, e.attempt) for e in (pushed, polled, reported)} == {("test", "2366", 1977)}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"build_allow_failure": True}, ("succeeded_with_failures", "allowed to fail: script_failure")),
        ({"build_failure_reason": "job_execution_timeout"}, ("timed_out", "job_execution_timeout")),
        ({"build_status": "success", "build_failure_reason": None}, ("success", None)),
    ],
)
def test_gitlab_job_outcomes_map_as_the_source_maps_them(
    moto_s3: S3, changes: dict[str, object], expected: tuple[str, str | None]
) -> None:
    # Given a Job Hook for an allowed failure, a timeout, a success; When delivered
    call(front(moto_s3), gitlab_event(gitlab_job(**changes)))
    # Then each record's status and reason are the gitlab source's (docs/sources.md)
    [record] = inbox_records(moto_s3)
    assert (record["status"], record.get("reason")) == expected


def test_older_gitlab_time_formats_are_read(moto_s3: S3) -> None:
    # Given a Job Hook from a GitLab that writes `YYYY-MM-DD hh:mm:ss UTC` and no `_iso` fields
    payload = gitlab_job(build_finished_at="2021-02-23 02:45:37 UTC")
    del payload["build_finished_at_iso"]
    # When delivered; Then the record's time is that instant
    call(front(moto_s3), gitlab_event(payload))
    assert inbox_records(moto_s3)[0]["finished_at"] == "2021-02-23T02:45:37Z"


@pytest.mark.parametrize("status", ["created", "pending", "running"])
def test_unfinished_gitlab_jobs_and_other_events_write_nothing(moto_s3: S3, status: str) -> None:
    # Given a Job Hook of a job not finished, and a Pipeline Hook; When delivered; Then 204, nothing written
    assert call(front(moto_s3), gitlab_event(gitlab_job(build_status=status)))[0] == 204
    assert call(front(moto_s3), gitlab_event({"object_kind": "pipeline"}, event="Pipeline Hook"))[0] == 204
    assert moto_s3.keys("fs/") == []


def test_a_wrong_or_missing_gitlab_token_is_refused(moto_s3: S3) -> None:
    # Given a Job Hook with another token, and one with none
    wrong = gitlab_event(gitlab_job(), token="other")
    missing = gitlab_event(gitlab_job())
    del missing["headers"]["x-gitlab-token"]
    # When delivered; Then both 401, nothing written
    assert call(front(moto_s3), wrong) == (401, {"error": "wrong token"})
    assert call(front(moto_s3), missing) == (401, {"error": "missing X-Gitlab-Token"})
    assert moto_s3.keys("fs/") == []


def test_a_replayed_gitlab_idempotency_key_is_refused(moto_s3: S3) -> None:
    # Given a Job Hook accepted once; When GitLab retries it with the same Idempotency-Key
    key = str(uuid.uuid4())
    assert call(front(moto_s3), gitlab_event(gitlab_job(), key=key))[0] == 202
    status, _ = call(front(moto_s3), gitlab_event(gitlab_job(), key=key))
    # Then 401, one inbox object
    assert status == 401
    assert len(moto_s3.keys("fs/inbox/")) == 1


def test_a_gitlab_event_without_any_id_is_refused_with_a_reason(moto_s3: S3) -> None:
    # Given a Job Hook without Idempotency-Key or X-Gitlab-Event-UUID
    event = gitlab_event(gitlab_job())
    del event["headers"]["idempotency-key"]
    del event["headers"]["x-gitlab-event-uuid"]
    # Then 400 and nothing written
    assert call(front(moto_s3), event) == (400, {"error": "missing Idempotency-Key (or X-Gitlab-Event-UUID)"})
    assert moto_s3.keys("fs/") == []


def test_a_gitlab_payload_missing_its_job_is_refused_with_a_reason(moto_s3: S3) -> None:
    # Given a signed Job Hook without build_name; Then 400 naming the fields
    status, body = call(front(moto_s3), gitlab_event({"object_kind": "build", "build_id": 1}))
    assert status == 400
    assert body is not None
    assert "build_name" in body["error"]
    assert json.dumps(body).count("gitlab-token") == 0


def test_an_organization_webhook_keeps_repositories_apart_with_the_repo_placeholder(moto_s3: S3) -> None:
    # Given a front whose github prefix names the repository, and the same job event from two repositories
    f = front(moto_s3, "http: {github_secret: {env: FS_TEST_GITHUB_SECRET}, github_job_prefix: '{repo}/'}")
    other = copy.deepcopy(GITHUB_WORKFLOW_JOB_FAILED)
    other["repository"]["full_name"] = "Codertocat/Other"
    # When both are delivered
    call(f, github_event(GITHUB_WORKFLOW_JOB_FAILED, "workflow_job"))
    call(f, github_event(other, "workflow_job"))
    # Then each job key starts with its repository
    assert sorted(r["job"] for r in inbox_records(moto_s3)) == [
        "Codertocat/Hello-World/CodeQL / linters",
        "Codertocat/Other/CodeQL / linters",
    ]


def test_a_group_webhook_keeps_projects_apart_with_the_project_placeholder(moto_s3: S3) -> None:
    # Given a front whose gitlab prefix names the project, and a Job Hook of the published example's project
    f = front(moto_s3, "http: {gitlab_token: {env: FS_TEST_GITLAB_TOKEN}, gitlab_job_prefix: '{project}/'}")
    # When delivered; Then the job key starts with the project's path
    call(f, gitlab_event(gitlab_job()))
    assert [r["job"] for r in inbox_records(moto_s3)] == ["gitlab-org/gitlab-test/test"]
