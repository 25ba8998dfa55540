"""`failstreak check` against real components: the local Slack server, moto's SES and S3."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from failstreak.app.cli import main
from tests.integration.s3.backends import S3
from tests.integration.slack_server import SlackServer, running

pytestmark = pytest.mark.integration


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with running() as server:
        yield server


@pytest.fixture
def deployed(moto_s3: S3, slack: SlackServer, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A deployment's config in S3: Slack by token, email through SES, an owners file, an inbox with one file."""
    monkeypatch.setenv("SLACK_TOKEN", slack.state.token)
    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="example.com")
    moto_s3.put(
        "failstreak/config.yaml",
        (
            f"state: {moto_s3.uri('failstreak/state.json')}\n"
            f"inbox: {moto_s3.uri('failstreak/inbox/')}\n"
            f"owners: {moto_s3.uri('failstreak/JOBOWNERS')}\n"
            "teams:\n"
            "  team-a: {slack: ['#team-a']}\n"
            "  team-b: {email: []}\n"
            "notify:\n"
            "  slack: {token: {env: SLACK_TOKEN}, default_channel: '#ci-alerts', "
            f"base_url: {slack.base_url}}}\n"
            "  email: {sender: failstreak@example.com, default_to: [oncall@example.com], region: us-east-1}\n"
        ).encode(),
    )
    moto_s3.put("failstreak/JOBOWNERS", b"ci/a/*  @team-a\nci/x/*  @team-x\n")
    moto_s3.put("failstreak/inbox/one.jsonl", b'{"job": "ci/a/1", "run_id": 1, "status": "failed"}\n')
    return moto_s3


def check(s3: S3, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["check", "--config", s3.uri("failstreak/config.yaml")])
    return code, capsys.readouterr().out.splitlines()


def test_check_passes_naming_each_check_on_its_own_line(
    deployed: S3, slack: SlackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployment whose secret, Slack token, SES identity, bucket and owners file are all in place
    # When the operator runs the check
    code, lines = check(deployed, capsys)
    # Then each check is one line, and the command succeeds
    assert code == 0, lines
    uri = deployed.uri("failstreak/config.yaml")
    assert lines[0] == f"OK           config: {uri} is valid"
    assert "OK           secret notify.slack.token: env:SLACK_TOKEN resolved" in lines
    assert "OK           slack auth.test: bot failstreak in workspace Example Workspace" in lines
    assert [c.method for c in slack.calls("auth.test")] == ["auth.test"]
    assert any(line.startswith("NOT CHECKED  slack channel #team-a: chat:write cannot see channels") for line in lines)
    assert "OK           ses identity: example.com is verified for sending" in lines
    assert (
        f"WARN         state: {deployed.uri('failstreak/state.json')} does not exist yet; the first pass creates it"
        in lines
    )
    assert f"OK           inbox: {deployed.uri('failstreak/inbox/')}: 1 files waiting" in lines
    assert f"OK           owners: {deployed.uri('failstreak/JOBOWNERS')}: 2 rules" in lines
    assert any("team @team-x is not in the config's teams:" in line for line in lines)
    assert "WARN         team team-b: no slack or email destination; its alerts go to the defaults" in lines
    assert lines[-1] == f"{len(lines) - 1} checks, none failed (3 warnings)"


def test_check_fails_when_slack_refuses_the_token(
    deployed: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a token Slack does not accept
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-revoked")
    # When the check runs, then Slack's answer is the failing line, and the exit is non-zero
    code, lines = check(deployed, capsys)
    assert code == 1
    assert "FAIL         slack auth.test: Slack answered 'invalid_auth'" in lines
    assert "xoxb-revoked" not in "\n".join(lines)
    assert lines[-1].endswith(", 1 failed (3 warnings)")


def test_check_fails_on_an_unset_secret_and_an_unverified_sender(
    deployed: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an unset token variable and a sender domain SES does not know
    monkeypatch.delenv("SLACK_TOKEN")
    config = deployed.uri("failstreak/config.yaml")
    text = boto3.client("s3").get_object(Bucket=deployed.bucket, Key="failstreak/config.yaml")["Body"].read()
    deployed.put("failstreak/config.yaml", text.replace(b"failstreak@example.com", b"alerts@unverified.example"))
    # When the check runs
    code = main(["check", "--json", "--config", config])
    results = {(r["check"], r["status"]): r["detail"] for r in json.loads(capsys.readouterr().out)}
    # Then both are failing checks naming what is wrong
    assert code == 1
    assert results[("secret notify.slack.token", "fail")] == (
        "environment variable SLACK_TOKEN is not set (named by the config)"
    )
    assert results[("ses identity", "fail")] == (
        "neither alerts@unverified.example nor unverified.example is an SES identity in this region"
    )


def test_check_of_an_invalid_config_is_one_failing_line(moto_s3: S3, capsys: pytest.CaptureFixture[str]) -> None:
    moto_s3.put("failstreak/config.yaml", b"thresholds: {consecutve: 3}\n")
    code, lines = check(moto_s3, capsys)
    assert code == 1
    assert lines[0] == (
        f"FAIL         config: {moto_s3.uri('failstreak/config.yaml')}: thresholds.consecutve: unknown key; "
        "did you mean 'consecutive'?"
    )


def test_check_reports_a_state_that_cannot_be_read(deployed: S3, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a state document that is not JSON
    deployed.put("failstreak/state.json", b"not json")
    # When the check runs, then the state check fails naming the document
    code, lines = check(deployed, capsys)
    assert code == 1
    [state] = [line for line in lines if " state: " in line]
    assert state.startswith(f"FAIL         state: {deployed.uri('failstreak/state.json')}")


def test_check_resolves_each_sources_credential_without_calling_the_platform(
    moto_s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a GitHub source whose token variable is unset, and a GitLab source whose token is set
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("GL_TOKEN", "glpat-test")
    moto_s3.put(
        "failstreak/config.yaml",
        (
            f"state: {moto_s3.uri('failstreak/state.json')}\n"
            "inbox: null\n"
            "sources:\n"
            "  - {type: github, token: {env: GH_TOKEN}, repo: octo/app, branch: main}\n"
            "  - {type: gitlab, url: 'https://gitlab.example.com', token: {env: GL_TOKEN}, project: g/app}\n"
        ).encode(),
    )
    # When the check runs
    code, lines = check(moto_s3, capsys)
    # Then the unset credential fails, naming the block and the variable; the set one resolves; both blocks are valid
    assert code == 1
    assert (
        "FAIL         secret sources[0].token: environment variable GH_TOKEN is not set (named by the config)"
    ) in lines
    assert "OK           secret sources[1].token: env:GL_TOKEN resolved" in lines
    assert "OK           inbox: none configured (sources only)" in lines
    assert "OK           source github: valid (not called: a pass reads it)" in lines
    assert "OK           source gitlab: valid (not called: a pass reads it)" in lines
    assert "glpat-test" not in "\n".join(lines)
