"""The Lambda handler makes its trouble visible: delivery failures, dead letters and source errors in its logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from failstreak.app.cli import main
from tests.integration.platform_servers import FakeGitHub, serve
from tests.integration.s3.backends import S3
from tests.integration.s3.test_lambda_handler import LambdaContext, fresh_handler, json_lines
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with serve(FakeGitHub("ghp-test", "octo/app")) as api:
        yield api


def _config(s3: S3, slack: SlackServer, github: FakeGitHub) -> str:
    return (
        f"state: {s3.uri('fs/state.json')}\n"
        f"inbox: {s3.uri('fs/inbox/')}\n"
        "notify:\n"
        "  slack:\n"
        "    token: {env: SLACK_TOKEN}\n"
        "    default_channel: '#no-such-channel'\n"
        f"    base_url: {slack.base_url}\n"
        "sources:\n"
        f"  - {{type: github, url: '{github.base_url}', token: {{env: GH_TOKEN}}, repo: octo/app, branch: main,\n"
        "      time_budget_seconds: 1}\n"
    )


def test_a_dead_letter_and_a_source_error_are_logged_with_their_reasons_and_shown_by_status(
    moto_s3: S3,
    slack: SlackServer,
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # Given a deployed config whose Slack channel does not exist and a GitHub that answers 500
    slack.state.known_channels = {"#ci-alerts"}
    github.outage = True
    monkeypatch.setenv("SLACK_TOKEN", slack.state.token)
    monkeypatch.setenv("GH_TOKEN", "ghp-test")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "failstreak-monitor")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("FAILSTREAK_CONFIG", moto_s3.uri("fs/config.yaml"))
    moto_s3.put("fs/config.yaml", _config(moto_s3, slack, github).encode())
    moto_s3.put(
        "fs/inbox/a.jsonl",
        b"".join(
            b'{"job": "nightly", "run_id": %d, "status": "failed", "finished_at": %d}\n' % (i, 1790000000000 + i)
            for i in range(3)
        ),
    )
    handler = fresh_handler(monkeypatch)
    # When Lambda invokes the handler
    result = handler({}, LambdaContext())
    # Then the pass completed, and its log holds both reasons at WARNING or above, as structured fields
    assert result["ingested"] == 3
    logs = [d for d in json_lines(capsys.readouterr().out) if "_aws" not in d]
    loud = [d for d in logs if d.get("level") in ("WARNING", "ERROR")]
    [dead] = [d for d in loud if d.get("kind") == "dead_letter"]
    assert dead["level"] == "ERROR"
    assert "channel_not_found" in dead["message"]
    assert (dead["job"], dead["destination"]) == ("nightly", "slack:#no-such-channel")
    assert "channel_not_found" in dead["error"]
    [source] = [d for d in loud if d.get("kind") == "source_error"]
    assert source["source"] == "github"
    assert "500" in source["message"]
    assert dead["correlation_id"] == source["correlation_id"] == result["pass_id"]
    # And the pass's one summary line counts them
    [done] = [d for d in logs if d.get("message") == "pass completed"]
    assert (done["dead_letters"], done["source_errors"], done["pending"]) == (1, 1, 0)
    # And nothing secret is in the log
    assert slack.state.token not in json.dumps(logs)
    assert "ghp-test" not in json.dumps(logs)
    # And `status --json` on the same config shows the dead letter
    assert main(["status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    [letter] = status["dead_letters"]
    assert (letter["job"], letter["destination"], letter["event"]) == ("nightly", "slack:#no-such-channel", "triggered")
    assert "channel_not_found" in letter["error"]
    assert status["state"] == moto_s3.uri("fs/state.json")
