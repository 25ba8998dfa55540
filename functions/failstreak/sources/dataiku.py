"""Dataiku DSS: the public API's job list per project, `GET /public/api/projects/{projectKey}/jobs/`.

The same list `DSSProject.list_jobs()` returns: one object per job with its definition (`def.id`, `def.name`,
`def.initiationTimestamp`, ...) and its state (`state`, `stableState`, `endTime`). Only jobs in a stable state
are taken (a running job is not emitted); job key `PROJECTKEY/def.name`; run id `def.id`. The API key is sent
as the HTTP basic-auth user, as the DSS client does.
"""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, field_validator

from failstreak.config import SecretRef
from failstreak.model import Execution, Status
from failstreak.records import parse_time
from failstreak.sources.common import BaseSourceConfig, HttpSource, text
from failstreak.sources.http import Session

STATES: dict[str, Status] = {
    "DONE": Status.SUCCESS,
    "FAILED": Status.FAILED,
    "ABORTED": Status.CANCELED,
}


class DataikuConfig(BaseSourceConfig):
    type: Literal["dataiku"]
    api_key: SecretRef
    projects: list[str] = Field(min_length=1)

    @field_validator("projects")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for key in v:
            if not key or "/" in key or key.strip() != key:
                raise ValueError(f"{key!r} is not a project key")
        return v


class DataikuSource(HttpSource):
    permission_hint = "an API key with read access to the projects"

    def __init__(self, cfg: DataikuConfig) -> None:
        super().__init__(cfg)
        self.config = cfg

    def auth_headers(self) -> dict[str, str]:
        key = self.secret(self.config.api_key, "api_key")
        return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode("ascii")}

    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        out: list[Execution] = []
        for project in self.config.projects:
            path = f"/public/api/projects/{quote(project, safe='')}/jobs/"
            data = session.get(path).data
            if not isinstance(data, list):
                raise session.malformed(path, "expected a JSON list of jobs")
            for job in data:
                if not isinstance(job, dict) or not isinstance(job.get("def"), dict):
                    raise session.malformed(path, "a job has no 'def' object")
                ex = self.execution(project, job)
                if ex is not None and ex.finished_at >= start_ms:
                    out.append(ex)
        return out, now_ms

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


def build(cfg: DataikuConfig) -> DataikuSource:
    return DataikuSource(cfg)
