"""The config model as msgspec Structs: what it keeps from YAML, what it refuses, and what stays stable."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from failstreak.app.config import (
    Config,
    JobKeys,
    Reminder,
    Team,
    Thresholds,
    config_from,
    parse_config,
    section_from,
)
from failstreak.app.wiring import pass_settings
from failstreak.errors import ConfigError

RICH = """
thresholds: {consecutive: 2, cumulative: 4, window: 8}
history: 20
outcomes: {canceled: Failure, timed_out: ignored}
overrides:
  - {match: 'nightly-*', consecutive: 1, window: 5, outcomes: {skipped: failure},
     reminder: {every_hours: 6, every_runs: 3}, flaky: digest, expect_every: 1h}
reminder: {every_hours: 12}
categories:
  rules: [{match_reason: 'OOM', category: infra}]
  count: [code, infra]
flaky: {min_flips: 4}
silence: {grace: 30m, learn: true}
job_keys: {rewrite: [{pattern: '^ci-', replace: ''}], include: ['*'], exclude: ['tmp-*']}
teams: {platform: {slack: ['#ops'], email: [a@b.c]}}
owners: JOBOWNERS
"""


@pytest.mark.parametrize(
    ("config", "digest"),
    [
        (Config(), "083a34095ca3b67ce9d0d725a54eceb22b41598cf0280262559d74b313f075f9"),
        (parse_config(RICH), "e7d23d1d81d6785844157612b3f8f481e232099944dee10c550ba6d6094ec696"),
    ],
    ids=["defaults", "every-judging-section"],
)
def test_the_config_digest_is_the_one_the_pydantic_model_gave(config: Config, digest: str) -> None:
    # Given the default config and one writing every section a job's judgement depends on
    # When the pass settings are built; Then the digest is the value the previous (pydantic) model computed, so a
    # state written before the change does not see its config as changed
    assert pass_settings(config).config_digest == digest


def test_an_error_in_a_map_of_sections_names_the_entry() -> None:
    # Given a mistyped key inside one team of `teams:` (msgspec locates a map's value without its key)
    # When the config is parsed; Then the error names the team and suggests the key
    with pytest.raises(ConfigError) as err:
        parse_config("teams: {ops: {slack: ['#ops']}, web: {slakc: []}}", source="f.yaml")
    assert str(err.value) == "f.yaml: teams.web.slakc: unknown key; did you mean 'slack'?"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thresholds: {consecutive: 1.5}", "thresholds.consecutive: should be a valid integer, got a number with"),
        ("notify: {console: maybe}", "notify.console: should be a valid boolean (got 'maybe')"),
        ("digest: {weekdays: []}", "digest.weekdays: should have at least 1 item (got [])"),
        ("mutes: [{match: x, until: soon}]", "mutes.0.until: should be a valid datetime or date, as 2026-12-01"),
        ("notify: {email: {sender: a@b.c, transport: carrier}}", "notify.email.transport: should be 'ses' or 'smtp'"),
        ("overrides: [{consecutive: 2}]", "overrides.0.match: required key missing"),
        ("digest: {at: 9}", 'digest.at: write the time quoted, as at: "00:09"'),
    ],
)
def test_type_errors_are_worded_in_the_config_files_terms(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="f.yaml")
    assert str(err.value).startswith(f"f.yaml: {message}")


def test_yaml_values_are_coerced_as_written() -> None:
    # Given integers for numbers, a quoted integer, an unquoted date for a mute's end, and upper-case outcomes
    cfg = parse_config(
        "reminder: {every_hours: 6}\nthresholds: {consecutive: '4'}\n"
        "mutes: [{match: x, until: 2026-12-01}, {match: y, until: '2026-12-01T10:00:00Z'}]\n"
        "outcomes: {Canceled: FAILURE}\n"
    )
    # Then each is read as the config means it
    assert cfg.reminder.every_hours == 6.0
    assert isinstance(cfg.reminder.every_hours, float)
    assert cfg.thresholds.consecutive == 4
    assert [m.until for m in cfg.mutes] == [datetime(2026, 12, 1), datetime(2026, 12, 1, 10, tzinfo=UTC)]
    assert {str(k): str(v) for k, v in cfg.outcomes.items()} == {"canceled": "failure"}


def test_the_config_and_its_sections_are_frozen() -> None:
    cfg = parse_config("thresholds: {consecutive: 2}")
    with pytest.raises(AttributeError):
        cfg.thresholds.consecutive = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.state = "elsewhere"  # type: ignore[misc]


def test_a_section_built_in_code_is_checked_as_one_read_from_a_file() -> None:
    # Given a section written in code, and the same values given to section_from
    # Then both refuse what the file would refuse, naming the key
    with pytest.raises(ValueError, match="exclude: unclosed"):
        JobKeys(exclude=["ci/[web"])
    with pytest.raises(ConfigError, match=r"^f\.yaml: every_hours: should be greater than 0 \(got 0\)$"):
        section_from(Reminder, {"every_hours": 0}, source="f.yaml")


def test_a_replaced_section_keeps_the_derived_policies_current() -> None:
    # Given a config, when a section is replaced in code (as tests and backtest variants do)
    cfg = msgspec.structs.replace(Config(), thresholds=Thresholds(consecutive=1))
    # Then its policies follow
    assert cfg.policy_for("any").consecutive == 1


def test_the_written_mapping_is_what_the_file_wrote() -> None:
    # Given a config that writes one team
    cfg = config_from({"teams": {"ops": {"slack": ["#ops"]}}}, source="f.yaml")
    # Then written() gives the keys as written, defaults left out, and a copy (changing it changes nothing)
    written = cfg.written()
    assert written == {"teams": {"ops": {"slack": ["#ops"]}}}
    written["teams"]["ops"]["slack"].append("#x")
    assert cfg.teams == {"ops": Team(slack=["#ops"])}
    assert cfg.source == "f.yaml"


def test_every_mistake_of_a_config_is_listed_one_per_line() -> None:
    # Given a config with four mistakes in three sections, one of them a secret written in clear
    text = """
