"""The config model: defaults, validation errors that name the field, overrides, secrets by reference."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from failstreak.app.config import SecretRef, load_config, parse_config, resolve_secret
from failstreak.core.model import Outcome, Status
from failstreak.errors import ConfigError


def test_an_empty_config_gives_the_local_defaults() -> None:
    cfg = parse_config("")
    policy = cfg.policy_for("any")
    assert (policy.consecutive, policy.cumulative, policy.window) == (3, 5, 10)
    assert cfg.notify.console_enabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thresholds: {window: 0}", "thresholds.window"),
        ("thresholds: {consecutive: -1}", "thresholds.consecutive"),
        ("outcomes: {purple: failure}", "unknown status 'purple'"),
        ("outcomes: {canceled: maybe}", "must be success, failure or ignored"),
        ("unknown_key: 1", "unknown_key"),
        ("mutes: [{match: x}]", "needs until, runs or until_success"),
        ("notify: {slack: {default_channel: '#x'}}", "exactly one of token"),
        ("notify: {slack: {token: {env: A, ssm: /b}}}", "exactly one of env, secret, ssm"),
        ("job_keys: {rewrite: [{pattern: '(', replace: ''}]}", "invalid regular expression"),
        ("state: [", "not valid YAML"),
        ("- a list", "must be a mapping"),
        ("categories: {count: [Code]}", "categories.count: 'Code' is not a category name"),
        ("categories: {rules: [{match_reason: '(', category: x}]}", "categories.rules.0.match_reason"),
        ("categories: {alerts: {infra: {team: platform}}}", "categories.alerts.infra.team: 'platform' is not a team"),
        ("overrides: [{match: a, expect_every: often}]", "overrides.0.expect_every: 'often' is not a duration"),
        ("overrides: [{match: a, expect_every: 'cron 0 9 * *'}]", "five fields and a time zone"),
        ("overrides: [{match: a, flaky: sometimes}]", "overrides.0.flaky"),
        ("silence: {grace: soon}", "silence.grace"),
        ("flaky: {min_flips: -1}", "flaky.min_flips"),
        ("digest: {at: '25:00'}", "digest.at: '25:00' is not a time of day; write it HH:MM"),
        ("digest: {at: 'nine'}", "digest.at: 'nine' is not a time of day"),
        ("digest: {at: 17:30}", 'digest.at: write the time quoted, as at: "17:30"'),
        ("digest: {timezone: Europe/Pariss}", "digest.timezone: 'Europe/Pariss' is not a known time zone"),
        ("digest: {timezone: ''}", "digest.timezone: '' is not a known time zone"),
        ("digest: {weekdays: [mon, funday]}", "digest.weekdays: 'funday' is not a weekday; write mon, tue"),
        ("digest: {weekdays: []}", "digest.weekdays"),
        ("digest: {weekdays: [monkey]}", "digest.weekdays: 'monkey' is not a weekday"),
        ("digest: {every: day}", "digest.every"),
    ],
)
def test_invalid_config_is_rejected_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_config(text, source="cfg.yaml")
    assert str(err.value).startswith("cfg.yaml")


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("state: s.json\ninbox: in/\nowners: JOBOWNERS\n")
    cfg = load_config(str(tmp_path / "f.yaml"))
    assert cfg.state == str(tmp_path / "s.json")
    assert cfg.owners == str(tmp_path / "JOBOWNERS")


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "nope.yaml"))


def test_outcome_overrides_merge_with_the_defaults() -> None:
    cfg = parse_config("outcomes: {canceled: failure}\noverrides: [{match: 'x*', outcomes: {timed_out: ignored}}]")
    assert cfg.policy_for("y").outcomes[Status.CANCELED] is Outcome.FAILURE
    assert cfg.policy_for("x1").outcomes[Status.TIMED_OUT] is Outcome.IGNORED
    assert cfg.policy_for("x1").outcomes[Status.CANCELED] is Outcome.FAILURE


def test_the_failure_statuses_are_those_any_policy_counts_as_failures() -> None:
    # Given the defaults, and an override that counts skipped runs as failures and timeouts as ignored
    cfg = parse_config("overrides: [{match: 'x*', outcomes: {skipped: failure, timed_out: ignored}}]")
    # Then the statuses whose runs may keep their links are every status some job counts as a failure
    assert cfg.failure_statuses() == {Status.FAILED, Status.TIMED_OUT, Status.SKIPPED}
    assert parse_config("").failure_statuses() == {Status.FAILED, Status.TIMED_OUT}


def test_a_secret_from_the_environment_is_resolved_and_described_without_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret")
    ref = SecretRef(env="SLACK_BOT_TOKEN")
    assert resolve_secret(ref) == "xoxb-secret"
    assert ref.describe() == "env:SLACK_BOT_TOKEN"


def test_a_missing_environment_secret_says_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="NOPE_TOKEN is not set"):
        resolve_secret(SecretRef(env="NOPE_TOKEN"))


def test_the_digest_block_reads_as_a_schedule_in_its_time_zone() -> None:
    # Given a digest at 09:00 in Paris on weekdays, spelled in full and in capitals
    cfg = parse_config('digest: {at: "09:00", timezone: Europe/Paris, weekdays: [Monday, TUE, wed, thu, fri]}')
    assert cfg.digest is not None
    # When read as a schedule; Then it is 09:00 Paris time, Monday (0) to Friday (4)
    schedule = cfg.digest.schedule()
    assert (schedule.at.hour, schedule.at.minute, schedule.zone_name) == (9, 0, "Europe/Paris")
    assert schedule.weekdays == frozenset(range(5))
    assert str(schedule.zone) == "Europe/Paris"


def test_the_digest_defaults_to_nine_utc_every_day() -> None:
    cfg = parse_config("digest: {}")
    assert cfg.digest is not None
    schedule = cfg.digest.schedule()
    assert (schedule.at.hour, schedule.zone_name, schedule.weekdays) == (9, "UTC", frozenset(range(7)))
    assert parse_config("").digest is None


def test_time_zones_are_known_on_a_machine_without_a_zone_database() -> None:
    # Given a machine with no system zone database (a Lambda runtime, a slim container): no search path
    import zoneinfo

    zoneinfo.reset_tzpath(to=[])
    zoneinfo.ZoneInfo.clear_cache()
    try:
        # When a config names Europe/Paris; Then the `tzdata` package (a dependency) knows it
        cfg = parse_config("digest: {timezone: Europe/Paris}")
        assert cfg.digest is not None
        zone = cfg.digest.schedule().zone
        summer, winter = datetime(2026, 7, 1, 12, tzinfo=zone), datetime(2026, 12, 1, 12, tzinfo=zone)
        assert (summer.utcoffset(), winter.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))
        assert zoneinfo.TZPATH == ()
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()


def test_a_key_written_in_the_wrong_section_is_pointed_to_its_section() -> None:
    # Given `window` at the top level, where it is not a key (it belongs to the thresholds or an override)
    # When the config is parsed
    with pytest.raises(ConfigError) as err:
        parse_config("window: 3", source="f.yaml")
    # Then the error names where it goes, not itself as the closest key
    expected = "f.yaml: window: unknown key here; did you mean 'overrides[].window' or 'thresholds.window'?"
    assert str(err.value) == expected


def test_a_nested_key_at_the_top_level_is_pointed_to_its_full_path() -> None:
    # Given the Slack default channel written at the top level
    with pytest.raises(ConfigError) as err:
        parse_config("default_channel: '#ops'", source="f.yaml")
    # Then the path to it is given
    assert str(err.value) == "f.yaml: default_channel: unknown key here; did you mean 'notify.slack.default_channel'?"
