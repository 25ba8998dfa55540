"""Pure types shared by every layer: statuses, executions, job state, notifications.

Times are integers: milliseconds since the Unix epoch, UTC. Nothing here does I/O.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

from failstreak.core.categories import CategoryWatch
from failstreak.core.incidents import Incident
from failstreak.core.silence import Learned


class Status(StrEnum):
    """Canonical run status (docs/records.md)."""

    SUCCESS = "success"
    SUCCEEDED_WITH_FAILURES = "succeeded_with_failures"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    UPSTREAM_FAILED = "upstream_failed"
    CANCELED = "canceled"
    SKIPPED = "skipped"
    RUNNING = "running"


class Outcome(StrEnum):
    """How a status counts towards streaks and windows."""

    SUCCESS = "success"
    FAILURE = "failure"
    IGNORED = "ignored"


class Event(StrEnum):
    TRIGGERED = "triggered"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    # The daily digest (docs/digest.md): about no job (`scope: "digest"`), one per destination and local day.
    DIGEST = "digest"


DEFAULT_OUTCOMES: dict[Status, Outcome] = {
    Status.SUCCESS: Outcome.SUCCESS,
    Status.SUCCEEDED_WITH_FAILURES: Outcome.SUCCESS,
    Status.FAILED: Outcome.FAILURE,
    Status.TIMED_OUT: Outcome.FAILURE,
    Status.UPSTREAM_FAILED: Outcome.IGNORED,
    Status.CANCELED: Outcome.IGNORED,
    Status.SKIPPED: Outcome.IGNORED,
    Status.RUNNING: Outcome.IGNORED,
}

# Platform spellings accepted in the inbox's `status` field (docs/records.md), lower-cased.
# Source adapters apply their own context (GitLab's allow_failure, failure_reason) before this table.
STATUS_ALIASES: dict[str, Status] = {
    # canonical
    **{s.value: s for s in Status},
    # Databricks result_state
    "success_with_failures": Status.SUCCEEDED_WITH_FAILURES,
    "timedout": Status.TIMED_OUT,
    "upstream_canceled": Status.UPSTREAM_FAILED,
    "upstream_cancelled": Status.UPSTREAM_FAILED,
    "excluded": Status.SKIPPED,
    "maximum_concurrent_runs_reached": Status.SKIPPED,
    # Dataiku state
    "done": Status.SUCCESS,
    "aborted": Status.CANCELED,
    "not_started": Status.RUNNING,
    # GitLab status
    "created": Status.RUNNING,
    "pending": Status.RUNNING,
    "manual": Status.SKIPPED,
    # GitHub conclusion
    "failure": Status.FAILED,
    "cancelled": Status.CANCELED,
    "neutral": Status.SKIPPED,
}

TERMINAL_STATUSES = frozenset(s for s in Status if s is not Status.RUNNING)


def parse_status(value: str) -> Status | None:
    """The canonical status for a canonical or platform spelling, case-insensitive; None if unknown."""
    return STATUS_ALIASES.get(value.strip().lower())


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def iso(ms: int | None) -> str | None:
    """RFC 3339 text for an epoch-milliseconds time (UTC, second precision).

    Never raises: a time no calendar date can show (a state written before times were bounded, or edited by
    hand) comes out as `epoch-ms:<value>`, so that a bad time can never stop a status page or a notification.
    """
    if ms is None:
        return None
    try:
        # The date from a small cache and the time of day by arithmetic: `status --json` writes one per remembered
        # run (a million at 100k jobs), and this takes about a third less time than formatting a datetime.
        day, second = divmod(ms // 1000, 86_400)
        minute, second = divmod(second, 60)
        hour, minute = divmod(minute, 60)
        return f"{_iso_day(day)}T{hour:02d}:{minute:02d}:{second:02d}Z"
    except (ValueError, OverflowError, OSError, TypeError):
        return f"epoch-ms:{ms!r}"[:40]


@functools.lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    """`YYYY-MM-DD` of the UTC day `day` days after the epoch; raises past what a date can show."""
    return datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()


def run_id_key(run_id: str) -> tuple[int, int, str]:
    """Order run ids numerically when they are numbers, else lexically (numbers first)."""
    if run_id.isdigit():
        return (0, int(run_id), "")
    return (1, 0, run_id)


class Execution(msgspec.Struct, frozen=True, gc=False):
    """One run (or one attempt of a run) of a job, as delivered by a producer or a source.

    A frozen msgspec Struct: built in C (a pass builds one per inbox record, so this is one of the hottest
    constructors of the project), equal and hashable by value, picklable. Its fields are atomic
    values only, so it can never be part of a reference cycle and stays out of the cyclic collector (gc=False).
    Copy with changes through `msgspec.structs.replace`.
    """

    job: str
    run_id: str
    status: Status
    finished_at: int
    attempt: int = 0
    url: str | None = None
    commit: str | None = None
    reason: str | None = None
    owner: str | None = None
    source: str | None = None
    category: str | None = None

    def order_key(self) -> tuple[int, tuple[int, int, str]]:
        return (self.finished_at, run_id_key(self.run_id))


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input line or file that could not be ingested, and why."""

    file: str
    line: int | None
    reason: str
    raw: str | None = None

    def describe(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


class Run(msgspec.Struct, array_like=True, gc=False):
    """A remembered terminal run of a job, stored as the row `[finished_at, run_id, attempt, status, url, commit,
    reason, category]` (docs/state.md).

    `url`, `commit`, `reason` and `category` are kept for runs whose status counts as a failure only; a failure's
    category is None when it is `code` (docs/triage.md). Remembered runs are the bulk of the
    state document (one per job and run in the window), so they are the cheapest struct msgspec offers: decoded
    and encoded in C as arrays, and never tracked by the cyclic garbage collector (they hold atomic values only).
    """

    finished_at: int
    run_id: str
    attempt: int
    status: Status
    url: str | None = None
    commit: str | None = None
    reason: str | None = None
    category: str | None = None

    def order_key(self) -> tuple[int, tuple[int, int, str]]:
        return (self.finished_at, run_id_key(self.run_id))


class Alert(msgspec.Struct, omit_defaults=True, gc=False):
    """A job's open incident: from `triggered` to `resolved`."""

    triggered_at: int
    reasons: list[str]
    since: int | None
    failures_base: int
    last_notified_at: int
    runs_at_last_notice: int
    first_commit: str | None = None
    announced: bool = True
    suppressed: int = 0


class JobState(msgspec.Struct, omit_defaults=True, gc=False):
    """What the monitor remembers about one job (docs/state.md); stored as one object of the document's `jobs` list.

    `runs` holds the remembered terminal runs, oldest first: at least the window of counted runs, plus the
    ignored runs between them. `older_streak` is the number of failures that precede the remembered runs
    without a success in between, so the streak is exact even when it is longer than what is remembered.
    `incidents` are its last closed incidents, oldest first (core/incidents.py). Fields at their default are not
    stored. Nothing a job holds refers back to it, so it is not tracked by the
    cyclic garbage collector.
    """

    name: str = ""
    runs: list[Run] = []
    older_streak: int = 0
    forgotten: int = 0
    total_runs: int = 0
    total_failures: int = 0
    first_seen: int = 0
    last_seen: int = 0
    last_success: int | None = None
    last_failure: int | None = None
    owner: str | None = None
    source: str | None = None
    consecutive_failures: int = 0
    window_failures: int = 0
    window_size: int = 0
    alert: Alert | None = None
    threads: dict[str, str] = {}
    mute_runs: dict[str, int] = {}
    learned: Learned | None = None
    incidents: list[Incident] = []


class RunBrief(msgspec.Struct, frozen=True, gc=False):
    """A run as shown in a notification's strip of recent runs."""

    run_id: str
    status: Status
    outcome: Outcome
    finished_at: int
    url: str | None = None
    commit: str | None = None
    reason: str | None = None


class DigestLine(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One job in a section of a daily digest (docs/digest.md). Which fields are set depends on the section:
    `streak`, `failures` of `runs` and `since` for an alerting job; `detail` for a flaky one; `since` for a silent
    one; `failures` (in the last 24 hours) and `url` (the newest failed run's) for the most failing; `failures`,
    `since` and `at` (when it was resolved) for a fixed one."""

    job: str
    streak: int = 0
    failures: int = 0
    runs: int = 0
    since: int | None = None
    at: int | None = None
    detail: str | None = None
    url: str | None = None


class DigestSection(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """A section of a daily digest: its first lines, and how many more jobs it has than it lists."""

    lines: tuple[DigestLine, ...] = ()
    more: int = 0

    @property
    def total(self) -> int:
        return len(self.lines) + self.more


class Digest(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """What one destination's daily digest says (docs/digest.md), as the pass that enqueued it saw the estate.

    `day` is the local date (`YYYY-MM-DD` in `zone`) it is the digest of; `jobs` how many jobs the destination
    owns. The run-history link is not stored: its notifier mints it when it sends (app/pagelink.py), as for the
    alert messages.
    """

    day: str
    zone: str
    jobs: int
    alerting: DigestSection = msgspec.field(default_factory=DigestSection)
    flaky: DigestSection = msgspec.field(default_factory=DigestSection)
    silent: DigestSection = msgspec.field(default_factory=DigestSection)
    failing: DigestSection = msgspec.field(default_factory=DigestSection)
    fixed: DigestSection = msgspec.field(default_factory=DigestSection)


class Notification(msgspec.Struct, frozen=True):
    """An event about one job, ready to be routed and rendered; stored in outbox entries with every field.

    `id` is unique and stable for the event, so a redelivered outbox entry is recognisable.
    """

    id: str
    job: str
    event: Event
    reasons: tuple[str, ...]
    consecutive_failures: int
    window_failures: int
    window_size: int
    consecutive_threshold: int | None
    cumulative_threshold: int | None
    window: int
    created_at: int
    since: int | None = None
    failed_runs: int = 0
    last_reason: str | None = None
    first_commit: str | None = None
    recent: tuple[RunBrief, ...] = ()
    owner: str | None = None
    source: str | None = None
    suppressed: bool = False
    mute_reason: str | None = None
    health: str = "healthy"
    health_detail: str | None = None
    scope: str | None = None
    digest: Digest | None = None


def mute_id(match: str, until: int | None, runs: int | None, until_success: bool, created_at: int) -> str:
    """A stable identifier for a mute, so its per-job progress (`JobState.mute_runs`) survives across passes."""
    text = f"{match}|{until}|{runs}|{until_success}|{created_at}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class Mute(msgspec.Struct, omit_defaults=True, gc=False):
    """A mute: by job pattern, until a time, for N counted runs, or until the next success.

    A muted job is still counted; its notifications are recorded as suppressed, not sent. Stored in the document's
    `mutes` list (fields at their default omitted). Build one with `Mute.new`, which derives its `id`.
    """

    id: str
    match: str
    created_at: int
    until: int | None = None
    runs: int | None = None
    until_success: bool = False
    reason: str | None = None

    @classmethod
    def new(
        cls,
        match: str,
        created_at: int,
        *,
        until: int | None = None,
        runs: int | None = None,
        until_success: bool = False,
        reason: str | None = None,
    ) -> Mute:
        """The mute, with the id its fields and creation time give (a mute re-created later is a new mute)."""
        return cls(
            id=mute_id(match, until, runs, until_success, created_at),
            match=match,
            created_at=created_at,
            until=until,
            runs=runs,
            until_success=until_success,
            reason=reason,
        )


class Ack(msgspec.Struct, gc=False):
    """An acknowledgement ("I'm on it"): `by` took `job` in hand at `at`; its reminders are not sent until
    `until` (its triggered and resolved still are). Stored in the mutes document's `acks` list."""

    job: str
    by: str
    at: int
    until: int


@dataclass(slots=True)
class MuteBook:
    """The mutes document (docs/state.md, "The mutes document"): the mutes and acknowledgements people wrote,
    apart from the state, so that writing one never rewrites the state."""

    mutes: list[Mute] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)


class OutboxEntry(msgspec.Struct, omit_defaults=True):
    """A notification waiting to reach one destination (`slack:#chan`, `email:a@b`, `console`); stored in the
    document's `outbox` list (fields at their default omitted)."""

    id: str
    destination: str
    notification: Notification
    attempts: int = 0
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: int = 0


class DeadLetter(msgspec.Struct):
    """A notification given up on for one destination; the document keeps the last 200 in `dead_letters`, every
    field written."""

    id: str
    destination: str = ""
    job: str = ""
    event: str = ""
    error: str | None = None
    attempts: int = 0
    at: int = 0


# The reason of an incident opened on a job's silence (docs/triage.md); an alert on its silence alone has only it.
SILENT = "silent"


@dataclass(slots=True)
class State:
    """The whole persisted state document (see docs/state.md). `jobs` is a plain dict, or, for a state a pass read
    from a large document, jobs decoded as they are first read (`state/lazy.py`)."""

    jobs: MutableMapping[str, JobState] = field(default_factory=dict)
    outbox: list[OutboxEntry] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    cursors: dict[str, Any] = field(default_factory=dict)
    # The config file's mutes: undated id (`Mute.new(..., created_at=0).id`) -> when a pass first saw it (epoch ms).
    config_mutes: dict[str, int] = field(default_factory=dict)
    updated_at: int | None = None
    passes: int = 0
    categories: CategoryWatch = field(default_factory=CategoryWatch)
    # A digest of the config of the last pass that saved (`PassSettings.digest`): a pass with another config
    # evaluates every alerting job, not only those the index says have news (docs/state.md, "The index").
    config_digest: str | None = None
    # The mutes a version-5 document held, read to be moved into the mutes document; never written back.
    moved_mutes: list[Mute] = field(default_factory=list)
    # The local date (`YYYY-MM-DD`, in `digest.timezone`) of the last daily digests enqueued (docs/digest.md).
    digest_day: str | None = None
