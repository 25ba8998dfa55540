"""Databricks Jobs: `GET /api/2.1/jobs/runs/list` (or 2.2), completed runs started since the cursor.

Job key: the run's `run_name`. Status: `state.result_state` (docs/records.md), or, in payloads that only carry the newer
`status` object, `status.termination_details.code`. A run whose `end_time` is 0 is still running and is not
emitted. `attempt_number` is the attempt, `run_page_url` the link, the termination message or
`state.state_message` the reason.

`start_time_from` filters on start time, so a run that is still active when a pull ends holds the cursor at its
start (read through `active_only=true`): it is listed again once it has finished, however long it ran, up to
`max_run_hours`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field

from failstreak.config import SecretRef
from failstreak.model import Execution, Status
from failstreak.records import parse_time
from failstreak.sources.common import BaseSourceConfig, HttpSource, text
from failstreak.sources.http import Session

log = logging.getLogger("failstreak.sources")

RESULT_STATES: dict[str, Status] = {
    "SUCCESS": Status.SUCCESS,
    "SUCCESS_WITH_FAILURES": Status.SUCCEEDED_WITH_FAILURES,
    "FAILED": Status.FAILED,
    "TIMEDOUT": Status.TIMED_OUT,
    "CANCELED": Status.CANCELED,
    "UPSTREAM_FAILED": Status.UPSTREAM_FAILED,
    "UPSTREAM_CANCELED": Status.UPSTREAM_FAILED,
    "SKIPPED": Status.SKIPPED,
    "EXCLUDED": Status.SKIPPED,
    "MAXIMUM_CONCURRENT_RUNS_REACHED": Status.SKIPPED,
    "DISABLED": Status.SKIPPED,
}

# status.termination_details.code, for payloads without state.result_state. Any other code is a failure.
TERMINATION_CODES: dict[str, Status] = {
    "SUCCESS": Status.SUCCESS,
    "SUCCESS_WITH_FAILURES": Status.SUCCEEDED_WITH_FAILURES,
    "USER_CANCELED": Status.CANCELED,
    "CANCELED": Status.CANCELED,
    "SKIPPED": Status.SKIPPED,
    "DISABLED": Status.SKIPPED,
    "MAX_CONCURRENT_RUNS_EXCEEDED": Status.SKIPPED,
    "MAX_JOB_QUEUE_SIZE_EXCEEDED": Status.SKIPPED,
    "WORKSPACE_RUN_LIMIT_EXCEEDED": Status.SKIPPED,
}

PAGE_SIZE = 25  # the API's maximum for runs/list


class DatabricksConfig(BaseSourceConfig):
    type: Literal["databricks"]
    token: SecretRef
    api_version: Literal["2.1", "2.2"] = "2.1"
    job_id: int | None = Field(default=None, ge=1)
    max_run_hours: float = Field(default=24, gt=0, le=24 * 30)


class DatabricksSource(HttpSource):
    permission_hint = "a workspace token whose user has CAN VIEW on the jobs"

    def __init__(self, cfg: DatabricksConfig) -> None:
        super().__init__(cfg)
        self.config = cfg

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret(self.config.token, 'token')}"}

    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        path = f"/api/{self.config.api_version}/jobs/runs/list"
        params: dict[str, Any] = {
            "completed_only": True,
            "start_time_from": start_ms,
            "limit": PAGE_SIZE,
            "job_id": self.config.job_id,
        }
        out: list[Execution] = []
        page_token: str | None = None
        offset = 0
        for page in range(1, self.cfg.max_pages + 1):
            extra: dict[str, Any] = {"page_token": page_token} if page_token else {"offset": offset or None}
            data = session.get(path, {**params, **extra}).data
            if not isinstance(data, dict):
                raise session.malformed(path, "expected a JSON object")
            runs = data.get("runs", [])
            if not isinstance(runs, list):
                raise session.malformed(path, "'runs' is not a list")
            for run in runs:
                if not isinstance(run, dict):
                    raise session.malformed(path, "a run is not an object")
                ex = self.execution(run)
                if ex is not None:
                    out.append(ex)
            if not data.get("has_more"):
                break
            token = data.get("next_page_token")
            if isinstance(token, str) and token:
                page_token = token
            else:
                offset += len(runs)  # API versions before page tokens page by offset
            if page == self.cfg.max_pages:
                self.truncated(path, start_ms)
        return out, self.hold_for_unfinished(now_ms, self.earliest_active(session, path), self.config.max_run_hours)

    def earliest_active(self, session: Session, path: str) -> int | None:
        """The start time of the earliest run still active (pending, queued, running), if any."""
        earliest: int | None = None
        page_token: str | None = None
        for _ in range(self.cfg.max_pages):
            params = {"active_only": True, "limit": PAGE_SIZE, "job_id": self.config.job_id, "page_token": page_token}
            data = session.get(path, params).data
            runs = data.get("runs", []) if isinstance(data, dict) else None
            if not isinstance(runs, list):
                raise session.malformed(path, "'runs' is not a list")
            for run in runs:
                start = run.get("start_time") if isinstance(run, dict) else None
                if isinstance(start, int) and start > 0:
                    earliest = start if earliest is None else min(earliest, start)
            token = data.get("next_page_token")
            if not data.get("has_more") or not isinstance(token, str) or not token:
                break
            page_token = token
        return earliest

    def execution(self, run: dict[str, Any]) -> Execution | None:
        """The execution for one run, or None while it is still running (or its result is unknown)."""
        end_time = run.get("end_time") or 0
        if not end_time:
            return None
        state = run.get("state") or {}
        status_obj = run.get("status") or {}
        details = status_obj.get("termination_details") or {}
        result = state.get("result_state")
        code = details.get("code")
        status: Status | None
        if isinstance(result, str) and result:
            status = RESULT_STATES.get(result.upper())
        elif isinstance(code, str) and code:
            status = TERMINATION_CODES.get(code.upper(), Status.FAILED)
        elif state.get("life_cycle_state") == "SKIPPED":
            status = Status.SKIPPED
        else:
            status = None
        if status is None:
            log.warning("%s: run %s has an unknown result %r; not counted", self.name, run.get("run_id"), result)
            return None
        name = text(run.get("run_name"), 512) or f"job {run.get('job_id')}"
        reason = None
        if status not in (Status.SUCCESS, Status.RUNNING):
            message = text(details.get("message")) or text(state.get("state_message"))
            label = code if isinstance(code, str) and code and code != "SUCCESS" else result
            reason = f"{label}: {message}" if message and label else (message or label)
        git = (run.get("git_source") or {}).get("git_snapshot") or {}
        attempt = run.get("attempt_number") or 0
        return Execution(
            job=self.job_key(name),
            run_id=str(run["run_id"]),
            status=status,
            finished_at=parse_time(end_time, "end_time"),
            attempt=attempt if isinstance(attempt, int) and attempt >= 0 else 0,
            url=text(run.get("run_page_url")),
            commit=text(git.get("used_commit")),
            reason=reason,
            source=self.name,
        )


def build(cfg: DatabricksConfig) -> DatabricksSource:
    return DatabricksSource(cfg)
