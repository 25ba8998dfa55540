"""The daily digest's schedule and content (core/digest.py, docs/digest.md)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.core import digest
from failstreak.core.health import FlakyRoute, Health, Judgement
from failstreak.core.incidents import Incident
from failstreak.core.model import Alert, DigestLine, Event, JobState, Run, Status
from failstreak.core.policy import JobPolicy
from tests.conftest import config

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = frozenset(range(5))  # mon..fri
HOUR = 3_600_000


def schedule(at: time = time(9, 0), weekdays: frozenset[int] = WEEKDAYS) -> digest.DigestSchedule:
    return digest.DigestSchedule(at=at, zone=PARIS, zone_name="Europe/Paris", weekdays=weekdays)


def paris(y: int, mo: int, d: int, h: int, mi: int = 0, fold: int = 0) -> int:
    """Epoch ms of a Paris wall-clock time (`fold=1`: the second of a time that happens twice)."""
    return int(datetime(y, mo, d, h, mi, tzinfo=PARIS, fold=fold).timestamp() * 1000)


def test_the_digest_is_due_from_its_local_time_on_a_chosen_weekday() -> None:
    # Given a 09:00 Paris schedule, Monday to Friday; Monday 7 December 2026
    s = schedule()
    # When a pass looks at 08:59, 09:00 and 17:00; Then it is due from 09:00, as that local date
    assert digest.local_day(s, paris(2026, 12, 7, 8, 59)) is None
    assert digest.local_day(s, paris(2026, 12, 7, 9, 0)) == "2026-12-07"
    assert digest.local_day(s, paris(2026, 12, 7, 17, 0)) == "2026-12-07"


def test_a_day_not_among_the_weekdays_has_no_digest() -> None:
    # Given a Monday-to-Friday schedule; When a pass runs on Saturday 12 and Sunday 13 December at noon
    s = schedule()
    # Then nothing is due
    assert digest.due(s, "2026-12-11", paris(2026, 12, 12, 12)) is None
    assert digest.due(s, "2026-12-11", paris(2026, 12, 13, 12)) is None
    # And Monday's is due again
    assert digest.due(s, "2026-12-11", paris(2026, 12, 14, 9, 15)) == "2026-12-14"


def test_a_day_whose_digests_were_enqueued_is_not_due_again() -> None:
    # Given the digests of 7 December enqueued; When later passes of that day look
    s = schedule()
    # Then nothing is due until the next day's time
    assert digest.due(s, "2026-12-07", paris(2026, 12, 7, 9, 15)) is None
    assert digest.due(s, "2026-12-07", paris(2026, 12, 7, 23, 59)) is None
    assert digest.due(s, "2026-12-07", paris(2026, 12, 8, 8, 45)) is None
    assert digest.due(s, "2026-12-07", paris(2026, 12, 8, 9, 0)) == "2026-12-08"


def test_a_pass_down_at_the_time_sends_that_days_digest_later_never_yesterdays() -> None:
    # Given the last digests of Monday 7 December, and no pass on Tuesday from 08:00 to 14:00
    s = schedule()
    # When the first pass after the outage runs at 14:10; Then Tuesday's digest is due
    assert digest.due(s, "2026-12-07", paris(2026, 12, 8, 14, 10)) == "2026-12-08"
    # And when no pass ran at all on Tuesday, Wednesday's first pass before 09:00 sends nothing for Tuesday
    assert digest.due(s, "2026-12-07", paris(2026, 12, 9, 8, 0)) is None


def test_nine_oclock_is_nine_oclock_local_on_both_days_the_clocks_change() -> None:
    # Given a 09:00 Paris schedule every day; Sunday 29 March 2026 (spring forward) and 25 October 2026 (fall back)
    s = schedule(weekdays=frozenset(range(7)))
    # When passes run a minute before and at 09:00 local; Then it is due at 09:00 local, i.e. 07:00 and 08:00 UTC
    for day, utc_hour in ((datetime(2026, 3, 29), 7), (datetime(2026, 10, 25), 8)):
        at = paris(day.year, day.month, day.day, 9)
        assert datetime.fromtimestamp(at / 1000, ZoneInfo("UTC")).hour == utc_hour
        assert digest.due(s, None, at - 60_000) is None
        assert digest.due(s, None, at) == day.date().isoformat()


def test_a_time_in_the_skipped_hour_is_reached_when_the_clocks_jump() -> None:
    # Given a 02:30 schedule; on 29 March 2026 Paris clocks jump from 02:00 to 03:00 (01:00 UTC)
    s = schedule(at=time(2, 30), weekdays=frozenset(range(7)))
    jump = int(datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("UTC")).timestamp() * 1000)
    # When passes run just before the jump (01:59 local) and just after it (03:00 local)
    # Then it is not due before, and due from the first pass after the jump, that day
    assert digest.due(s, "2026-03-28", jump - 60_000) is None
    assert digest.due(s, "2026-03-28", jump) == "2026-03-29"


def test_a_time_that_happens_twice_is_reached_once() -> None:
    # Given a 02:30 schedule; on 25 October 2026 Paris lives 02:00-03:00 twice
    s = schedule(at=time(2, 30), weekdays=frozenset(range(7)))
    first, second = paris(2026, 10, 25, 2, 30, fold=0), paris(2026, 10, 25, 2, 30, fold=1)
    assert second - first == HOUR
    # When a pass runs at the first 02:30, then one at the second; Then the first sends, the second finds it done
    day = digest.due(s, "2026-10-24", first)
    assert day == "2026-10-25"
    assert digest.due(s, day, second) is None


def policy(flaky: str = "alert") -> JobPolicy:
    """The default policy, with `flaky:` routed as given (as `overrides[].flaky` sets it)."""
    return config(f'overrides: [{{match: "*", flaky: "{flaky}"}}]').policy_lookup()("any")


def _job(name: str, runs: list[Run], **fields: object) -> JobState:
    return JobState(name=name, runs=runs, **fields)  # type: ignore[arg-type]


NOW = paris(2026, 12, 7, 9)


def test_a_jobs_lines_say_where_it_stands() -> None:
    # Given an alerting job with a 4-run streak, 3 failed runs in the last 24 h and one older, and an incident
    # closed 2 hours ago and one closed 2 days ago
    runs = [
        Run(NOW - 30 * HOUR, "1", 0, Status.FAILED, url="https://ci/1"),
        Run(NOW - 20 * HOUR, "2", 0, Status.CANCELED),
        Run(NOW - 10 * HOUR, "3", 0, Status.FAILED, url="https://ci/3"),
        Run(NOW - 5 * HOUR, "4", 0, Status.FAILED, url="https://ci/4"),
        Run(NOW - 1 * HOUR, "5", 0, Status.FAILED),
    ]
    job = _job(
        "ci/a",
        runs,
        consecutive_failures=4,
        window_failures=4,
        window_size=4,
        alert=Alert(NOW - 30 * HOUR, ["consecutive"], NOW - 30 * HOUR, 0, NOW, 4),
        incidents=[
            Incident(NOW - 60 * HOUR, NOW - 48 * HOUR, ["consecutive"], failed_runs=3),
            Incident(NOW - 40 * HOUR, NOW - 2 * HOUR, ["cumulative"], failed_runs=5),
        ],
    )
    # When its lines are made
    lines = digest.job_lines(job, policy(), Judgement(Health.BROKEN, streak=4), NOW)
    # Then it is alerting with its streak and window, failed 3 times in 24 h (the newest link kept), and was
    # fixed once in 24 h; it is neither flaky nor silent
    assert lines.alerting == DigestLine("ci/a", streak=4, failures=4, runs=4, since=NOW - 30 * HOUR)
    assert lines.failing == DigestLine("ci/a", failures=3, url="https://ci/4")
    assert lines.fixed == (DigestLine("ci/a", failures=5, at=NOW - 2 * HOUR),)
    assert (lines.flaky, lines.silent) == (None, None)


def test_a_flaky_job_routed_off_is_not_listed_as_flaky() -> None:
    # Given a flaky job under `flaky: digest` and one under `flaky: off`
    judged = Judgement(Health.FLAKY, flips=6, runs=10)
    listed = digest.job_lines(_job("a", []), policy(FlakyRoute.DIGEST.value), judged, NOW)
    hidden = digest.job_lines(_job("b", []), policy(FlakyRoute.OFF.value), judged, NOW)
    # Then the first is listed with its flips, the second not at all
    assert listed.flaky == DigestLine("a", detail="flaky: 6 flips in the last 10 runs")
    assert hidden.flaky is None


def test_a_silent_job_is_listed_as_silent_not_alerting() -> None:
    # Given a job whose open incident is its silence
    job = _job("s", [], alert=Alert(NOW - HOUR, ["silent"], NOW - 3 * HOUR, 0, NOW, 0))
    # When its lines are made; Then it is silent since the missed run, not alerting
    lines = digest.job_lines(job, policy(), Judgement(Health.SILENT, silent_since=NOW - 3 * HOUR), NOW)
    assert lines.silent == DigestLine("s", since=NOW - 3 * HOUR)
    assert lines.alerting is None


def test_a_digest_orders_its_sections_and_counts_what_it_does_not_list() -> None:
    # Given 60 alerting jobs with streaks 1..60 and 12 jobs that failed 1..12 times in 24 h
    lines = [digest.JobLines(alerting=DigestLine(f"j{i:02d}", streak=i)) for i in range(1, 61)]
    lines += [digest.JobLines(failing=DigestLine(f"f{i:02d}", failures=i)) for i in range(1, 13)]
    # When a destination's digest is built
    d = digest.build("2026-12-07", "Europe/Paris", lines)
    # Then the longest streaks come first, 50 listed and 10 more counted; the 10 most failing, 2 more counted
    assert d.jobs == 72
    assert [x.job for x in d.alerting.lines[:2]] == ["j60", "j59"]
    assert (len(d.alerting.lines), d.alerting.more, d.alerting.total) == (50, 10, 60)
    assert [x.failures for x in d.failing.lines] == list(range(12, 2, -1))
    assert d.failing.more == 2
    assert (d.flaky.total, d.silent.total, d.fixed.total) == (0, 0, 0)


def test_a_digest_notification_is_about_no_job_and_unique_per_day() -> None:
    # Given a digest of 7 December
    d = digest.build("2026-12-07", "Europe/Paris", [])
    # When it becomes a notification; Then it is the `digest` event, scope `digest`, with the day in its id
    n = digest.notification(d, NOW)
    assert (n.event, n.scope, n.id, n.job, n.digest) == (Event.DIGEST, "digest", "digest:2026-12-07", "", d)


def test_jobs_are_grouped_by_each_destination_they_are_routed_to() -> None:
    # Given three jobs, one routed to two channels
    jobs = {n: _job(n, []) for n in ("a", "b", "c")}
    routes = {"a": ["slack:#x"], "b": ["slack:#x", "email:o@example.com"], "c": []}
    # When grouped; Then each destination has its jobs in the state's order, and a job routed nowhere is in none
    assert digest.by_destination(jobs, lambda j: routes[j.name]) == {
        "slack:#x": ["a", "b"],
        "email:o@example.com": ["b"],
    }


@given(
    st.lists(st.integers(min_value=1, max_value=36 * 60), min_size=1, max_size=400),
    st.sampled_from(["00:00", "02:30", "09:00", "23:45"]),
    st.frozensets(st.integers(0, 6), min_size=1),
    st.sampled_from(["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"]),
)
@settings(max_examples=200, deadline=None)
def test_whatever_the_passes_a_day_gets_one_digest_iff_a_pass_ran_after_its_time(
    gaps: list[int], at: str, weekdays: frozenset[int], zone: str
) -> None:
    # Given passes at random gaps (1 minute to 36 hours) through the spring of 2026, a schedule and a zone
    tz = ZoneInfo(zone)
    hour, minute = map(int, at.split(":"))
    s = digest.DigestSchedule(at=time(hour, minute), zone=tz, zone_name=zone, weekdays=weekdays)
    now = int(datetime(2026, 3, 20, tzinfo=tz).timestamp() * 1000)
    last: str | None = None
    sent: list[str] = []
    due_days: set[str] = set()
    # When each pass asks whether a digest is due, and records the day when it sends
    for gap in gaps:
        now += gap * 60_000
        local = datetime.fromtimestamp(now / 1000, tz)
        if local.weekday() in weekdays and (local.hour, local.minute) >= (hour, minute):
            due_days.add(local.date().isoformat())
        day = digest.due(s, last, now)
        if day is not None:
            assert day == local.date().isoformat()
            sent.append(day)
            last = day
    # Then every day on which a pass ran at or after the local time, on a chosen weekday, got exactly one digest,
    # in order, and no other day got one
    assert sent == sorted(due_days)
