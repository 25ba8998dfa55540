"""Routing: the job-owners file (CODEOWNERS syntax), team destinations, defaults and the broadcast channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from failstreak.app import routing
from failstreak.app.config import Config, config_from, parse_config
from failstreak.app.routing import Router, owners_of, parse_owners, record_owners
from failstreak.errors import ConfigError
from tests.conftest import calls_of
from tests.unit.notify_samples import note

OWNERS = """\
# who owns which jobs; the last matching line wins
*                  @team-everything
tests_team_a_*     @team-a
tests_team_b_*     @team-b
tests_letters_*    @team-a @team-b   # both letters teams
"""


def make_config(tmp_path: Path, extra: str = "", owners: str = OWNERS, slack: str | None = None) -> Config:
    (tmp_path / "JOBOWNERS").write_text(owners)
    slack = slack or (
        "token: {env: SLACK_BOT_TOKEN}\n    default_channel: '#ci-alerts'\n    broadcast_channel: '#ci-broadcast'"
    )
    text = f"""
owners: JOBOWNERS
teams:
  team-everything: {{slack: ["#everything"]}}
  team-a: {{slack: ["#channel-a"], email: ["team-a@example.com"]}}
  team-b: {{slack: ["#channel-b"]}}
  team-mail: {{email: ["mail@example.com"]}}
