"""The front against moto's S3: fake credentials, a fresh bucket, the route secrets in the environment."""

from __future__ import annotations

import pytest

from tests.integration.s3.conftest import (
    aws_env,
    moto_endpoint,
    moto_s3,
    moto_server_lite_s3,
    s3,
    seaweed,
    seaweed_lite_s3,
    seaweed_s3,
)

__all__ = [
    "aws_env",
    "moto_endpoint",
    "moto_s3",
    "moto_server_lite_s3",
    "s3",
    "seaweed",
    "seaweed_lite_s3",
    "seaweed_s3",
]

INGEST_SECRET = "ingest-secret-for-tests"
GITHUB_SECRET = "github-secret-for-tests"
GITLAB_TOKEN = "gitlab-token-for-tests"


@pytest.fixture(autouse=True)
def route_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FS_TEST_INGEST_SECRET", INGEST_SECRET)
    monkeypatch.setenv("FS_TEST_GITHUB_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("FS_TEST_GITLAB_TOKEN", GITLAB_TOKEN)
