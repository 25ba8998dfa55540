"""GitLab CI: pipelines on a ref updated since the cursor, then each pipeline's jobs.

`GET /api/v4/projects/:id/pipelines?ref=&updated_after=&order_by=updated_at&sort=asc`, then
`GET /api/v4/projects/:id/pipelines/:pipeline_id/jobs?include_retried=true`, both paged by `Link: rel="next"`
(keyset) or `X-Next-Page` (offset).

- Run identity (docs/sources.md): job key the job's name, run id the pipeline id, attempt the job id. Retried
  jobs are superseded by their latest try: of the jobs sharing a name in a pipeline, the newest (highest id) is
  emitted, and its higher id replaces the earlier try in the engine. `failstreak report` in a GitLab job
  defaults to the same identity (`CI_PIPELINE_ID`, `CI_JOB_ID`). A retry made
  after an earlier pass updates the pipeline, so the pipeline is read again and the higher attempt replaces the
  lower one in the engine.
- A failed job with `allow_failure` is *not* a failure (docs/records.md). It is mapped to
  `succeeded_with_failures`, which counts as a success by default: that is how GitLab itself reads it (the
  pipeline passes, the job shows "passed with warnings"), it stays distinguishable from a clean success, and a
  team that wants such jobs to alert can say so per job with `outcomes: {succeeded_with_failures: failure}`.
- `failure_reason` becomes the reason; `job_execution_timeout` and `stuck_or_timeout_failure` map to `timed_out`.
- A `manual` (or `skipped`) job is emitted as skipped; when someone plays it, GitLab runs the same job id, so the
  same run and attempt comes back with its result, which replaces the skipped record in the engine.
- Jobs that have not finished (created, pending, running, ...) are not emitted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from failstreak.core.model import Execution, Status, iso
from failstreak.inbox.records import parse_time
from failstreak.secretref import ResolveSecret
from failstreak.sources.common import MINUTE_MS, HttpSource, text
from failstreak.sources.http import Session
from failstreak.sources.settings import GitLabConfig

TIMEOUT_REASONS = frozenset({"job_execution_timeout", "stuck_or_timeout_failure"})
STATUSES: dict[str, Status] = {
    "success": Status.SUCCESS,
    "failed": Status.FAILED,
    "canceled": Status.CANCELED,
    "skipped": Status.SKIPPED,
    "manual": Status.SKIPPED,
}


class GitLabSource(HttpSource):
    permission_hint = "a token with the read_api scope and at least the Reporter role on the project"

    def __init__(self, cfg: GitLabConfig, resolve: ResolveSecret) -> None:
        super().__init__(cfg, resolve)
        self.config = cfg
        self._project = quote(str(cfg.project), safe="")

    def auth_headers(self) -> dict[str, str]:
        return {"PRIVATE-TOKEN": self.secret(self.config.token, "token")}

    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        path = f"/api/v4/projects/{self._project}/pipelines"
        params = {"ref": self.config.ref, "updated_after": iso(start_ms), "order_by": "updated_at", "sort": "asc"}
        pipelines, cut = self.pages(session, path, params)
        out: list[Execution] = []
        last_updated = start_ms
        for pipeline in pipelines:
            if not isinstance(pipeline, dict) or "id" not in pipeline:
                raise session.malformed(path, "a pipeline has no id")
            updated = pipeline.get("updated_at")
            if updated:
                last_updated = max(last_updated, parse_time(updated, "updated_at"))
            jobs_path = f"/api/v4/projects/{self._project}/pipelines/{int(pipeline['id'])}/jobs"
            jobs, jobs_cut = self.pages(session, jobs_path, {"include_retried": True})
            if jobs_cut:
                self.truncated(jobs_path, start_ms)
            out.extend(self.executions(pipeline, jobs))
        since = now_ms
        if cut:
            # Pipelines come oldest update first: resume after the last one read instead of skipping the rest.
            self.truncated(path, start_ms)
            since = min(now_ms, last_updated + int(self.cfg.overlap_minutes * MINUTE_MS))
        return out, since

    def executions(self, pipeline: dict[str, Any], jobs: list[Any]) -> list[Execution]:
        """One execution per job name in the pipeline: its latest attempt, if it has finished."""
        tries: dict[str, list[dict[str, Any]]] = {}
        for job in jobs:
            if not isinstance(job, dict) or not isinstance(job.get("name"), str) or "id" not in job:
                raise ValueError("a pipeline job has no name or id")
            tries.setdefault(job["name"], []).append(job)
        out = []
        for name, attempts in tries.items():
            # GitLab's job entity does not say which tries were retried: a retry is a newer job of the same name.
            latest = max(attempts, key=lambda j: int(j["id"]))
            ex = self.execution(pipeline, name, latest, attempt=int(latest["id"]))
            if ex is not None:
                out.append(ex)
        return out

    def execution(self, pipeline: dict[str, Any], name: str, job: dict[str, Any], attempt: int) -> Execution | None:
        return job_execution(pipeline, name, job, attempt, key=self.job_key, source=self.name)


def job_execution(
    pipeline: dict[str, Any],
    name: str,
    job: dict[str, Any],
    attempt: int,
    *,
    key: Callable[[str], str] = str,
    source: str | None = "gitlab",
) -> Execution | None:
    """One try of a job (the API's job entity, within its pipeline) as an execution, or None while it has not
    finished. `key` makes the job key from the job's name (a source's `job_prefix`); the webhook
    (front/gitlab.py) maps its Job Hook events through here too."""
    raw = str(job.get("status", "")).lower()
    status = STATUSES.get(raw)
    if status is None:
        return None  # created, pending, running, preparing, waiting_for_resource, scheduled, canceling
    failure_reason = text(job.get("failure_reason"))
    reason = None
    if status is Status.FAILED:
        if job.get("allow_failure"):
            status = Status.SUCCEEDED_WITH_FAILURES
            reason = f"allowed to fail: {failure_reason or 'failed'}"
        else:
            if failure_reason in TIMEOUT_REASONS:
                status = Status.TIMED_OUT
            reason = failure_reason or "failed"
    when = job.get("finished_at") or pipeline.get("updated_at") or job.get("created_at")
    commit = (job.get("commit") or {}).get("id") or pipeline.get("sha")
    return Execution(
        job=key(name),
        run_id=str(pipeline["id"]),
        status=status,
        finished_at=parse_time(when, "finished_at"),
        attempt=attempt,
        url=text(job.get("web_url")) or text(pipeline.get("web_url")),
        commit=text(commit),
        reason=reason,
        source=source,
    )


def build(cfg: GitLabConfig, resolve: ResolveSecret) -> GitLabSource:
    return GitLabSource(cfg, resolve)
