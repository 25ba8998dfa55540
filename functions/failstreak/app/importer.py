"""Migration from the reference script's statistics (`failstreak import --from datadog PATH`). Pure.

Accepted documents:

- v1, `job_executions.json`: per job `consecutive_failures` and `cumulative_failures`, a list of 1 (failed) and
  0 (passed), oldest first; the jobs map at the top level or under `jobs`.
- v2, `job_executions.v2.json`: top-level `pipeline_id` and `jobs`; per job `consecutive_failures` and
  `jobs_info`, up to 10 entries oldest first, each `{"id", "failing", "commit"}` (passing entries may have a null
  id). Some writers of v2 put that list under `cumulative_failures`; both are read.

The reference script keeps no times, and the imported history must sit before every real run (one that finished
before the import but arrives after it included): imported runs get `finished_at` values one second apart from
IMPORTED_BASE (2000-01-02, a day after the earliest time a record may carry), so real runs sort after them and
none is `stale`; the job's `last_success` and `last_failure` stay unknown. A job already past a threshold is
imported as alerting and already announced, so the next pass does not re-alert it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from failstreak.core.alerting import crossed
from failstreak.core.counting import settle
from failstreak.core.model import Alert, JobState, Run, State, Status
from failstreak.errors import ConfigError

if TYPE_CHECKING:
    from failstreak.app.config import Config
    from failstreak.core.policy import JobPolicy

IMPORTED_BASE = 946_771_200_000  # 2000-01-02T00:00:00Z


@dataclass(slots=True)
class Imported:
    jobs: int = 0
    alerting: int = 0
    skipped: list[str] = field(default_factory=list)


def _entries(name: str, raw: dict[str, Any], where: str) -> list[tuple[str | None, bool, str | None]]:
    """(run id, failing, commit) per remembered execution, oldest first."""
    listed = raw.get("jobs_info", raw.get("cumulative_failures", []))
    if not isinstance(listed, list):
        raise ConfigError(f"{where}: job {name!r}: expected a list of executions")
    out: list[tuple[str | None, bool, str | None]] = []
    for i, item in enumerate(listed):
        if isinstance(item, bool) or item in (0, 1):
            out.append((None, bool(item), None))
        elif isinstance(item, dict) and "failing" in item:
            run_id = item.get("id")
            commit = item.get("commit")
            out.append(
                (
                    None if run_id is None else str(run_id),
                    bool(item["failing"]),
                    commit if isinstance(commit, str) else None,
                )
            )
        else:
            raise ConfigError(f"{where}: job {name!r}: execution {i + 1} is neither 0/1 nor {{id, failing, commit}}")
    return out


def import_reference(state: State, text: str, where: str, cfg: Config, now: int) -> Imported:
    """Add the reference script's jobs to `state` (jobs already in the state are kept and listed as skipped)."""
    result = Imported()
    for name, raw in _reference_jobs(text, where).items():
        if name == "pipeline_id":
            continue
        if not isinstance(raw, dict) or "consecutive_failures" not in raw:
            raise ConfigError(f"{where}: job {name!r}: expected an object with consecutive_failures")
        if name in state.jobs:
            result.skipped.append(name)
            continue
        job = _imported_job(name, raw, where, now)
        if _alert_if_crossed(job, cfg.policy_for(name), now):
            result.alerting += 1
        state.jobs[name] = job
        result.jobs += 1
    return result


def _reference_jobs(text: str, where: str) -> dict[str, Any]:
    """The reference's jobs by name: its `jobs` object, or the document itself in the older flat form."""
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise ConfigError(f"{where}: not valid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a JSON object")
    jobs: dict[str, Any] = doc["jobs"] if isinstance(doc.get("jobs"), dict) else doc
    return jobs


def _imported_job(name: str, raw: dict[str, Any], where: str, now: int) -> JobState:
    """One job as the reference kept it: its runs (oldest first), totals and streak."""
    entries = _entries(name, raw, where)
    consecutive = int(raw["consecutive_failures"])
    job = JobState(name=name, first_seen=now, last_seen=now)
    for i, (run_id, failing, commit) in enumerate(entries):
        job.runs.append(
            Run(
                run_id=run_id or f"imported-{i + 1}",
                status=Status.FAILED if failing else Status.SUCCESS,
                finished_at=IMPORTED_BASE + i * 1000,
                attempt=0,
                commit=commit if failing else None,
            )
        )
    job.total_runs = len(entries)
    job.total_failures = sum(1 for _, failing, _ in entries if failing)
    trailing = 0
    for _, failing, _ in reversed(entries):
        if not failing:
            break
        trailing += 1
    if trailing == len(entries):
        # The reference's streak can be longer than the 10 executions it keeps.
        job.older_streak = max(0, consecutive - trailing)
    job.forgotten = 1  # the reference saw older runs than these
    return job


def _alert_if_crossed(job: JobState, policy: JobPolicy, now: int) -> bool:
    """Settle the job's counters under its policy and open its alert if a threshold is crossed (as if notified
    now, so the import itself sends nothing)."""
    settle(job, policy)
    reasons = crossed(job, policy)
    if not reasons:
        return False
    job.alert = Alert(
        triggered_at=now,
        reasons=reasons,
        since=None,
        failures_base=job.total_failures - job.consecutive_failures,
        last_notified_at=now,
        runs_at_last_notice=job.total_runs,
        first_commit=next((r.commit for r in job.runs if r.status is Status.FAILED and r.commit), None),
    )
    return True
