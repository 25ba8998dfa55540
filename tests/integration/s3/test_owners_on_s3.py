"""`owners: s3://…/JOBOWNERS` (the README's first example): the owners file read from S3 routes each alert."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from failstreak.app import wiring
from failstreak.app.config import parse_config
from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import run_pass
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


def _setup(s3: S3, slack: SlackServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-test-token")
    for job in ("tests_team_a_unit", "nightly-etl"):
        body = "".join(
            json.dumps({"job": job, "run_id": n, "status": "failed", "finished_at": 1_790_000_000_000 + n}) + "\n"
            for n in (1, 2, 3)
        )
        s3.put(f"failstreak/inbox/{job}.jsonl", body.encode())
    return f"""
state: {s3.uri("failstreak/state.json")}
inbox: {s3.uri("failstreak/inbox/")}
owners: {s3.uri("failstreak/JOBOWNERS")}
teams:
  team-a: {{slack: ["#team-a-ci"]}}
notify:
  slack: {{token: {{env: SLACK_TOKEN}}, base_url: {slack.base_url}, default_channel: "#ci-alerts"}}
"""


def test_an_owners_file_on_s3_routes_each_alert_to_its_team(
    s3: S3, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the README's example: JOBOWNERS on S3 giving tests_team_a_* to @team-a, and an unowned job
    cfg = parse_config(_setup(s3, slack, monkeypatch))
    s3.put("failstreak/JOBOWNERS", b"# CODEOWNERS syntax\ntests_team_a_*  @team-a\n")

    # When a pass alerts on both
    summary = run_pass(pass_settings(cfg), wiring.ports(cfg))

    # Then team-a's job goes to team-a's channel, the unowned one to the default channel
    by_channel = {p["channel"]: p["text"] for p in slack.posted()}
    assert sorted(by_channel) == ["#ci-alerts", "#team-a-ci"]
    assert "tests_team_a_unit" in by_channel["#team-a-ci"]
    assert "nightly-etl" not in by_channel["#team-a-ci"]
    assert "nightly-etl" in by_channel["#ci-alerts"]
    assert summary.team_notifications == {"team-a": {"triggered": 1}, "default": {"triggered": 1}}


def test_a_missing_owners_object_routes_to_the_defaults_and_says_so(
    s3: S3, slack: SlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a config naming an owners object that does not exist
    cfg = parse_config(_setup(s3, slack, monkeypatch))

    # When a pass runs
    summary = run_pass(pass_settings(cfg), wiring.ports(cfg))

    # Then counting does not depend on routing: every run is counted and every alert goes to the default channel
    assert summary.ingested == 6
    assert sorted(p["channel"] for p in slack.posted()) == ["#ci-alerts"]
    assert summary.team_notifications == {"default": {"triggered": 2}}
    # And the pass says why, naming the object
    assert len(summary.warnings) == 1
    assert summary.warnings[0].startswith("owners file not used, alerts go to the default destinations: s3://")
    assert summary.warnings[0].endswith("/failstreak/JOBOWNERS: no such object")
