"""Secrets by reference through powertools parameters: Secrets Manager, SSM, caching, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from failstreak.app import secrets, wiring
from failstreak.app.config import SecretRef, parse_config, resolve_secret
from failstreak.app.wiring import pass_settings
from failstreak.errors import ConfigError
from failstreak.pipeline.run import run_pass
from tests.integration.slack_server import running

pytestmark = pytest.mark.integration


@pytest.fixture
def aws() -> Iterator[None]:
    secrets.clear_cache()
    with mock_aws():
        yield
    secrets.clear_cache()


def test_a_secrets_manager_reference_resolves_to_the_secret_string(aws: None) -> None:
    # Given a secret in Secrets Manager
    boto3.client("secretsmanager").create_secret(Name="failstreak/slack", SecretString="xoxb-123")
    # When the config's reference is resolved, then its value comes back
    assert resolve_secret(SecretRef(secret="failstreak/slack")) == "xoxb-123"


def test_an_ssm_reference_resolves_to_the_decrypted_secure_string(aws: None) -> None:
    # Given an encrypted SSM parameter
    boto3.client("ssm").put_parameter(Name="/failstreak/smtp", Value="hunter2", Type="SecureString")
    # When resolved, then the plaintext comes back
    assert resolve_secret(SecretRef(ssm="/failstreak/smtp")) == "hunter2"


def test_a_resolved_secret_is_cached_across_warm_invocations(aws: None) -> None:
    # Given a secret already fetched once
    client = boto3.client("secretsmanager")
    client.create_secret(Name="s", SecretString="first")
    assert secrets.fetch(SecretRef(secret="s")) == "first"
    # When it changes and is fetched again within the cache age
    client.put_secret_value(SecretId="s", SecretString="second")
    # Then the cached value is used (no second API call); a cleared cache sees the new one
    assert secrets.fetch(SecretRef(secret="s")) == "first"
    secrets.clear_cache()
    assert secrets.fetch(SecretRef(secret="s")) == "second"


def test_a_missing_secret_is_a_config_error_naming_the_reference(aws: None) -> None:
    # Given no such secret, when resolved, then the error names the reference
    with pytest.raises(ConfigError, match=r"^secret:failstreak/none: cannot fetch: .*ResourceNotFound"):
        secrets.fetch(SecretRef(secret="failstreak/none"))


def test_a_missing_parameter_is_a_config_error_naming_the_reference_only(aws: None) -> None:
    # Given no parameter /wrong
    # When it is resolved, then the message names the reference and the API's reason
    with pytest.raises(ConfigError, match=r"^ssm:/wrong: cannot fetch: .*ParameterNotFound"):
        secrets.fetch(SecretRef(ssm="/wrong"))


def test_a_fetched_token_that_slack_refuses_appears_in_no_error_summary_state_or_log(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a Slack token fetched from Secrets Manager that Slack refuses (invalid_auth): the one error path on
    # which the value itself was sent somewhere and an error comes back
    token = "xoxb-0000-s3cr3t-value"
    boto3.client("secretsmanager").create_secret(Name="failstreak/slack", SecretString=token)
    (tmp_path / "inbox").mkdir()
    runs = [{"job": "ci/a", "run_id": n, "status": "failed", "finished_at": 1_790_000_000_000 + n} for n in (1, 2, 3)]
    (tmp_path / "inbox" / "runs.jsonl").write_text("\n".join(json.dumps(r) for r in runs) + "\n")
    with running() as slack:
        cfg = parse_config(
            json.dumps(
                {
                    "state": str(tmp_path / "state.json"),
                    "inbox": str(tmp_path / "inbox"),
                    "notify": {
                        "slack": {
                            "token": {"secret": "failstreak/slack"},
                            "base_url": slack.base_url,
                            "default_channel": "#ops",
                        }
                    },
                }
            )
        )

        # When a pass alerts
        summary = run_pass(pass_settings(cfg), wiring.ports(cfg)).to_dict()

        # Then Slack saw the token and refused it, the pass reports the refusal ...
        assert [r.auth for r in slack.calls("chat.postMessage")] == [f"Bearer {token}"]
    (failure,) = summary["delivery_failures"]
    assert "invalid_auth" in failure["error"]
    # ... and the value is nowhere in what the pass reports, stores or logs
    outputs = [json.dumps(summary), (tmp_path / "state.json").read_text(), caplog.text, *capsys.readouterr()]
    assert [o for o in outputs if "s3cr3t" in o] == []


def test_an_env_reference_is_not_fetched_here() -> None:
    # Given an env reference handed to the AWS fetcher by mistake, then it is refused, not looked up
    with pytest.raises(ConfigError, match=r"^env:TOKEN: not a Secrets Manager or SSM reference"):
        secrets.fetch(SecretRef(env="TOKEN"))
