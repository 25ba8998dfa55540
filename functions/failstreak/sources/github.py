"""GitHub Actions: completed workflow runs created since the cursor, then each run's latest jobs.

`GET /repos/{owner}/{repo}/actions/runs?branch=&status=completed&created=>=...&per_page=100`, then
`GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs?filter=latest`, both paged through the `Link` header.
Job key: `workflow name / job name`; run id: the workflow run id; attempt: the job's `run_attempt` (a re-run
replaces the earlier attempt in the engine). `conclusion` is mapped per docs/sources.md; the first failing step
is the reason. Each completed run also gives the workflow's own record, job key `workflow name`: the run's
conclusion when it has no jobs (a startup failure), else a success (the workflow started).

Rate limits, including the secondary ones (403 or 429 with `retry-after` / `x-ratelimit-reset`), are honoured
by the shared HTTP layer within the source's time budget.

The list filters on the run's creation time, so runs are listed whatever their status and only completed ones
are emitted: a run still queued or in progress holds the cursor at its creation, so it is listed again once it
has finished, however long it took (up to `max_run_hours`). A re-run of a run created before
`cursor - overlap` is not read: raise `overlap_minutes` if re-runs of old runs matter to you.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from failstreak.core.model import Execution, Status, iso
from failstreak.inbox.records import parse_time
from failstreak.secretref import ResolveSecret
from failstreak.sources.common import HttpSource, text
from failstreak.sources.http import Session
from failstreak.sources.settings import GitHubConfig

CONCLUSIONS: dict[str, Status] = {
    "success": Status.SUCCESS,
    "failure": Status.FAILED,
    "startup_failure": Status.FAILED,
    "timed_out": Status.TIMED_OUT,
    "cancelled": Status.CANCELED,
    "skipped": Status.SKIPPED,
    "neutral": Status.SKIPPED,
    "stale": Status.SKIPPED,
    "action_required": Status.SKIPPED,
}
FAILED_STEP = frozenset({"failure", "timed_out", "cancelled"})


class GitHubSource(HttpSource):
    permission_hint = "a fine-grained token with Actions: read and Metadata: read on the repository"

    def __init__(self, cfg: GitHubConfig, resolve: ResolveSecret) -> None:
        super().__init__(cfg, resolve)
        self.config = cfg
        owner, name = cfg.repo.split("/")
        self._repo = f"/repos/{quote(owner)}/{quote(name)}"

    def auth_headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.secret(self.config.token, 'token')}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        path = f"{self._repo}/actions/runs"
        params = {"branch": self.config.branch, "created": f">={iso(start_ms)}"}
        runs, cut = self.pages(session, path, params, items_key="workflow_runs")
        if cut:
            self.truncated(path, start_ms)
        out: list[Execution] = []
        unfinished: int | None = None
        for run in runs:
            if not isinstance(run, dict) or "id" not in run:
                raise session.malformed(path, "a workflow run has no id")
            if run.get("status") != "completed":
                created = parse_time(run.get("created_at"), "created_at")
                unfinished = created if unfinished is None else min(unfinished, created)
                continue
            jobs_path = f"{self._repo}/actions/runs/{int(run['id'])}/jobs"
            jobs, jobs_cut = self.pages(session, jobs_path, {"filter": "latest"}, items_key="jobs")
            if jobs_cut:
                self.truncated(jobs_path, start_ms)
            for job in jobs:
                if not isinstance(job, dict):
                    raise session.malformed(jobs_path, "a job is not an object")
                ex = self.execution(run, job)
                if ex is not None:
                    out.append(ex)
            started = self.workflow_execution(run, has_jobs=bool(jobs))
            if started is not None:
                out.append(started)
        return out, self.hold_for_unfinished(now_ms, unfinished, self.config.max_run_hours)

    def workflow_execution(self, run: dict[str, Any], has_jobs: bool) -> Execution | None:
        """The workflow's own record for a completed run (`workflow_execution` below)."""
        return workflow_execution(run, has_jobs, key=self.job_key, source=self.name)

    def execution(self, run: dict[str, Any], job: dict[str, Any]) -> Execution | None:
        """The execution for one job of a run (`job_execution` below)."""
        return job_execution(run, job, key=self.job_key, source=self.name)


def workflow_name(run: dict[str, Any], job: dict[str, Any]) -> str:
    return text(job.get("workflow_name"), 200) or text(run.get("name"), 200) or "workflow"


def workflow_execution(
    run: dict[str, Any], has_jobs: bool, *, key: Callable[[str], str] = str, source: str | None = "github"
) -> Execution | None:
    """The workflow's own record for a completed run: did the workflow start?

    A run that fails before any job starts (an invalid workflow file, a billing or startup problem) has no
    jobs, so only this record carries its failure, with the run's conclusion. A run that has jobs started: a
    success, so the workflow's record resolves once the workflow starts again. `key` makes the job key from the
    workflow's name (a source's `job_prefix`); the webhook (front/github.py) maps its events through here too.
    """
    if has_jobs:
        status: Status | None = Status.SUCCESS
        conclusion = None
    else:
        conclusion = str(run.get("conclusion") or "").lower()
        status = CONCLUSIONS.get(conclusion)
    if status is None:
        return None
    return Execution(
        job=key(workflow_name(run, {})),
        run_id=str(run["id"]),
        status=status,
        finished_at=parse_time(run.get("updated_at"), "updated_at"),
        attempt=_attempt(run.get("run_attempt")),
        url=text(run.get("html_url")),
        commit=text(run.get("head_sha")),
        reason=None if status is Status.SUCCESS else conclusion,
        source=source,
    )


def job_execution(
    run: dict[str, Any], job: dict[str, Any], *, key: Callable[[str], str] = str, source: str | None = "github"
) -> Execution | None:
    """The execution for one job of a run, or None while it has no conclusion. Job key `workflow / job`, run id
    the workflow run's id, attempt the job's `run_attempt`: the one GitHub run identity."""
    if job.get("status") != "completed":
        return None
    conclusion = str(job.get("conclusion") or "").lower()
    status = CONCLUSIONS.get(conclusion)
    if status is None:
        return None
    workflow = workflow_name(run, job)
    name = text(job.get("name"), 300) or str(job.get("id"))
    reason = None if status in (Status.SUCCESS, Status.SKIPPED) else _failed_step(job) or conclusion
    return Execution(
        job=key(f"{workflow} / {name}"),
        run_id=str(run["id"]),
        status=status,
        finished_at=parse_time(job.get("completed_at") or run.get("updated_at"), "completed_at"),
        attempt=_attempt(job.get("run_attempt") or run.get("run_attempt")),
        url=text(job.get("html_url")) or text(run.get("html_url")),
        commit=text(job.get("head_sha")) or text(run.get("head_sha")),
        reason=reason,
        source=source,
    )


def _failed_step(job: dict[str, Any]) -> str | None:
    """The first step that failed, timed out or was cancelled, as the reason (`step 'test': failure`)."""
    for step in job.get("steps") or []:
        if isinstance(step, dict) and step.get("conclusion") in FAILED_STEP:
            return f"step {text(step.get('name'), 200)!r}: {step.get('conclusion')}"
    return None


def _attempt(value: Any) -> int:
    """`run_attempt` as the attempt, 1 when absent or not a count."""
    value = value or 1
    return value if isinstance(value, int) and value >= 0 else 1


def build(cfg: GitHubConfig, resolve: ResolveSecret) -> GitHubSource:
    return GitHubSource(cfg, resolve)