notify:
  console: false
  slack:
    {slack}
  email:
    sender: failstreak@example.com
    default_to: [oncall@example.com]
{extra}
"""
    return parse_config(text, "test.yaml", base_dir=tmp_path)


def test_last_matching_line_wins_so_a_specific_pattern_below_star_takes_the_job() -> None:
    # Given an owners file with `*` first and specific patterns after it
    rules = parse_owners(OWNERS, "JOBOWNERS")
    # When owners are looked up
    # Then the later, more specific line wins, and `*` catches the rest
    assert owners_of(rules, "tests_team_a_1") == ("@team-a",)
    assert owners_of(rules, "tests_letters_1") == ("@team-a", "@team-b")
    assert owners_of(rules, "tests_hello") == ("@team-everything",)


def test_star_matches_slashes_and_question_mark_one_character() -> None:
    # Given patterns over job names that contain slashes
    rules = parse_owners("group/*  @team-g\ngroup/job-?  @team-h\n")
    # When / Then `*` crosses `/` (job names are not paths) and `?` matches exactly one character
    assert owners_of(rules, "group/sub/deploy") == ("@team-g",)
    assert owners_of(rules, "group/job-1") == ("@team-h",)
    assert owners_of(rules, "group/job-12") == ("@team-g",)
    assert owners_of(rules, "other") == ()


def test_a_pattern_without_owners_unowns_its_jobs_and_escaped_hash_is_literal() -> None:
    # Given `*` owned, a later line that un-owns `scratch-*`, and a pattern with a literal `#`
    rules = parse_owners("*  @team-x\nscratch-*\nbuild\\#*  @team-y\n")
    # When / Then
    assert owners_of(rules, "scratch-1") == ()
    assert owners_of(rules, "build#7") == ("@team-y",)
    assert owners_of(rules, "anything") == ("@team-x",)


def test_a_malformed_owners_line_is_a_config_error_naming_file_and_line() -> None:
    # Given an owner that is neither @team nor an email address on line 3
    text = "# header\n*  @team-a\nnightly-*  team-b\n"
    # When parsed / Then the error names the file and the line
    with pytest.raises(ConfigError, match=r"JOBOWNERS:3: owner 'team-b'"):
        parse_owners(text, "JOBOWNERS")


def test_a_line_starting_with_an_owner_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"owners:1: .*must start with a job pattern"):
        parse_owners("@team-a nightly-*\n")


def test_record_owner_field_accepts_several_spellings() -> None:
    # Given owner fields as producers write them / Then each names its owners
    assert record_owners("@team-a @team-b") == ("@team-a", "@team-b")
    assert record_owners("team-a, team-b") == ("team-a", "team-b")
    assert record_owners(None) == ()
    assert record_owners("  ") == ()


def test_each_team_gets_its_channel_and_broadcast_gets_everything(tmp_path: Path) -> None:
    # Given the owners file and teams with channels, a default and a broadcast channel
    router = Router(make_config(tmp_path))
    # When routing alerts for jobs of each team
    # Then each goes to its teams' destinations plus the broadcast channel, each once
    assert router.destinations(note("tests_hello")) == ["slack:#everything", "slack:#ci-broadcast"]
    assert router.destinations(note("tests_letters_1")) == [
        "slack:#channel-a",
        "slack:#channel-b",
        "slack:#ci-broadcast",
        "email:team-a@example.com",
    ]
    assert router.teams(note("tests_letters_1")) == ["team-a", "team-b"]


def test_broadcast_channel_that_is_also_a_team_channel_gets_one_copy(tmp_path: Path) -> None:
    # Given the broadcast channel is team-a's channel
    slack = "token: {env: SLACK_BOT_TOKEN}\n    default_channel: '#ci-alerts'\n    broadcast_channel: '#channel-a'"
    router = Router(make_config(tmp_path, slack=slack))
    # When routing a team-a alert / Then #channel-a is listed once
    assert router.destinations(note("tests_team_a_1")) == ["slack:#channel-a", "email:team-a@example.com"]


def test_a_team_without_destinations_falls_back_to_the_defaults(tmp_path: Path) -> None:
    # Given a job owned by a team that is not in `teams`
    router = Router(make_config(tmp_path, owners="orphan-*  @team-ghost\n"))
    # When routed / Then it lands on the default channel and default addresses, and counts for its team
    n = note("orphan-1")
    assert router.destinations(n) == ["slack:#ci-alerts", "slack:#ci-broadcast", "email:oncall@example.com"]
    assert router.teams(n) == ["team-ghost"]


def test_a_job_nobody_owns_counts_for_the_default_team(tmp_path: Path) -> None:
    router = Router(make_config(tmp_path, owners="known-*  @team-a\n"))
    n = note("unknown-job")
    assert router.teams(n) == ["default"]
    assert router.destinations(n)[0] == "slack:#ci-alerts"


def test_an_email_only_team_does_not_also_get_the_default_slack_channel(tmp_path: Path) -> None:
    # Given team-mail has only an email address
    router = Router(make_config(tmp_path, owners="mail-*  @team-mail\n"))
    # When routed / Then its address, plus the broadcast channel, and not the default Slack channel
    assert router.destinations(note("mail-1")) == ["slack:#ci-broadcast", "email:mail@example.com"]


def test_the_record_owner_takes_precedence_over_the_owners_file(tmp_path: Path) -> None:
    # Given the owners file says team-everything, and the execution records say team-b
    router = Router(make_config(tmp_path))
    n = note("tests_hello", owner="@team-b")
    # When routed / Then team-b's channel, not team-everything's
    assert router.destinations(n)[0] == "slack:#channel-b"
    assert router.teams(n) == ["team-b"]


def test_an_email_address_as_owner_is_mailed_directly(tmp_path: Path) -> None:
    router = Router(make_config(tmp_path, owners="db-*  alice@example.com\n"))
    n = note("db-backup")
    assert "email:alice@example.com" in router.destinations(n)
    assert router.teams(n) == ["default"]


def test_webhook_mode_sends_one_slack_copy_to_the_webhook_channel(tmp_path: Path) -> None:
    # Given an incoming webhook instead of a bot token: it can post to its own channel only
    slack = "webhook_url: {env: SLACK_WEBHOOK_URL}\n    broadcast_channel: '#ci-broadcast'"
    router = Router(make_config(tmp_path, slack=slack))
    # When a job owned by two teams is routed / Then Slack gets one copy
    assert router.destinations(note("tests_letters_1")) == ["slack:webhook", "email:team-a@example.com"]


def test_the_owners_file_is_read_once_per_router(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a router and a counter on reads
    cfg = make_config(tmp_path)
    reads = calls_of(monkeypatch, routing, "read_text")
    router = Router(cfg)
    # When routing many notifications
    for job in ("tests_hello", "tests_team_a_1", "tests_team_b_1"):
        router.destinations(note(job))
        router.teams(note(job))
    # Then the file was read once
    assert reads == [str(tmp_path / "JOBOWNERS")]


def test_without_an_owners_file_everything_goes_to_the_defaults() -> None:
    cfg: Any = config_from({"notify": {"slack": {"token": {"env": "X"}, "default_channel": "#ci"}, "console": True}})
    router = Router(cfg)
    assert router.destinations(note("x")) == ["console", "slack:#ci"]
    assert router.teams(note("x")) == ["default"]


# -- the daily digest's destinations (docs/digest.md) ----------------------------------------------------------------


def test_a_jobs_digest_goes_where_its_alerts_go(tmp_path: Path) -> None:
    # Given the owners file, teams, defaults and a broadcast channel
    router = Router(make_config(tmp_path))
    # When the digest destinations of jobs of each team, and of a job whose record names its owner, are asked
    # Then they are those of their alerts: the teams' destinations, the defaults for a team with none, the broadcast
    for job, owner in (("tests_letters_1", None), ("tests_hello", None), ("x", "@team-mail"), ("y", "@team-ghost")):
        assert router.digest_destinations(job, owner) == router.destinations(note(job, owner=owner))


def test_a_job_routed_to_an_unconfigured_notifier_is_in_no_digest(tmp_path: Path) -> None:
    # Given email not configured, no default channel, and a team reached by email only
    cfg = make_config(tmp_path, slack="token: {env: SLACK_BOT_TOKEN}", owners="mail-*  @team-mail\n")
    cfg = msgspec.structs.replace(cfg, notify=msgspec.structs.replace(cfg.notify, email=None))
    router = Router(cfg)
    # When its digest destinations are asked; Then there are none (its alerts are dead-lettered, saying why)
    assert router.digest_destinations("mail-1", None) == []
    assert router.destinations(note("mail-1")) == ["email:mail@example.com"]


def test_in_webhook_mode_every_job_is_in_the_webhook_channels_one_digest(tmp_path: Path) -> None:
    # Given an incoming webhook instead of a bot token
    slack = "webhook_url: {env: SLACK_WEBHOOK_URL}\n    broadcast_channel: '#ci-broadcast'"
    router = Router(make_config(tmp_path, slack=slack))
    # When the digest destinations of jobs of different teams are asked; Then Slack's is the webhook for each
    assert router.digest_destinations("tests_letters_1", None) == ["slack:webhook", "email:team-a@example.com"]
    assert router.digest_destinations("tests_team_b_1", None) == ["slack:webhook"]
