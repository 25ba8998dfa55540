"""`POST /ingest/github`: GitHub's `workflow_job` and `workflow_run` webhooks (docs/http.md, "GitHub").

Signed with the webhook's secret (`X-Hub-Signature-256`); each delivery id (`X-GitHub-Delivery`) is accepted once.
Events are mapped by the github source's own functions (sources/github.py), so a job has the same key, run id and
attempt whether its runs are polled, reported or pushed:

- `workflow_job` completed: job `<workflow> / <job>`, run id the workflow run's id, attempt the run attempt.
- `workflow_run` completed: the workflow's own record, job `<workflow>`. The payload does not list the run's jobs,
  so it is read by its conclusion: `startup_failure` (no job started) is a failure; `success`, `failure` and
  `timed_out` mean jobs ran, so the workflow started (a success, as the poll records a run with jobs); the
  other conclusions (cancelled, skipped...) keep their ignored status, which a later poll of the run may replace.

Other events (including `ping`) and unfinished ones are answered 204 and write nothing. `github_job_prefix` may
hold `{repo}`, replaced by the repository's `owner/name`, so one organization webhook keeps its repositories'
jobs apart (give each repository's source the same prefix, written out).
"""

from __future__ import annotations

from typing import Any

from failstreak.core.model import Execution
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response
from failstreak.front.payload import inbox_file, json_object, mapped
from failstreak.front.signing import check_github
from failstreak.sources.github import job_execution, workflow_execution

ROUTE = "/ingest/github"
SOURCE = "github"
JOBS_RAN = frozenset({"success", "failure", "timed_out"})


def _job_event(payload: dict[str, Any], key: Any) -> Execution | None:
    job = payload.get("workflow_job")
    if not isinstance(job, dict) or "run_id" not in job:
        raise HttpError(400, "workflow_job: no workflow_job.run_id in the payload")
    # The job carries its run's identity: the run id, the attempt, the workflow's name and commit.
    run = {
        "id": job["run_id"],
        "run_attempt": job.get("run_attempt"),
        "name": job.get("workflow_name"),
        "head_sha": job.get("head_sha"),
    }
    return job_execution(run, job, key=key, source=SOURCE)


def _run_event(payload: dict[str, Any], key: Any) -> Execution | None:
    run = payload.get("workflow_run")
    if not isinstance(run, dict) or "id" not in run:
        raise HttpError(400, "workflow_run: no workflow_run.id in the payload")
    if run.get("status") != "completed":
        return None
    workflow = payload.get("workflow")
    if not run.get("name") and isinstance(workflow, dict):
        run = {**run, "name": workflow.get("name")}
    ran = str(run.get("conclusion") or "").lower() in JOBS_RAN
    return workflow_execution(run, has_jobs=ran, key=key, source=SOURCE)


def handle(request: Request, front: Front) -> Response:
    secret = front.secret(front.http.github_secret, ROUTE)
    check_github(secret, request.header("x-hub-signature-256"), request.body)
    event = request.header("x-github-event")
    delivery = request.header("x-github-delivery")
    if delivery is None:
        raise HttpError(400, "missing X-GitHub-Delivery")
    if event not in ("workflow_job", "workflow_run"):
        return Response(204)
    payload = json_object(request.body)
    if payload.get("action") != "completed":
        return Response(204)
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    prefix = front.http.github_job_prefix.replace("{repo}", str(full_name or "unknown-repo"))

    def key(name: str) -> str:
        return prefix + name

    try:
        ex = _job_event(payload, key) if event == "workflow_job" else _run_event(payload, key)
    except (KeyError, TypeError, ValueError) as e:
        raise mapped(event, e) from None
    if ex is None:
        return Response(204)
    name, body = inbox_file([ex])
    front.write_claimed("github", delivery, name, body)
    return Response(202, {"accepted": 1})
