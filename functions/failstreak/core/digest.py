"""The daily digest (docs/digest.md): when one is due, and what it says about a destination's jobs. Pure: the
clock and the time zone are arguments.

When: a digest is due on a local date when that date's weekday is one of the schedule's and the local wall-clock
time has reached `at`. A pass that finds it due and that the state's `digest_day` is an earlier date enqueues the
day's digests and records the date, so every later pass of that day finds them done, and a pass that was down at
`at` sends them at its next run that day. Nothing is ever sent for a past day: only today's local date is looked at.

Daylight saving time: the schedule compares local wall-clock times, so 09:00 stays 09:00 on the days the clocks
change. A time inside the hour the clocks skip (02:30 on Europe/Paris's spring-forward day) is reached at the
first pass after the jump (from 03:00 local); a time that happens twice (02:30 on the fall-back day) is reached
at its first occurrence, and the second finds the day done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from failstreak.core.counting import run_outcome
from failstreak.core.health import FlakyRoute, Health, Judgement
from failstreak.core.model import (
    Digest,
    DigestLine,
    DigestSection,
    Event,
    JobState,
    Notification,
    Outcome,
)
from failstreak.core.policy import JobPolicy

DAY_MS = 24 * 60 * 60 * 1000
# What one section of a stored digest lists: the outbox keeps every pending digest in the state, and no
# rendering shows more (Slack shows fewer, and says how many more there are).
MAX_LINES = 50
# The most failing jobs of the last 24 hours: the top of the list, not every job that failed once.
MAX_FAILING = 10
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCOPE = "digest"


@dataclass(frozen=True)
class DigestSchedule:
    """When the daily digest goes out: at local time `at` in `zone` (named `zone_name`), on `weekdays`
    (0 = Monday, as `date.weekday()`)."""

    at: time
    zone: tzinfo
    zone_name: str
    weekdays: frozenset[int] = frozenset(range(7))


def local_day(schedule: DigestSchedule, now: int) -> str | None:
    """Today's local date (`YYYY-MM-DD`) if its digest is due at `now` (epoch ms): a chosen weekday, at or after
    `at`; None otherwise."""
    local = datetime.fromtimestamp(now / 1000, UTC).astimezone(schedule.zone)
    if local.weekday() not in schedule.weekdays:
        return None
    if (local.hour, local.minute, local.second) < (schedule.at.hour, schedule.at.minute, schedule.at.second):
        return None
    return local.date().isoformat()


def due(schedule: DigestSchedule, last_day: str | None, now: int) -> str | None:
    """The local date whose digests this pass enqueues, or None: today's, when it is due and the last digests
    enqueued (`last_day`) are of an earlier date. ISO dates compare as text."""
    day = local_day(schedule, now)
    if day is None or (last_day is not None and day <= last_day):
        return None
    return day


@dataclass(frozen=True, slots=True)
class JobLines:
    """What one job brings to the digests of the destinations it is routed to: a line per section it is in."""

    alerting: DigestLine | None = None
    flaky: DigestLine | None = None
    silent: DigestLine | None = None
    failing: DigestLine | None = None
    fixed: tuple[DigestLine, ...] = ()


def job_lines(job: JobState, policy: JobPolicy, judged: Judgement, now: int) -> JobLines:
    """The job's lines: alerting (an open incident, other than silence), flaky (unless its route is `off`),
    silent, its failures among the remembered runs of the last 24 hours, and its incidents closed in them."""
    alert = job.alert
    alerting = None
    if alert is not None and alert.reasons != ["silent"]:
        alerting = DigestLine(
            job.name,
            streak=job.consecutive_failures,
            failures=job.window_failures,
            runs=job.window_size,
            since=alert.since,
        )
    flaky = None
    if judged.health is Health.FLAKY and policy.flaky is not FlakyRoute.OFF:
        flaky = DigestLine(job.name, detail=judged.describe())
    silent = DigestLine(job.name, since=judged.silent_since) if judged.health is Health.SILENT else None
    return JobLines(alerting, flaky, silent, _failing(job, policy, now), _fixed(job, now))


def _failing(job: JobState, policy: JobPolicy, now: int) -> DigestLine | None:
    """The job's failed runs finished in the last 24 hours (those it still remembers), with the newest's link."""
    count = 0
    url = None
    for run in reversed(job.runs):
        if run.finished_at < now - DAY_MS:
            break
        if run_outcome(policy, run) is Outcome.FAILURE:
            count += 1
            url = url or run.url
    return DigestLine(job.name, failures=count, url=url) if count else None


def _fixed(job: JobState, now: int) -> tuple[DigestLine, ...]:
    return tuple(
        DigestLine(job.name, failures=i.failed_runs, since=i.since, at=i.resolved_at)
        for i in job.incidents
        if i.resolved_at >= now - DAY_MS
    )


def _section(lines: Iterable[DigestLine], key: Callable[[DigestLine], Any], limit: int = MAX_LINES) -> DigestSection:
    ordered = sorted(lines, key=key)
    return DigestSection(tuple(ordered[:limit]), max(len(ordered) - limit, 0))


def build(day: str, zone: str, lines: Sequence[JobLines]) -> Digest:
    """One destination's digest from the lines of its jobs: alerting by longest streak, flaky by name, silent by
    how long, the most failing by count, fixed newest first (then by name)."""
    return Digest(
        day=day,
        zone=zone,
        jobs=len(lines),
        alerting=_section((x.alerting for x in lines if x.alerting), lambda d: (-d.streak, -d.failures, d.job)),
        flaky=_section((x.flaky for x in lines if x.flaky), lambda d: d.job),
        silent=_section((x.silent for x in lines if x.silent), lambda d: (d.since or 0, d.job)),
        failing=_section((x.failing for x in lines if x.failing), lambda d: (-d.failures, d.job), MAX_FAILING),
        fixed=_section((f for x in lines for f in x.fixed), lambda d: (-(d.at or 0), d.job)),
    )


def notification(digest: Digest, now: int) -> Notification:
    """The digest as a notification: event `digest`, about no job (`scope: "digest"`); its id names the day, so
    that a destination's outbox entry for it (`digest:<day>><destination>`) is one per destination and day."""
    return Notification(
        id=f"{SCOPE}:{digest.day}",
        job="",
        event=Event.DIGEST,
        reasons=(),
        consecutive_failures=0,
        window_failures=0,
        window_size=0,
        consecutive_threshold=None,
        cumulative_threshold=None,
        window=0,
        created_at=now,
        scope=SCOPE,
        digest=digest,
    )


def by_destination(
    jobs: Mapping[str, JobState], destinations: Callable[[JobState], Iterable[str]]
) -> dict[str, list[str]]:
    """Each destination's jobs, by name in the state's order; a job goes to every destination it is routed to."""
    out: dict[str, list[str]] = {}
    for name, job in jobs.items():
        for dest in destinations(job):
            out.setdefault(dest, []).append(name)
    return out
