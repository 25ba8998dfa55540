"""`failstreak status` (docs/cli.md): the jobs as a table, filtered; one job's history and incident; the JSON.

Everything a producer controls is escaped for the terminal (app/text.for_terminal) before it is printed.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from failstreak.app.config import Config
from failstreak.app.routing import Router
from failstreak.app.text import for_terminal
from failstreak.core import counting, triage
from failstreak.core.alerting import mute_covering
from failstreak.core.counting import run_outcome
from failstreak.core.health import Judgement
from failstreak.core.jobindex import briefs
from failstreak.core.model import Ack, JobState, Mute, MuteBook, Outcome, State, iso
from failstreak.core.mutes import active_acks, all_mutes, merge_mutes
from failstreak.core.policy import JobPolicy
from failstreak.state.mutes import mutes_store
from failstreak.views.jobs import describe_mute

MARK = {Outcome.SUCCESS: "✅", Outcome.FAILURE: "❌", Outcome.IGNORED: "⚪"}
NAME_WIDTH = 60


def job_triage(
    cfg: Config, job: JobState, now: int, policy: JobPolicy | None = None
) -> tuple[Judgement, dict[str, int]]:
    """The job's health now, and the failures of each category in its window (docs/triage.md); `policy`, the
    job's, when the caller has it already."""
    policy = policy or cfg.policy_for(job.name)
    silent = triage.silent_since(job, policy, now, learn=cfg.silence.learn, grace_ms=cfg.silence.grace_ms)
    return triage.health(job, policy, silent), counting.category_failures(job, policy)


def _not_counted(by_category: dict[str, int], counts: frozenset[str]) -> str:
    """`  [not counted: 3 infra]`: the failures in the window of categories the job does not count, if any."""
    others = [f"{n} {for_terminal(c)}" for c, n in sorted(by_category.items()) if n and c not in counts]
    return f"  [not counted: {', '.join(others)}]" if others else ""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which jobs `status` shows: a glob on the name, alerting only, owned by one of `teams`, of one of the
    `health` values (any, when a tuple is empty)."""

    pattern: str | None = None
    alerting: bool = False
    teams: tuple[str, ...] = ()
    health: tuple[str, ...] = ()


def read_book(cfg: Config, state: State) -> MuteBook:
    """The mutes document beside the config's state, with the mutes a version-5 `state` still holds (the next
    pass moves them into the document: docs/state.md, "Moving the mutes")."""
    book = mutes_store(cfg.state).read()
    merge_mutes(book, state.moved_mutes)
    return book


class Status:
    """The state seen through the config: each job's window, teams, mute and acknowledgement, for the table and
    the JSON. `book`: the mutes document (read beside the config's state when not given)."""

    def __init__(
        self, cfg: Config, state: State, now: int, router: Router | None = None, book: MuteBook | None = None
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.now = now
        self.router = router or Router(cfg)
        book = read_book(cfg, state) if book is None else book
        self.mutes: list[Mute] = all_mutes(state, book, cfg.mutes, now)
        self.acks: dict[str, Ack] = active_acks(book, now)
        self.policy_for = cfg.policy_lookup()
        self._triage: dict[str, tuple[Judgement, dict[str, int]]] = {}

    def teams(self, job: JobState) -> list[str]:
        return self.router.job_teams(job.name, job.owner)

    def triage(self, job: JobState) -> tuple[Judgement, dict[str, int]]:
        """The job's health and its window's failures by category, judged once per job."""
        found = self._triage.get(job.name)
        if found is None:
            found = self._triage[job.name] = job_triage(self.cfg, job, self.now, self.policy_for(job.name))
        return found

    def mute(self, job: JobState) -> Mute | None:
        return mute_covering(job, self.mutes, self.now)

    def ack(self, job: JobState) -> Ack | None:
        """The job's acknowledgement in force, if any: who is on it, and until when its reminders wait."""
        return self.acks.get(job.name)

    def select(self, selection: Selection) -> list[JobState]:
        """The selected jobs: alerting first, then the longest streak, then the name."""
        # Picked by name and alert from the state's index first: only those jobs are decoded (docs/state.md).
        named = [
            self.state.jobs[b.name]
            for b in briefs(self.state.jobs)
            if (selection.pattern is None or fnmatch.fnmatchcase(b.name, selection.pattern))
            and (not selection.alerting or b.alerting)
        ]
        jobs = [
            j
            for j in named
            if (not selection.teams or set(selection.teams) & set(self.teams(j)))
            and (not selection.health or self.triage(j)[0].health.value in selection.health)
        ]
        return sorted(jobs, key=lambda j: (j.alert is None, -j.consecutive_failures, j.name))

    def strip(self, job: JobState) -> str:
        """The job's remembered runs in its window as marks, oldest first (✅ success, ❌ failure, ⚪ ignored)."""
        policy = self.policy_for(job.name)
        return "".join(MARK[run_outcome(policy, r)] for r in job.runs[-policy.window :])

    def row(self, job: JobState) -> dict[str, Any]:
        """One job in `status --json`: its counters, teams, mute, open incident and remembered runs."""
        mute = self.mute(job)
        judged, by_category = self.triage(job)
        return {
            "health": judged.health.value,
            "health_detail": judged.describe(),
            "category_failures": by_category,
            "consecutive_failures": job.consecutive_failures,
            "window_failures": job.window_failures,
            "window_size": job.window_size,
            "window": self.policy_for(job.name).window,
            "total_runs": job.total_runs,
            "total_failures": job.total_failures,
            "alerting": job.alert is not None,
            "alerting_since": iso(job.alert.triggered_at) if job.alert else None,
            "reasons": list(job.alert.reasons) if job.alert else [],
            "first_seen": iso(job.first_seen),
            "last_seen": iso(job.last_seen),
            "last_success": iso(job.last_success),
            "last_failure": iso(job.last_failure),
            "owner": job.owner,
            "teams": self.teams(job),
            "muted": describe_mute(mute, job) if mute is not None else None,
            "acked": {"by": ack.by, "at": iso(ack.at), "until": iso(ack.until)} if (ack := self.ack(job)) else None,
            "incident": incident(job),
            "incidents": [
                {
                    "triggered_at": iso(i.triggered_at),
                    "resolved_at": iso(i.resolved_at),
                    "reasons": list(i.reasons),
                    "failing_since": iso(i.since),
                    "failed_runs": i.failed_runs,
                    "first_commit": i.first_commit,
                    "last_reason": i.last_reason,
                    "suppressed": i.suppressed,
                }
                for i in reversed(job.incidents)
            ],
            "runs": [
                {
                    "run_id": r.run_id,
                    "status": r.status,  # a StrEnum: written as its value, without the enum property on each run
                    "finished_at": iso(r.finished_at),
                    "attempt": r.attempt,
                    "url": r.url,
                    "commit": r.commit,
                    "reason": r.reason,
                }
                for r in job.runs
            ],
        }


def incident(job: JobState) -> dict[str, Any] | None:
    """The job's open incident, or None."""
    alert = job.alert
    if alert is None:
        return None
    return {
        "triggered_at": iso(alert.triggered_at),
        "reasons": list(alert.reasons),
        "failing_since": iso(alert.since),
        "first_commit": alert.first_commit,
        "last_notified_at": iso(alert.last_notified_at),
        "suppressed": alert.suppressed,
    }


def status_table(cfg: Config, state: State, now: int, selection: Selection | None = None) -> str:
    """Jobs as a text table: alerting first, then longest streak, then name; the window's runs as a strip."""
    view = Status(cfg, state, now)
    ordered = view.select(selection or Selection())
    shown = {j.name: for_terminal(j.name) for j in ordered}
    width = min(max([len("JOB"), *(len(name) for name in shown.values())]), NAME_WIDTH)
    strip_width = max([len("RUNS"), *(len(view.strip(j)) * 2 for j in ordered)])
    lines = [f"{'JOB':<{width}}  STREAK  WINDOW  TOTAL (FAILED)  {'RUNS':<{strip_width}}  HEALTH   STATE"]
    for j in ordered:
        policy = view.policy_for(j.name)
        label = f"ALERTING ({', '.join(j.alert.reasons)})" if j.alert else "ok"
        mute = view.mute(j)
        if mute is not None:
            label += f", muted{': ' + for_terminal(mute.reason) if mute.reason else ''}"
        ack = view.ack(j)
        if ack is not None:
            label += f", acked by {for_terminal(ack.by)} until {iso(ack.until)}"
        if policy.window != cfg.thresholds.window:
            label += f"  [window {policy.window}]"
        judged, by_category = view.triage(j)
        label += _not_counted(by_category, policy.counts)
        window = f"{j.window_failures}/{j.window_size}"
        name = shown[j.name] if len(shown[j.name]) <= width else shown[j.name][: width - 1] + "…"
        strip = view.strip(j)
        # Each mark is two columns wide in a terminal.
        strip += " " * (strip_width - len(strip) * 2)
        lines.append(
            f"{name:<{width}}  {j.consecutive_failures:>6}  {window:>6}  "
            f"{j.total_runs:>5} ({j.total_failures:>5})  {strip}  {judged.health.value:<7}  {label}"
        )
    alerting = sum(1 for j in ordered if j.alert)
    everything = len(state.jobs)
    of = f" (of {everything})" if len(ordered) != everything else ""
    lines.append(f"{len(ordered)} jobs{of}, {alerting} alerting")
    return "\n".join(lines)


def _past_incident(past: dict[str, Any]) -> str:
    """One closed incident of `status JOB`, on one line."""
    return (
        f"past incident {past['triggered_at']} to {past['resolved_at']} ({', '.join(past['reasons'])}): "
        f"{past['failed_runs']} failed runs"
        + (f", began at commit {for_terminal(past['first_commit'])}" if past["first_commit"] else "")
        + (f", last failure: {for_terminal(past['last_reason'])}" if past["last_reason"] else "")
    )


def job_detail(cfg: Config, state: State, job: JobState, now: int) -> str:
    """One job for a person: its counters, teams, mute, open incident, and every remembered run, newest first."""
    view = Status(cfg, state, now)
    row = view.row(job)
    lines = [
        f"job: {for_terminal(job.name)}",
        f"teams: {for_terminal(', '.join(row['teams']))}"
        + (f"  owner: {for_terminal(job.owner)}" if job.owner else ""),
        f"streak {job.consecutive_failures}, window {job.window_failures}/{job.window_size} of {row['window']}, "
        f"{job.total_runs} runs ({job.total_failures} failed)",
        f"first seen {row['first_seen']}, last seen {row['last_seen']}, last success {row['last_success']}",
        f"runs: {view.strip(job)}  (oldest → newest)",
        f"health: {for_terminal(row['health_detail'])}"
        + _not_counted(row["category_failures"], view.policy_for(job.name).counts),
    ]
    if row["muted"]:
        lines.append(f"muted: {for_terminal(row['muted'])}")
    if row["acked"]:
        acked = row["acked"]
        lines.append(
            f"acknowledged by {for_terminal(acked['by'])} at {acked['at']}; reminders wait until {acked['until']}"
        )
    found = row["incident"]
    if found is None:
        lines.append("no open incident")
    else:
        lines.append(
            f"ALERTING since {found['triggered_at']} ({', '.join(found['reasons'])}), failing since "
            f"{found['failing_since']}"
            + (f", began at commit {for_terminal(found['first_commit'])}" if found["first_commit"] else "")
            + f", last notified {found['last_notified_at']}"
            + (f", {found['suppressed']} suppressed by mutes" if found["suppressed"] else "")
        )
    lines.extend(_past_incident(past) for past in row["incidents"])
    lines.append("remembered runs, newest first:")
    for r in reversed(row["runs"]):
        extra = [
            f"attempt {r['attempt']}" if r["attempt"] else "",
            r["commit"] or "",
            r["reason"] or "",
            r["url"] or "",
        ]
        detail = "  ".join(for_terminal(e) for e in extra if e)
        lines.append(f"  {r['finished_at']}  {for_terminal(r['run_id']):>10}  {r['status']:<23}  {detail}".rstrip())
    return "\n".join(lines)
