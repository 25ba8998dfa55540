"""`failstreak status` (docs/cli.md): the jobs as a table, filtered; one job's history and incident; the JSON.

Everything a producer controls is escaped for the terminal (app/text.for_terminal) before it is printed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from failstreak.app.config import Config
from failstreak.app.routing import Router
from failstreak.app.text import for_terminal
from failstreak.core import counting, triage
from failstreak.core.alerting import mute_covering
from failstreak.core.counting import run_outcome
from failstreak.core.health import Judgement
from failstreak.core.jobindex import briefs, decoded
from failstreak.core.model import Ack, Alert, JobState, Mute, MuteBook, Outcome, State, iso
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


# A time as `status --json` writes it: a datetime, which msgspec encodes exactly as `iso` writes it (RFC 3339,
# UTC, to the second, `Z`), or `iso`'s own text when a time is past what a datetime holds; None for no time.
Stamp = datetime | str | None
_STAMPS = list[datetime | None]


def stamps(times: list[int | None]) -> list[Stamp]:
    """Each epoch-ms time as `status --json` writes it (`Stamp`): built in one call in C, a million times in a
    fraction of what a million calls of `iso` take; each by `iso` when one is past what a datetime holds."""
    try:
        found: list[Stamp] = msgspec.convert([None if t is None else t // 1000 for t in times], _STAMPS, strict=False)
    except msgspec.ValidationError:
        return [iso(t) for t in times]
    return found


class RunEntry(msgspec.Struct, gc=False):
    """A remembered run in `status --json`."""

    run_id: str
    status: str
    finished_at: Stamp
    attempt: int
    url: str | None
    commit: str | None
    reason: str | None


class ClosedIncident(msgspec.Struct, gc=False):
    """A closed incident in `status --json` (`incidents`, newest first)."""

    triggered_at: str | None
    resolved_at: str | None
    reasons: list[str]
    failing_since: str | None
    failed_runs: int
    first_commit: str | None
    last_reason: str | None
    suppressed: int


class OpenIncident(msgspec.Struct, gc=False):
    """The open incident in `status --json` (`incident`)."""

    triggered_at: str | None
    reasons: list[str]
    failing_since: str | None
    first_commit: str | None
    last_notified_at: str | None
    suppressed: int


class Acked(msgspec.Struct, gc=False):
    """The acknowledgement in force in `status --json` (`acked`)."""

    by: str
    at: str | None
    until: str | None


class JobEntry(msgspec.Struct, gc=False):
    """One job in `status --json` (docs/cli.md), its fields in the order written. Rows of many jobs are encoded by
    msgspec straight from these structs (`write_json`), with no dict per job or per run."""

    health: str
    health_detail: str
    category_failures: dict[str, int]
    consecutive_failures: int
    window_failures: int
    window_size: int
    window: int
    total_runs: int
    total_failures: int
    alerting: bool
    alerting_since: str | None
    reasons: list[str]
    first_seen: Stamp
    last_seen: Stamp
    last_success: Stamp
    last_failure: Stamp
    owner: str | None
    teams: list[str]
    muted: str | None
    acked: Acked | None
    incident: OpenIncident | None
    incidents: list[ClosedIncident]
    runs: list[RunEntry]


def _open_incident(alert: Alert) -> OpenIncident:
    return OpenIncident(
        iso(alert.triggered_at),
        list(alert.reasons),
        iso(alert.since),
        alert.first_commit,
        iso(alert.last_notified_at),
        alert.suppressed,
    )


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
        return sorted(self.matching(selection), key=lambda j: (j.alert is None, -j.consecutive_failures, j.name))

    def matching(self, selection: Selection) -> list[JobState]:
        """The selected jobs, in the state's order."""
        # Picked by name and alert from the state's index first: only those jobs are decoded, a slice of them at
        # a time (docs/state.md).
        named = [
            b.name
            for b in briefs(self.state.jobs)
            if (selection.pattern is None or fnmatch.fnmatchcase(b.name, selection.pattern))
            and (not selection.alerting or b.alerting)
        ]
        return [
            j
            for j in decoded(self.state.jobs, named)
            if (not selection.teams or set(selection.teams) & set(self.teams(j)))
            and (not selection.health or self.triage(j)[0].health.value in selection.health)
        ]

    def strip(self, job: JobState) -> str:
        """The job's remembered runs in its window as marks, oldest first (✅ success, ❌ failure, ⚪ ignored)."""
        policy = self.policy_for(job.name)
        return "".join(MARK[run_outcome(policy, r)] for r in job.runs[-policy.window :])

    def row(self, job: JobState) -> dict[str, Any]:
        """One job in `status --json`: its counters, teams, mute, open incident and remembered runs."""
        row: dict[str, Any] = msgspec.to_builtins(self.entries([job])[0])
        return row

    def entries(self, jobs: list[JobState]) -> list[JobEntry]:
        """The jobs' entries of `status --json`, in order. Their times are rendered together (`stamps`): one
        call for every remembered run of `jobs`, one for their first and last seen, success and failure."""
        at = stamps([r.finished_at for j in jobs for r in j.runs])
        seen = stamps([t for j in jobs for t in (j.first_seen, j.last_seen, j.last_success, j.last_failure)])
        out = []
        start = 0
        for i, job in enumerate(jobs):
            end = start + len(job.runs)
            out.append(self._entry(job, at[start:end], seen[4 * i : 4 * i + 4]))
            start = end
        return out

    def _entry(self, job: JobState, at: list[Stamp], seen: list[Stamp]) -> JobEntry:
        mute = self.mute(job)
        judged, by_category = self.triage(job)
        alert = job.alert
        ack = self.ack(job)
        return JobEntry(
            judged.health.value,
            judged.describe(),
            by_category,
            job.consecutive_failures,
            job.window_failures,
            job.window_size,
            self.policy_for(job.name).window,
            job.total_runs,
            job.total_failures,
            alert is not None,
            iso(alert.triggered_at) if alert is not None else None,
            list(alert.reasons) if alert is not None else [],
            seen[0],
            seen[1],
            seen[2],
            seen[3],
            job.owner,
            self.teams(job),
            describe_mute(mute, job) if mute is not None else None,
            Acked(ack.by, iso(ack.at), iso(ack.until)) if ack is not None else None,
            _open_incident(alert) if alert is not None else None,
            [
                ClosedIncident(
                    iso(i.triggered_at),
                    iso(i.resolved_at),
                    list(i.reasons),
                    iso(i.since),
                    i.failed_runs,
                    i.first_commit,
                    i.last_reason,
                    i.suppressed,
                )
                for i in reversed(job.incidents)
            ],
            # The status, a StrEnum, is encoded as its value.
            [
                RunEntry(r.run_id, r.status, t, r.attempt, r.url, r.commit, r.reason)
                for r, t in zip(job.runs, at, strict=True)
            ],
        )


# Jobs encoded per write of `write_json`: the output of a few thousand jobs at a time, never the whole document.
CHUNK = 2048
_ENCODER = msgspec.json.Encoder()


def write_json(
    view: Status, jobs: list[JobState], head: dict[str, Any], tail: dict[str, Any], write: Callable[[bytes], object]
) -> None:
    """`status --json` through `write` (docs/cli.md): `head`'s fields, `jobs` (the entry of each, by name, in the
    order given), then `tail`'s fields, and a newline; the jobs encoded `CHUNK` at a time, so that the document is
    never held whole. The same bytes as one `orjson.dumps` of the whole document (a test holds it to that)."""
    encode = _ENCODER.encode
    write((encode(head)[:-1] + b"," if head else b"{") + b'"jobs":{')
    for start in range(0, len(jobs), CHUNK):
        chunk = jobs[start : start + CHUNK]
        body = encode(dict(zip([j.name for j in chunk], view.entries(chunk), strict=True)))
        write((b"," if start else b"") + body[1:-1])
    rest = encode(tail)
    write(b"}" + (b"," + rest[1:] if tail else b"}") + b"\n")


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