thresholds: {consecutve: 3, window: 0}
notify: {slack: {token: xoxb-123}}
window: 5
"""
    # When it is parsed
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="f.yaml")
    # Then each mistake has its own line naming the file, in the order msgspec meets them, the first as it was
    # alone; the slack section's rule (a token or a webhook) is not blamed for the token taken out of it
    assert str(err.value).splitlines() == [
        "f.yaml: thresholds.consecutve: unknown key; did you mean 'consecutive'?",
        "f.yaml: thresholds.window: should be greater than or equal to 1 (got 0)",
        "f.yaml: notify.slack.token: write a reference, never the secret itself: {env: NAME}, {secret: NAME} or "
        "{ssm: /PATH}",
        "f.yaml: window: unknown key here; did you mean 'overrides[].window' or 'thresholds.window'?",
    ]


def test_a_required_key_with_a_mistake_is_listed_once() -> None:
    # Given an override whose required `match` is not a string, beside another mistake after it
    with pytest.raises(ConfigError) as err:
        parse_config("overrides: [{match: [1], consecutive: 2}]\nhistroy: 3", source="f.yaml")
    # Then its mistake is listed, not also the key missing once it is taken out, and the listing stops there
    assert str(err.value).splitlines() == ["f.yaml: overrides.0.match: should be a valid string (got [1])"]


def test_at_most_ten_mistakes_are_listed() -> None:
    # Given twelve unknown keys
    text = "\n".join(f"unknown_{i:02}: 1" for i in range(12))
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="f.yaml")
    # Then the first ten are listed
    lines = str(err.value).splitlines()
    assert len(lines) == 10
    assert all(line.startswith("f.yaml: unknown_") for line in lines)
