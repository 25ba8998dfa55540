"""Webhook payloads as the platforms publish them, and Function URL events as Lambda delivers them.

Each payload keeps the published example's fields that the front reads, with their values, and enough of the rest
to be recognisable; what was changed is said beside it.
"""

from __future__ import annotations

import base64
import copy
import time
from typing import Any

# octokit/webhooks, payload-examples/api.github.com/workflow_job/completed.failure.with-organization.payload.json
# (https://github.com/octokit/webhooks). `run_attempt` and `workflow_name` come from its sibling
# completed.success.with-organization.payload.json, which carries them (the failure example predates them).
GITHUB_WORKFLOW_JOB_FAILED: dict[str, Any] = {
    "action": "completed",
    "workflow_job": {
        "id": 289782451,
        "run_id": 2202229078,
        "run_url": "https://api.github.com/repos/octo-org/octo-repo/actions/runs/1291536064",
        "run_attempt": 1,
        "node_id": "MDExOldvcmtmbG93UnVuMjg5NzgyNDUx",
        "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "url": "https://api.github.com/repos/octo-org/octo-repo/actions/jobs/1291536064",
        "html_url": "https://github.com/octo-org/octo-repo/runs/1291536064",
        "status": "completed",
        "conclusion": "failure",
        "started_at": "2021-08-05T10:34:58Z",
        "completed_at": "2021-08-05T10:38:16Z",
        "name": "linters",
        "workflow_name": "CodeQL",
        "steps": [
            {
                "name": "Set up job",
                "status": "completed",
                "conclusion": "success",
                "number": 1,
                "started_at": "2021-08-05T10:26:08.000Z",
                "completed_at": "2021-08-05T10:26:11.000Z",
            },
            {
                "name": "Run yarn run js-lint",
                "status": "completed",
                "conclusion": "success",
                "number": 7,
                "started_at": "2021-08-05T10:26:25.000Z",
                "completed_at": "2021-08-05T10:26:27.000Z",
            },
            {
                "name": "Run yarn run format-check",
                "status": "completed",
                "conclusion": "failure",
                "number": 8,
                "started_at": "2021-08-05T10:26:27.000Z",
                "completed_at": "2021-08-05T10:26:28.000Z",
            },
            {
                "name": "Complete job",
                "status": "completed",
                "conclusion": "success",
                "number": 17,
                "started_at": "2021-08-05T10:26:28.000Z",
                "completed_at": "2021-08-05T10:26:28.000Z",
            },
        ],
        "check_run_url": "https://api.github.com/repos/octo-org/octo-repo/check-runs/1291536064",
        "labels": ["ubuntu-latest"],
        "runner_id": 5,
        "runner_name": "GitHub Actions 5",
        "runner_group_id": 2,
        "runner_group_name": "GitHub Actions",
    },
    "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World", "private": False},
    "organization": {"login": "Octocoders", "id": 38302899},
    "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
}

# octokit/webhooks, payload-examples/api.github.com/workflow_run/completed.payload.json: its run's `name` is empty,
# the workflow's name is in `workflow`.
GITHUB_WORKFLOW_RUN_COMPLETED: dict[str, Any] = {
    "action": "completed",
    "workflow_run": {
        "id": 289782451,
        "name": "",
        "head_branch": "master",
        "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
        "display_title": "ci(action): update actions/setup-node digest to 8c91899",
        "run_number": 163,
        "run_attempt": 1,
        "event": "repository_dispatch",
        "status": "completed",
        "conclusion": "success",
        "workflow_id": 2823525,
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/289782451",
        "created_at": "2020-10-05T16:33:24Z",
        "updated_at": "2020-10-05T16:33:49Z",
        "path": ".github/workflows/test.yml",
    },
    "workflow": {"id": 2823525, "name": "test", "path": ".github/workflows/test.yml"},
    "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World"},
    "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
}

# GitLab's webhook documentation, "Job events" (doc/user/project/integrations/webhook_events.md,
# https://docs.gitlab.com/user/project/integrations/webhook_events/#job-events). The published example is a job
# just `created`; here it has failed: `build_status` failed, and its `build_finished_at` (and `_iso`) set.
GITLAB_JOB_HOOK_FAILED: dict[str, Any] = {
    "object_kind": "build",
    "ref": "gitlab-script-trigger",
    "tag": False,
    "before_sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
    "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
    "retries_count": 2,
    "build_id": 1977,
    "build_name": "test",
    "build_stage": "test",
    "build_status": "failed",
    "build_created_at": "2021-02-23T02:41:37.886Z",
    "build_started_at": "2021-02-23T02:41:38.886Z",
    "build_finished_at": "2021-02-23T02:45:37.886Z",
    "build_created_at_iso": "2021-02-23T02:41:37Z",
    "build_started_at_iso": "2021-02-23T02:41:38Z",
    "build_finished_at_iso": "2021-02-23T02:45:37Z",
    "build_duration": 239.0,
    "build_queued_duration": 1095.588715,
    "build_allow_failure": False,
    "build_failure_reason": "script_failure",
    "pipeline_id": 2366,
    "runner": {
        "id": 380987,
        "description": "shared-runners-manager-6.gitlab.com",
        "runner_type": "project_type",
        "active": True,
        "is_shared": False,
        "tags": ["linux", "docker"],
    },
    "project_id": 380,
    "project_name": "gitlab-org/gitlab-test",
    "user": {"id": 3, "name": "User", "username": "user", "email": "user@gitlab.com"},
    "commit": {
        "id": 2366,
        "name": "Build pipeline",
        "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f",
        "message": "test\n",
        "author_name": "User",
        "author_email": "user@gitlab.com",
        "status": "failed",
    },
    "repository": {
        "name": "gitlab_test",
        "url": "http://192.168.64.1:3005/gitlab-org/gitlab-test",
        "homepage": "http://192.168.64.1:3005/gitlab-org/gitlab-test",
    },
    "project": {
        "id": 380,
        "name": "Gitlab Test",
        "web_url": "http://192.168.64.1:3005/gitlab-org/gitlab-test",
        "path_with_namespace": "gitlab-org/gitlab-test",
        "default_branch": "master",
    },
    "environment": None,
}


def gitlab_job(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(GITLAB_JOB_HOOK_FAILED)
    payload.update(changes)
    return payload


def url_event(
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
    base64_body: bool = False,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda Function URL event (payload format 2.0), shaped as aws/aws-lambda-go's
    events/testdata/lambda-urls-request.json and https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html:
    header names lower-cased, a text body as is, a binary one base64-encoded."""
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {
            "x-amzn-tls-version": "TLSv1.3",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "host": "abcdefghij.lambda-url.us-east-1.on.aws",
            "content-length": str(len(body)),
            **{k.lower(): v for k, v in headers.items()},
        },
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": headers.get("user-agent", "test"),
            },
            "requestId": "7e3a5bbc-1f2c-4a0b-9d3e-6f5e4c3b2a10",
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }
