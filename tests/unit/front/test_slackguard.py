"""The guard rails of acting from Slack (front/slackguard.py)."""

from __future__ import annotations

import fnmatch

import pytest

from failstreak.app.config import SlackFrontConfig, section_from
from failstreak.errors import ConfigError
from failstreak.front.slackguard import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Guard,
    Refused,
    check_mute_pattern,
    exact_pattern,
    matches_everything,
    parse_duration,
)
from failstreak.front.slackreq import Person

ALICE = Person("U0ALICE01", "alice")


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30m", 30 * MINUTE_MS), ("4h", 4 * HOUR_MS), ("2d", 2 * DAY_MS), ("7d", 7 * DAY_MS), ("until-fixed", None)],
)
def test_durations_are_minutes_hours_days_or_until_fixed(text: str, ms: int | None) -> None:
    assert parse_duration(text, 7) == ms


@pytest.mark.parametrize("text", ["", "4", "0h", "1w", "-2d", "4 h", "forever"])
def test_a_duration_that_is_not_one_of_the_forms_is_refused_saying_which_are(text: str) -> None:
    with pytest.raises(Refused, match="30m"):
        parse_duration(text, 7)


def test_a_duration_over_max_mute_days_is_refused() -> None:
    # Given max_mute_days 7; When 8d is asked; Then refused, naming the maximum
    with pytest.raises(Refused, match="at most 7 days"):
        parse_duration("8d", 7)
    assert parse_duration("169h", 8) == 169 * HOUR_MS


@pytest.mark.parametrize("job", ["ci/build", "a*b", "what?", "[x]", "x]["])
def test_the_exact_pattern_of_a_job_matches_it_and_nothing_wider(job: str) -> None:
    pattern = exact_pattern(job)
    assert fnmatch.fnmatchcase(job, pattern)
    assert not fnmatch.fnmatchcase(job + "x", pattern)
    assert not fnmatch.fnmatchcase("y", pattern)


@pytest.mark.parametrize("pattern", ["*", "**", "?*", "*?", "*?*"])
def test_patterns_that_match_any_name_match_everything(pattern: str) -> None:
    assert matches_everything(pattern, [])


def test_a_pattern_matching_every_known_job_matches_everything() -> None:
    # Given the state's jobs all under ci/; Then ci/* is everything, ci/b* and one job's name are not
    jobs = ["ci/build", "ci/test"]
    assert matches_everything("ci/*", jobs)
    assert not matches_everything("ci/b*", jobs)
    assert not matches_everything("ci/build", ["ci/build"])


def test_a_mute_pattern_matching_every_job_or_broken_is_refused() -> None:
    with pytest.raises(Refused, match="matches every job"):
        check_mute_pattern("*", ["a"])
    with pytest.raises(Refused, match="unclosed"):
        check_mute_pattern("ci/[web", ["a"])
    check_mute_pattern("ci/*", ["ci/a", "etl/b"])


def test_with_no_lists_everyone_may_act() -> None:
    Guard(SlackFrontConfig(), None).check(ALICE)


def test_a_listed_user_may_act_and_another_is_refused_politely() -> None:
    guard = Guard(SlackFrontConfig(allowed_users=["U0ALICE01"]), None)
    guard.check(ALICE)
    with pytest.raises(Refused, match="Sorry, you are not among the people allowed"):
        guard.check(Person("U0BOB0001", "bob"))


def test_a_member_of_an_allowed_group_may_act() -> None:
    guard = Guard(SlackFrontConfig(allowed_groups=["S0ONCALL1"]), {"S0ONCALL1": ["U0ALICE01"]}.__getitem__)
    guard.check(ALICE)
    with pytest.raises(Refused):
        guard.check(Person("U0BOB0001", "bob"))


def test_when_group_members_cannot_be_listed_the_person_is_refused_and_told_to_retry() -> None:
    def broken(group: str) -> list[str]:
        raise TimeoutError("slack did not answer")

    with pytest.raises(Refused, match="try again"):
        Guard(SlackFrontConfig(allowed_groups=["S0ONCALL1"]), broken).check(ALICE)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ({"allowed_users": ["alice"]}, "is not a member id"),
        ({"allowed_groups": ["U0ALICE01"]}, "is not a user group id"),
        ({"max_mute_days": 0}, "greater than 0"),
    ],
)
def test_slack_settings_refuse_names_for_ids_and_a_zero_maximum(bad: dict[str, object], said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        section_from(SlackFrontConfig, bad)
