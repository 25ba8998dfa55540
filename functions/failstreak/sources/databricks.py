"""Databricks Jobs: `GET /api/2.1/jobs/runs/list` (or 2.2), completed runs started since the cursor.

Job key: the run's `run_name`. Status: `state.result_state` (docs/sources.md), else a terminal
`state.life_cycle_state` without a result (`INTERNAL_ERROR` is a failure), else, in payloads that only carry the
2.2 `status` object, `status.termination_details` (a platform cancellation for exceeding the run's maximum
duration is a timeout). A run whose `end_time` is 0 is still running and is not emitted. The link is
`run_page_url`, the reason the termination message or `state.state_message`.

Run identity (docs/sources.md): a retry is a new run with `original_attempt_run_id` and `attempt_number` + 1;
its result is the run's final result, so the run id is the original attempt's and the attempt is
`attempt_number`. A repair keeps `run_id` and `attempt_number` and grows `repair_history`; it is encoded as a
newer attempt, `attempt = 1000 × repairs + attempt_number`, so the repaired result replaces the one before.

Pages are followed while the answer carries a `next_page_token` (2.2 answers have no `has_more`; 2.1 answers
have both), and by `offset` on workspaces that predate page tokens.

`start_time_from` filters on start time, so a run that is still active when a pull ends holds the cursor at its
start (read through `active_only=true`): it is listed again once it has finished, however long it ran, up to
`max_run_hours`. A repair keeps the run's start time, so each pull lists runs started within
`repair_lookback_hours` and emits those that finished (or were repaired) since the window's start.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from failstreak.core.model import Execution, Status
from failstreak.inbox.records import parse_time
from failstreak.secretref import ResolveSecret
from failstreak.sources.common import HOUR_MS, HttpSource, text
from failstreak.sources.http import Session
from failstreak.sources.settings import DatabricksConfig

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

# Terminal `state.life_cycle_state` values that carry no `result_state`.
LIFE_CYCLE_STATES: dict[str, Status] = {
    "INTERNAL_ERROR": Status.FAILED,
    "SKIPPED": Status.SKIPPED,
}

# The 2.2 `termination_details.code` CANCELED also covers "the maximum run duration was exceeded" (Jobs API
# reference, TerminationCodeCode); only the message tells that timeout apart from a platform cancellation.
_TIMEOUT_MESSAGE = re.compile(r"timed?[ -]?out|timeout|maximum (run )?duration|exceeded .*duration", re.IGNORECASE)

PAGE_SIZE = 25  # the API's maximum for runs/list
REPAIR_STEP = 1000  # attempt = REPAIR_STEP * repairs + attempt_number (docs/sources.md)


class DatabricksSource(HttpSource):
    permission_hint = "a workspace token whose user has CAN VIEW on the jobs"

    def __init__(self, cfg: DatabricksConfig, resolve: ResolveSecret) -> None:
        super().__init__(cfg, resolve)
        self.config = cfg

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret(self.config.token, 'token')}"}

    def fetch(self, session: Session, start_ms: int, now_ms: int) -> tuple[list[Execution], int]:
        path = f"/api/{self.config.api_version}/jobs/runs/list"
        list_from = min(start_ms, now_ms - int(self.config.repair_lookback_hours * HOUR_MS))
        params: dict[str, Any] = {
            "completed_only": True,
            "start_time_from": list_from,
            "limit": PAGE_SIZE,
            "job_id": self.config.job_id,
        }
        out: list[Execution] = []
        for runs in self.listing(session, path, params, truncated_from=start_ms):
            for run in runs:
                if not isinstance(run, dict):
                    raise session.malformed(path, "a run is not an object")
                ex = self.execution(run)
                # Runs started before the window are listed only for their repairs.
                if ex is not None and ex.finished_at >= start_ms:
                    out.append(ex)
        return out, self.hold_for_unfinished(now_ms, self.earliest_active(session, path), self.config.max_run_hours)

    def listing(
        self, session: Session, path: str, params: dict[str, Any], truncated_from: int | None = None
    ) -> Iterator[list[Any]]:
        """The pages of a runs/list listing (up to max_pages), as lists of runs.

        The next page is asked by `next_page_token` whenever the answer has one: the official SDKs page on the
        token alone, and 2.2 answers carry no `has_more`. `has_more` without a token is a workspace that pages
        by `offset`.
        """
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
            yield runs
            token = data.get("next_page_token")
            if isinstance(token, str) and token:
                page_token = token
            elif data.get("has_more") is True and runs:
                page_token = None
                offset += len(runs)
            else:
                return
            if page == self.cfg.max_pages and truncated_from is not None and _reaches(runs, truncated_from):
                # Only a cut inside the window loses runs; beyond it, only repairs of older runs go unread.
                self.truncated(path, truncated_from)

    def earliest_active(self, session: Session, path: str) -> int | None:
        """The start time of the earliest run still active (pending, queued, running), if any."""
        earliest: int | None = None
        params = {"active_only": True, "limit": PAGE_SIZE, "job_id": self.config.job_id}
        for runs in self.listing(session, path, params):
            for run in runs:
                start = run.get("start_time") if isinstance(run, dict) else None
                if isinstance(start, int) and start > 0:
                    earliest = start if earliest is None else min(earliest, start)
        return earliest

    def execution(self, run: dict[str, Any]) -> Execution | None:
        """The execution for one run, or None while it is still running (or its result is unknown)."""
        repairs = [r for r in run.get("repair_history") or [] if isinstance(r, dict) and r.get("type") == "REPAIR"]
        end_time = _end_time(run, repairs)
        if not end_time:
            return None
        status, label, message = _result(run)
        if status is None:
            log.warning("%s: run %s has an unknown result %r; not counted", self.name, run.get("run_id"), label)
            return None
        reason = None
        if status not in (Status.SUCCESS, Status.RUNNING):
            reason = f"{label}: {message}" if message and label else (message or label)
        name = text(run.get("run_name"), 512) or f"job {run.get('job_id')}"
        git = (run.get("git_source") or {}).get("git_snapshot") or {}
        run_id, attempt = _identity(run, len(repairs))
        return Execution(
            job=self.job_key(name),
            run_id=run_id,
            status=status,
            finished_at=parse_time(end_time, "end_time"),
            attempt=attempt,
            url=text(run.get("run_page_url")),
            commit=text(git.get("used_commit")),
            reason=reason,
            source=self.name,
        )


def _end_time(run: dict[str, Any], repairs: list[dict[str, Any]]) -> Any:
    """When the run last finished: its `end_time`, or a later repair's; 0 (or absent) while it is running."""
    end_time = run.get("end_time") or 0
    for repair in repairs:
        repaired = repair.get("end_time")
        if isinstance(repaired, int) and isinstance(end_time, int) and repaired > end_time:
            end_time = repaired
    return end_time


