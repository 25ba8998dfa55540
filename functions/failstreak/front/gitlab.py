"""`POST /ingest/gitlab`: GitLab's Job Hook (docs/http.md, "GitLab").

Authenticated by the webhook's secret token (`X-Gitlab-Token`, compared in constant time); each event is accepted
once, by its `Idempotency-Key` (the same on GitLab's retries of one event) or, from a GitLab that sends none, its
`X-Gitlab-Event-UUID`. The event is read into the shape of the API's job entity and mapped by the gitlab source's
own function (sources/gitlab.py), so a job has the same identity however its runs arrive: job the job's name, run
id the pipeline id, attempt the job id (a retry is a new job id, which replaces the earlier try).

Payload: https://docs.gitlab.com/user/project/integrations/webhook_events/#job-events. Its `commit.id` is the
pipeline's id, not a commit: the commit is `sha`. Unfinished jobs and other events are answered 204.
`gitlab_job_prefix` may hold `{project}`, replaced by the project's path (`group/project`), so one group webhook
keeps its projects' jobs apart (give each project's source the same prefix, written out).
"""

from __future__ import annotations

import re
from typing import Any

from failstreak.core.model import Execution
from failstreak.front.context import Front
from failstreak.front.http import HttpError, Request, Response
from failstreak.front.payload import inbox_file, json_object, mapped
from failstreak.front.signing import check_gitlab
from failstreak.sources.gitlab import job_execution

ROUTE = "/ingest/gitlab"
SOURCE = "gitlab"
EVENT = "Job Hook"
# Older GitLab writes `2021-02-23 02:41:37 UTC` or `2016-06-23 10:54:06 +0300` where newer ones add `*_iso` fields.
_SPACED = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ?(UTC|[+-]\d\d:?\d\d)$")


def _time(payload: dict[str, Any], name: str) -> Any:
    value = payload.get(f"{name}_iso") or payload.get(name)
    if isinstance(value, str):
        spaced = _SPACED.match(value.strip())
        if spaced:
            day, clock, zone = spaced.groups()
            if zone == "UTC":
                zone = "+00:00"
            elif ":" not in zone:
                zone = f"{zone[:3]}:{zone[3:]}"
            return f"{day}T{clock}{zone}"
    return value


def _execution(payload: dict[str, Any], key: Any) -> Execution | None:
    if not isinstance(payload.get("build_name"), str) or "build_id" not in payload or "pipeline_id" not in payload:
        raise HttpError(400, "Job Hook: build_name, build_id or pipeline_id missing from the payload")
    project = payload.get("project") if isinstance(payload.get("project"), dict) else {}
    web_url = project.get("web_url") if isinstance(project, dict) else None
    job = {
        "status": payload.get("build_status"),
        "failure_reason": payload.get("build_failure_reason"),
        "allow_failure": payload.get("build_allow_failure"),
        "finished_at": _time(payload, "build_finished_at"),
        "created_at": _time(payload, "build_created_at"),
        "web_url": f"{web_url}/-/jobs/{int(payload['build_id'])}" if isinstance(web_url, str) else None,
        "commit": {"id": payload.get("sha")},
    }
    pipeline = {"id": int(payload["pipeline_id"]), "sha": payload.get("sha")}
    return job_execution(pipeline, payload["build_name"], job, int(payload["build_id"]), key=key, source=SOURCE)


def handle(request: Request, front: Front) -> Response:
    token = front.secret(front.http.gitlab_token, ROUTE)
    check_gitlab(token, request.header("x-gitlab-token"))
    ident = request.header("idempotency-key") or request.header("x-gitlab-event-uuid")
    if ident is None:
        raise HttpError(400, "missing Idempotency-Key (or X-Gitlab-Event-UUID)")
    if request.header("x-gitlab-event") != EVENT:
        return Response(204)
    payload = json_object(request.body)
    project = payload.get("project")
    path = project.get("path_with_namespace") if isinstance(project, dict) else None
    prefix = front.http.gitlab_job_prefix.replace("{project}", str(path or payload.get("project_id") or "unknown"))

    def key(name: str) -> str:
        return prefix + name

    try:
        ex = _execution(payload, key)
    except (KeyError, TypeError, ValueError) as e:
        raise mapped(EVENT, e) from None
    if ex is None:
        return Response(204)
    name, body = inbox_file([ex])
    front.write_claimed("gitlab", ident, name, body)
    return Response(202, {"accepted": 1})
