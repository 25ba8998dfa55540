"""Dataiku DSS: the public API's job list per project, `GET /public/api/projects/{projectKey}/jobs/?limit=N`.

The same list `DSSProject.list_jobs()` returns (dataiku-api-client-python `dataikuapi/dss/project.py`), newest
first: one object per job with its definition (`def.id`, `def.name`, `def.initiationTimestamp`, ...) and its
state (`state`, `stableState`, `endTime`). Only jobs in a stable state are taken (a running job is not
emitted); job key `PROJECTKEY/def.name`; run id `def.id`. The API key is sent as the HTTP basic-auth user, as
the DSS client does.

The list has no cursor or offset, only `limit` (0, its default, returns every job the project keeps), so each
pull asks for the newest `PAGE_JOBS` and asks again with twice the limit (up to `max_pages` times) only while
the answer is full and its oldest job started inside the window: it stops at the cursor. A job still running
holds the cursor at its start, so it is inside the window when it finishes (up to `max_run_hours`).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from failstreak.core.model import Execution, Status
from failstreak.inbox.records import parse_time
from failstreak.secretref import ResolveSecret
from failstreak.sources.common import HttpSource, text
from failstreak.sources.http import Session
from failstreak.sources.settings import DataikuConfig

PAGE_JOBS = 100

STATES: dict[str, Status] = {
    "DONE": Status.SUCCESS,
    "FAILED": Status.FAILED,
    "ABORTED": Status.CANCELED,
}


class DataikuSource(HttpSource):
    permission_hint = "an API key with read access to the projects"

    def __init__(self, cfg: DataikuConfig, resolve: ResolveSecret) -> None:
        super().__init__(cfg, resolve)
        self.config = cfg

    def auth_headers(self) -> dict[str, str]:
        key = self.secret(self.config.api_key, "api_key")
        return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")}

    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        out: list[Execution] = []
        unfinished: int | None = None
        for project in self.config.projects:
            path = f"/public/api/projects/{quote(project, safe='')}/jobs/"
            for job in self.recent_jobs(session, path, start_ms):
                ex = self.execution(project, job)
                if ex is not None:
                    if ex.finished_at >= start_ms:
                        out.append(ex)
                elif job.get("stableState") is not True:
                    started = job["def"].get("initiationTimestamp")
                    if isinstance(started, int) and started > 0:
                        unfinished = started if unfinished is None else min(unfinished, started)
        return out, self.hold_for_unfinished(now_ms, unfinished, self.config.max_run_hours)

    def recent_jobs(self, session: Session, path: str, start_ms: int) -> list[dict[str, Any]]:
        """The project's jobs, newest first, down to the first one started before `start_ms` (or max_pages)."""
        limit = PAGE_JOBS
        for page in range(1, self.cfg.max_pages + 1):
            data = session.get(path, {"limit": limit}).data
            if not isinstance(data, list):
                raise session.malformed(path, "expected a JSON list of jobs")
            for job in data:
                if not isinstance(job, dict) or not isinstance(job.get("def"), dict):
                    raise session.malformed(path, "a job has no 'def' object")
            if len(data) < limit or self.started_before(data, start_ms):
                return data
            if page == self.cfg.max_pages:
                self.truncated(path, start_ms)
                return data
            limit *= 2
        return []  # pragma: no cover - the loop always returns

    @staticmethod
    def started_before(jobs: list[dict[str, Any]], start_ms: int) -> bool:
        """Whether the list reaches back before the window: some job in it started before `start_ms`."""
        for job in jobs:
            started = job["def"].get("initiationTimestamp")
            if isinstance(started, int) and started < start_ms:
                return True
        return False

    def execution(self, project: str, job: dict[str, Any]) -> Execution | None:
        """The execution for one job, or None while it is not in a stable state."""
        if job.get("stableState") is not True:
            return None
        definition: dict[str, Any] = job["def"]
        state = str(job.get("state", "")).upper()
        status = STATES.get(state)
        if status is None:
            return None
        job_id = text(definition.get("id"), 512)
        if job_id is None:
            return None
        name = text(definition.get("name"), 400) or job_id
        when = job.get("endTime") or definition.get("initiationTimestamp")
        # The job list carries no error message (that is in the job's log); the state is the reason.
        reason = None if status is Status.SUCCESS else state
        return Execution(
            job=self.job_key(f"{project}/{name}"),
            run_id=job_id,
            status=status,
            finished_at=parse_time(when, "endTime"),
            url=f"{self.cfg.url}/projects/{quote(project, safe='')}/jobs/{quote(job_id, safe='')}/",
            reason=reason,
            source=self.name,
        )


def build(cfg: DataikuConfig, resolve: ResolveSecret) -> DataikuSource:
    return DataikuSource(cfg, resolve)
