"""Silence (docs/triage.md): a job that has stopped running. Pure: the clock is an argument.

A job is judged silent only against a cadence it has: declared (`overrides[].expect_every`: an interval such as
`1h`, or `cron MIN HOUR DOM MONTH DOW ZONE`) or learned from its own runs by hour of the week (`silence.learn`).
A job with neither is never silent.

- interval: silent when its last run is older than the interval plus the grace;
- cron: silent when a time the expression names is more than the grace ago and the job has not run since;
- learned: silent when the first hour of the week it usually runs in, after the hour of its last run, has
  ended more than the grace ago.

The grace is `silence.grace` when set, else half the interval (for cron, half the gap before the missed time),
at least 30 minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_HOURS = 7 * 24
MIN_GRACE_MS = 30 * MINUTE_MS
_UNITS = {"s": 1000, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": 7 * DAY_MS}
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
# How far back a cron expression is searched for its previous time: a year, plus a leap day.
_SEARCH_DAYS = 367


def parse_duration(text: str) -> int:
    """Milliseconds for `30m`, `1h`, `1.5h`, `2d`, `1w`; ValueError saying what is accepted otherwise."""
    m = _INTERVAL.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration: write a positive number and a unit, as 30m, 1h, 2d or 1w")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


@dataclass(frozen=True, slots=True)
class Every:
    """An interval cadence: the job runs at least every `ms` milliseconds."""

    ms: int


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun"), start=1)} | {
    m: i for i, m in enumerate(("jul", "aug", "sep", "oct", "nov", "dec"), start=7)
}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


def _field(text: str, low: int, high: int, names: dict[str, int], what: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.lower().split(","):
        part, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"{what}: {step_text!r} is not a step")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        else:
            pieces = part.split("-", 1)
            numbers = [names[p] if p in names else _number(p, what) for p in pieces]
            start, end = numbers[0], numbers[-1]
            if step_text and len(pieces) == 1:
                end = high  # `5/15`: from 5 to the end, every 15
        if not (low <= start <= end <= high):
            raise ValueError(f"{what}: {item!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _number(text: str, what: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{what}: {text!r} is not a number")
    return int(text)


@dataclass(frozen=True, slots=True)
class Cron:
    """A five-field cron expression (minute hour day-of-month month day-of-week) read in a time zone.

    As in cron, when both the day of the month and the day of the week are restricted, a day matching
    either is a match. Days of the week are 0-7 (0 and 7 are Sunday) or `sun`..`sat`; months 1-12 or `jan`..`dec`.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool
    zone: ZoneInfo
    text: str

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 6:
            raise ValueError(
                f"{text!r} is not a cron cadence: write five fields and a time zone, as 'cron 0 9 * * 1-5 Europe/Paris'"
            )
        minute, hour, day, month, weekday, zone_name = parts
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"{zone_name!r} is not a time zone (an IANA name such as Europe/Paris or UTC)") from e
        weekdays = _field(weekday, 0, 7, _DAYS, "day of week")
        return cls(
            minutes=_field(minute, 0, 59, {}, "minute"),
            hours=_field(hour, 0, 23, {}, "hour"),
            days=_field(day, 1, 31, {}, "day of month"),
            months=_field(month, 1, 12, _MONTHS, "month"),
            weekdays=frozenset(d % 7 for d in weekdays),
            any_day=day == "*",
            any_weekday=weekday == "*",
            zone=zone,
            text=text,
        )

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return dom and dow
        return dom or dow

    def previous(self, at_ms: int) -> int | None:
        """The latest time at or before `at_ms` that the expression names (epoch ms), or None within a year."""
        local = datetime.fromtimestamp(at_ms / 1000, self.zone).replace(second=0, microsecond=0, tzinfo=None)
        hours = sorted(self.hours, reverse=True)
        minutes = sorted(self.minutes, reverse=True)
        day = local.replace(hour=0, minute=0)
        for back in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in hours:
                    if back == 0 and hour > local.hour:
                        continue
                    for minute in minutes:
                        if back == 0 and hour == local.hour and minute > local.minute:
                            continue
                        when = int(day.replace(hour=hour, minute=minute, tzinfo=self.zone).timestamp() * 1000)
                        if when <= at_ms:
                            return when
            day -= timedelta(days=1)
        return None


Cadence = Every | Cron


