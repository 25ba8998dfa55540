"""Secrets by reference through powertools parameters: Secrets Manager, SSM, caching, errors."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from failstreak import secrets
from failstreak.config import SecretRef, resolve_secret
from failstreak.errors import ConfigError

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


def test_an_error_never_includes_the_secret_value(aws: None) -> None:
    # Given a SecureString parameter, and a reference to a name next to it that does not exist
    boto3.client("ssm").put_parameter(Name="/real", Value="s3cr3t-value", Type="SecureString")
    # When a wrong reference is resolved, then the message names the reference only
    with pytest.raises(ConfigError) as raised:
        secrets.fetch(SecretRef(ssm="/wrong"))
    assert str(raised.value).startswith("ssm:/wrong: cannot fetch:")
    assert "s3cr3t" not in str(raised.value)


def test_an_env_reference_is_not_fetched_here() -> None:
    # Given an env reference handed to the AWS fetcher by mistake, then it is refused, not looked up
    with pytest.raises(ConfigError, match=r"^env:TOKEN: not a Secrets Manager or SSM reference"):
        secrets.fetch(SecretRef(env="TOKEN"))
