"""Silence: declared cadences (interval, cron) and the learned cadence by hour of the week (docs/triage.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failstreak.core.silence import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Cron,
    Every,
    declared_silence,
    describe_cadence,
    hour_of_week,
    learn,
    learned_silence,
    parse_cadence,
    parse_duration,
)


def ms(text: str, zone: str = "UTC") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


# 2026-11-30 is a Monday.
MONDAY = "2026-11-30"


def test_durations_read_their_unit() -> None:
    # Given durations in each unit
    # When they are parsed
    # Then each is in milliseconds
    assert [parse_duration(t) for t in ("30m", "1h", "1.5h", "2d", "1w", "90s")] == [
        30 * MINUTE_MS,
        HOUR_MS,
        90 * MINUTE_MS,
        2 * DAY_MS,
        7 * DAY_MS,
        90_000,
    ]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("often", "is not a duration"),
        ("0h", "is not a duration"),
        ("cron 0 9 * *", "five fields and a time zone"),
        ("cron 0 25 * * * UTC", "hour: '25' is outside 0-23"),
        ("cron 0 9 * * 1-5 Mars/Olympus", "is not a time zone"),
        ("cron x 9 * * * UTC", "minute: 'x' is not a number"),
        ("cron */0 9 * * * UTC", "is not a step"),
    ],
)
def test_a_bad_cadence_is_refused_with_what_is_accepted(text: str, says: str) -> None:
    # Given a cadence that cannot be read
    # When it is parsed
    # Then the error says what is wrong
    with pytest.raises(ValueError, match=says):
        parse_cadence(text)


def test_a_job_expected_every_hour_that_stopped_six_hours_ago_is_silent() -> None:
    # Given expect_every: 1h and a last run six hours ago
    last = ms(f"{MONDAY}T06:00:00")
    now = ms(f"{MONDAY}T12:00:00")
    # When its silence is judged
    since = declared_silence(parse_cadence("1h"), last, now)
    # Then it is silent since the run it missed, an hour after its last
    assert since == last + HOUR_MS


def test_an_hourly_job_is_not_silent_within_its_grace() -> None:
    # Given expect_every: 1h and a last run 85 minutes ago (the grace is 30 minutes)
    last = ms(f"{MONDAY}T06:00:00")
    # When its silence is judged
    # Then it is not silent yet, and is at 90 minutes
    assert declared_silence(Every(HOUR_MS), last, last + 85 * MINUTE_MS) is None
    assert declared_silence(Every(HOUR_MS), last, last + 90 * MINUTE_MS) == last + HOUR_MS


def test_a_daily_job_that_ran_yesterday_is_not_silent() -> None:
    # Given expect_every: 1d and a last run yesterday at 08:00
    last = ms("2026-11-29T08:00:00")
    # When its silence is judged today at 17:00
    # Then it is not silent (its grace is half a day)
    assert declared_silence(parse_cadence("1d"), last, ms(f"{MONDAY}T17:00:00")) is None


def test_a_configured_grace_replaces_the_default() -> None:
    # Given expect_every: 1d with a grace of one hour and a last run 25 hours ago
    last = ms("2026-11-29T08:00:00")
    # When its silence is judged
    # Then it is silent
    assert declared_silence(Every(DAY_MS), last, last + 25 * HOUR_MS, grace_ms=HOUR_MS) == last + DAY_MS


def test_a_job_that_never_ran_is_not_judged() -> None:
    # Given a cadence and no run at all
    # When its silence is judged
    # Then it is not silent
    assert declared_silence(Every(HOUR_MS), None, ms(f"{MONDAY}T12:00:00")) is None


def test_a_cron_expression_names_its_previous_time_in_its_zone() -> None:
    # Given weekdays at 09:00 in Paris
    cron = Cron.parse("0 9 * * 1-5 Europe/Paris")
    # When its previous time is asked on a Sunday, and on a Monday at noon
    # Then it is Friday 09:00 and Monday 09:00, Paris time
    assert cron.previous(ms("2026-12-06T12:00:00", "Europe/Paris")) == ms("2026-12-04T09:00:00", "Europe/Paris")
    assert cron.previous(ms(f"{MONDAY}T12:00:00", "Europe/Paris")) == ms(f"{MONDAY}T09:00:00", "Europe/Paris")


def test_cron_fields_accept_lists_steps_and_names() -> None:
    # Given every 15 minutes from 5 past, at 8 and 20 h, on the 1st or on Sundays, in January
    cron = Cron.parse("5/15 8,20 1 jan sun UTC")
    # When it is parsed
    # Then the sets are as cron reads them (day of month or day of week)
    assert sorted(cron.minutes) == [5, 20, 35, 50]
    assert sorted(cron.hours) == [8, 20]
    assert cron.months == {1}
    assert cron.weekdays == {0}
    assert cron.previous(ms("2027-01-03T09:00:00")) == ms("2027-01-03T08:50:00")  # a Sunday
    assert cron.previous(ms("2027-01-02T09:00:00")) == ms("2027-01-01T20:50:00")  # the 1st, a Friday


def test_a_weekday_job_that_missed_monday_morning_is_silent_after_its_grace() -> None:
    # Given weekdays at 09:00 UTC, last run Friday 09:05
    cadence = parse_cadence("cron 0 9 * * mon-fri UTC")
    last = ms("2026-11-27T09:05:00")
    # When it is judged on Saturday, Monday at 09:20, and Monday at 22:00
    # Then it is not silent at the weekend nor within the grace, and is silent once Monday's grace is over
    assert declared_silence(cadence, last, ms("2026-11-28T15:00:00")) is None
    assert declared_silence(cadence, last, ms(f"{MONDAY}T09:20:00")) is None
    assert declared_silence(cadence, last, ms(f"{MONDAY}T22:00:00")) == ms(f"{MONDAY}T09:00:00")


def test_a_cron_job_that_ran_after_its_time_is_not_silent() -> None:
    # Given weekdays at 09:00 UTC and a run that finished Monday at 09:12
    cadence = parse_cadence("cron 0 9 * * 1-5 UTC")
    # When it is judged Monday evening
    # Then it is not silent
    assert declared_silence(cadence, ms(f"{MONDAY}T09:12:00"), ms(f"{MONDAY}T20:00:00")) is None


def test_an_expression_that_names_no_time_within_a_year_is_never_silent() -> None:
    # Given the 31st of February
    cadence = parse_cadence("cron 0 0 31 2 * UTC")
    # When it is judged
    # Then there is no expected time, so no silence
    assert declared_silence(cadence, ms("2026-01-01T00:00:00"), ms(f"{MONDAY}T12:00:00")) is None


def test_hours_of_the_week_start_on_monday_utc() -> None:
    # Given Monday 00:30 and Sunday 23:30 UTC
    # When their hour of the week is taken
    # Then they are the first and the last
    assert hour_of_week(ms(f"{MONDAY}T00:30:00")) == 0
    assert hour_of_week(ms("2026-12-06T23:30:00")) == 167


def weekday_hours(weeks: int) -> list[int]:
    """Runs finishing at :05 every hour from 9 to 18 on weekdays, for `weeks` weeks ending Friday 2026-11-27."""
    first_monday = datetime(2026, 11, 23, tzinfo=UTC).timestamp() * 1000 - (weeks - 1) * 7 * DAY_MS
    return [
        int(first_monday + w * 7 * DAY_MS + d * DAY_MS + h * HOUR_MS + 5 * MINUTE_MS)
        for w in range(weeks)
        for d in range(5)
        for h in range(9, 19)
    ]


def test_a_learned_office_hours_job_is_not_silent_at_night_nor_on_saturday() -> None:
    # Given a job learned from two weeks of hourly runs on weekdays from 9 to 18 (UTC)
    learned = learn(None, weekday_hours(2))
    friday_last = ms("2026-11-27T18:05:00")
    # When it is judged on Saturday afternoon and on Monday at 03:00
    # Then it is not silent
    assert learned_silence(learned, friday_last, ms("2026-11-28T15:00:00")) is None
    assert learned_silence(learned, friday_last, ms(f"{MONDAY}T03:00:00")) is None


def test_a_learned_office_hours_job_that_last_ran_at_ten_is_silent_at_one() -> None:
    # Given the same job, which ran on Monday at 10:05 and not since
    learned = learn(None, weekday_hours(2))
    # When it is judged on Monday at 13:00
    since = learned_silence(learned, ms(f"{MONDAY}T10:05:00"), ms(f"{MONDAY}T13:00:00"))
    # Then it is silent since the 11:00 hour it usually runs in
    assert since == ms(f"{MONDAY}T11:00:00")


def test_one_stray_run_does_not_teach_an_hour() -> None:
    # Given a job learned from a single run on a Sunday at 03:00
    learned = learn(None, [ms("2026-11-29T03:10:00")])
    # When it is judged much later
    # Then it has learned no hour, so it is never silent
    assert learned.active == "0"
    assert learned_silence(learned, ms("2026-11-29T03:10:00"), ms("2026-12-20T03:10:00")) is None


def test_learning_skips_runs_it_has_already_learned() -> None:
    # Given a cadence learned up to some run
    learned = learn(None, [ms(f"{MONDAY}T09:05:00")])
    # When the same run is offered again
    again = learn(learned, [ms(f"{MONDAY}T09:05:00")])
    # Then the hour is still only seen once, not active
    assert again == learned
    assert again.active == "0"


def test_cadences_describe_themselves() -> None:
    # Given an interval and a cron cadence
    # When they are described
    # Then they read as the config wrote them
    assert describe_cadence(parse_cadence("90m")) == "every 90m"
    assert describe_cadence(parse_cadence("2h")) == "every 2h"
    assert describe_cadence(parse_cadence("45s")) == "every 45s"
    assert describe_cadence(parse_cadence("cron 0 9 * * 1-5 UTC")) == "cron 0 9 * * 1-5 UTC"


@given(
    last=st.integers(0, 10**13),
    gap=st.integers(0, 10**11),
)
def test_without_a_declared_cadence_nor_a_learned_one_no_job_is_ever_silent(last: int, gap: int) -> None:
    # Given any last run and any later time, and neither a declared cadence nor a learned one
    # When silence is judged
    # Then it never fires
    assert learned_silence(None, last, last + gap) is None
    assert learned_silence(learn(None, []), last, last + gap) is None