def parse_cadence(text: str) -> Cadence:
    """`1h`, `30m`, `1d` (an interval) or `cron 0 9 * * 1-5 Europe/Paris`; ValueError saying what is wrong."""
    stripped = text.strip()
    if stripped.lower().startswith("cron "):
        return Cron.parse(stripped[5:].strip())
    return Every(parse_duration(stripped))


def _grace(gap_ms: int, grace_ms: int | None) -> int:
    return grace_ms if grace_ms is not None else max(gap_ms // 2, MIN_GRACE_MS)


def declared_silence(cadence: Cadence, last_run: int | None, now: int, grace_ms: int | None = None) -> int | None:
    """When the job was expected and did not run, if it is silent now against a declared cadence; else None.

    A job that never ran is not judged: there is no last run to be late after.
    """
    if last_run is None:
        return None
    if isinstance(cadence, Every):
        expected = last_run + cadence.ms
        return expected if now >= expected + _grace(cadence.ms, grace_ms) else None
    latest = cadence.previous(now)
    if latest is None:
        return None
    before = cadence.previous(latest - 1)
    if before is None:
        return None if now < latest + _grace(DAY_MS, grace_ms) or last_run >= latest else latest
    # The usual gap, not the longest: a weekday job's grace on Monday is that of any other day, not the weekend's.
    earlier = cadence.previous(before - 1)
    gap = min(latest - before, before - earlier) if earlier is not None else latest - before
    expected = latest if now >= latest + _grace(gap, grace_ms) else before
    return expected if last_run < expected else None


# ------------------------------------------------------------------------------------ the learned cadence


class Learned(msgspec.Struct, array_like=True, gc=False):
    """A job's hours of the week (UTC, Monday 00:00 = hour 0), learned from its runs: stored as the row
    `[seen, active, until]`, two 168-bit masks in hexadecimal and the finish time of the newest run learned.

    An hour becomes active the second time a run finishes in it (in the same week or a later one), so a single
    stray run does not teach the job a new hour.
    """

    seen: str = "0"
    active: str = "0"
    until: int = 0


def hour_of_week(ms: int) -> int:
    """The hour of the week (UTC) of a time: 0 is Monday 00:00-01:00, 167 Sunday 23:00-24:00."""
    days = ms // DAY_MS
    # 1970-01-01 was a Thursday: day 0 is weekday 3 (Monday = 0).
    return ((days + 3) % 7) * 24 + (ms % DAY_MS) // HOUR_MS


def learn(learned: Learned | None, finished: Iterable[int]) -> Learned:
    """The learned cadence after the runs that finished at the times given (those newer than what it holds)."""
    current = learned or Learned()
    seen = int(current.seen, 16)
    active = int(current.active, 16)
    until = current.until
    for at in sorted(finished):
        if at <= current.until:
            continue
        bit = 1 << hour_of_week(at)
        if seen & bit:
            active |= bit
        seen |= bit
        until = max(until, at)
    return Learned(seen=format(seen, "x"), active=format(active, "x"), until=until)


def learned_silence(learned: Learned | None, last_run: int | None, now: int, grace_ms: int | None = None) -> int | None:
    """When the job was expected and did not run, against its learned hours of the week; None if it is not
    silent, or has learned no hour yet."""
    if learned is None or last_run is None:
        return None
    active = int(learned.active, 16)
    if not active:
        return None
    start = (last_run // HOUR_MS + 1) * HOUR_MS  # the hour after the one of the last run
    for step in range(WEEK_HOURS):
        slot = start + step * HOUR_MS
        if slot > now:
            return None
        if active >> hour_of_week(slot) & 1:
            return slot if now >= slot + HOUR_MS + _grace(0, grace_ms) else None
    return None


def describe_cadence(cadence: Cadence) -> str:
    """The cadence as the config wrote it, for a notification: `every 1h`, `cron 0 9 * * 1-5 Europe/Paris`."""
    if isinstance(cadence, Cron):
        return f"cron {cadence.text}"
    ms = cadence.ms
    for unit, size in (("d", DAY_MS), ("h", HOUR_MS), ("m", MINUTE_MS)):
        if ms % size == 0:
            return f"every {ms // size}{unit}"
    return f"every {ms // 1000}s"


def silent_since_text(since: int, now: int) -> str:
    """`silent: no run since it was expected 5 h ago`."""
    hours = max(now - since, 0) / HOUR_MS
    ago = f"{hours:.0f} h" if hours >= 1 else f"{max(now - since, 0) // MINUTE_MS} min"
    return f"silent: no run since it was expected {ago} ago"