def _result(run: dict[str, Any]) -> tuple[Status | None, str | None, str | None]:
    """The run's status, the platform's label for it (for the reason) and its message.

    `state.result_state` first, then a terminal `state.life_cycle_state`, then the 2.2
    `status.termination_details.code`. The status is None (and the label the result) when the result is unknown.
    """
    state = run.get("state") or {}
    details = (run.get("status") or {}).get("termination_details") or {}
    result = state.get("result_state")
    life_cycle = state.get("life_cycle_state")
    code = details.get("code")
    message = text(details.get("message")) or text(state.get("state_message"))
    label: str | None = None
    status: Status | None = None
    if isinstance(result, str) and result:
        status, label = RESULT_STATES.get(result.upper()), result
    elif isinstance(life_cycle, str) and life_cycle.upper() in LIFE_CYCLE_STATES:
        status, label = LIFE_CYCLE_STATES[life_cycle.upper()], life_cycle
    elif isinstance(code, str) and code:
        status, label = _termination(code, message), code
    if status is None:
        return None, result, message
    if isinstance(code, str) and code and code.upper() != "SUCCESS":
        label = code
    return status, label, message


def _termination(code: str, message: str | None) -> Status:
    """The status a 2.2 termination code stands for: a platform cancellation for exceeding the run's maximum
    duration is a timeout, any code not known is a failure."""
    if code.upper() == "CANCELED" and message and _TIMEOUT_MESSAGE.search(message):
        return Status.TIMED_OUT
    return TERMINATION_CODES.get(code.upper(), Status.FAILED)


def _identity(run: dict[str, Any], repairs: int) -> tuple[str, int]:
    """Run id and attempt (docs/sources.md): a retry counts under its original run, a repair as a newer attempt."""
    attempt = run.get("attempt_number") or 0
    attempt = attempt if isinstance(attempt, int) and attempt >= 0 else 0
    original = run.get("original_attempt_run_id")
    run_id = original if isinstance(original, int) and not isinstance(original, bool) and original > 0 else None
    return str(run_id or run["run_id"]), REPAIR_STEP * repairs + min(attempt, REPAIR_STEP - 1)


def _reaches(runs: list[Any], start_ms: int) -> bool:
    """Whether the oldest run of a page (newest first) still started inside the window."""
    last = runs[-1] if runs else None
    start = last.get("start_time") if isinstance(last, dict) else None
    return not isinstance(start, int) or start >= start_ms


def build(cfg: DatabricksConfig, resolve: ResolveSecret) -> DatabricksSource:
    return DatabricksSource(cfg, resolve)
