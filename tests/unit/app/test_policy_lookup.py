"""The policy lookup the config builds once: one policy for jobs no override matches, overrides by glob."""

from __future__ import annotations

from failstreak.app.config import Config, parse_config


def test_policy_lookup_is_built_once_and_still_honours_overrides() -> None:
    cfg = Config()
    assert cfg.policy_for("a") is cfg.policy_for("b")
    overridden = parse_config("overrides: [{match: 'nightly-*', window: 3, consecutive: 2}]")
    assert overridden.policy_for("nightly-etl").window == 3
    assert overridden.policy_for("nightly-etl").consecutive == 2
    assert overridden.policy_for("build").window == 10
