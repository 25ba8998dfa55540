"""Fixtures for the S3 adapters: moto in-process, and a real SeaweedFS server on loopback.

Every test here runs with fake credentials and a fresh bucket; nothing can reach a real AWS account.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

from failstreak import s3client as s3store
from tests.integration.s3.backends import S3
from tests.integration.s3.s3server import SeaweedServer


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a region, no profile and no endpoint; the shared client rebuilt for each test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "FAILSTREAK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    s3store.reset_client()
    yield
    s3store.reset_client()


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedServer]:
    server = SeaweedServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto_s3() -> Iterator[S3]:
    with mock_aws():
        s3 = S3("moto", s3store.client(), "")
        s3.bucket = s3.new_bucket()
        yield s3


@pytest.fixture
def seaweed_s3(seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> S3:
    # The adapters find the server the standard way: boto3 reads AWS_ENDPOINT_URL itself.
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweed.endpoint)
    s3store.reset_client()
    s3 = S3("seaweedfs", s3store.client(), "")
    s3.bucket = s3.new_bucket()
    return s3


@pytest.fixture(params=["moto", "seaweedfs"])
def s3(request: pytest.FixtureRequest) -> S3:
    """The same test against moto and against a real S3 server."""
    fixture: S3 = request.getfixturevalue({"moto": "moto_s3", "seaweedfs": "seaweed_s3"}[request.param])
    return fixture
