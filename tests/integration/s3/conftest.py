"""Fixtures for the S3 adapters: moto in-process, moto's server and a real SeaweedFS server on loopback.

Every test here runs with fake credentials and a fresh bucket; nothing can reach a real AWS account. The
adapters' shared client is boto3's (`FAILSTREAK_S3_CLIENT=boto3`, tests/conftest.py: moto in-process patches
botocore only) unless a test takes one of the `*_lite_s3` backends, where it is the light client (s3lite), talking
to moto's server or SeaweedFS over HTTP. `s3_fixture` makes a module's `s3` run on the backends it names.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from failstreak import s3client as s3store
from failstreak.s3lite import S3Lite
from tests.integration.s3.backends import S3, plain_client
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


# The backends a test may run on, by parameter id: fixture name. The `s3` fixture runs on BOTO3 (moto in-process
# and SeaweedFS, through boto3's client); a module whose adapters must work with either client runs on BOTH_CLIENTS.
BOTO3 = {"moto": "moto_s3", "seaweedfs": "seaweed_s3"}
BOTH_CLIENTS = {**BOTO3, "moto-server-s3lite": "moto_server_lite_s3", "seaweedfs-s3lite": "seaweed_lite_s3"}


def s3_fixture(backends: dict[str, str], name: str = "s3") -> Any:
    """A fixture (`s3` by default) running each test on every backend of `backends`."""

    @pytest.fixture(params=list(backends), name=name)
    def s3(request: pytest.FixtureRequest) -> S3:
        """The same test against each backend."""
        fixture: S3 = request.getfixturevalue(backends[request.param])
        return fixture

    return s3


s3 = s3_fixture(BOTO3)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 as an HTTP server on loopback (the light client does not go through botocore, which moto's
    in-process mock patches)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _lite(backend: str, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv(s3store.CLIENT_VARIABLE, "auto")
    s3store.reset_client()
    assert isinstance(s3store.client(), S3Lite)
    # The test's own setup and inspection go through boto3; the adapters, through the shared light client.
    s3 = S3(backend, plain_client(endpoint), "")
    s3.bucket = s3.new_bucket()
    return s3


@pytest.fixture
def moto_server_lite_s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    return _lite("moto-server-s3lite", moto_endpoint, monkeypatch)


@pytest.fixture
def seaweed_lite_s3(seaweed: SeaweedServer, monkeypatch: pytest.MonkeyPatch) -> S3:
    return _lite("seaweedfs-s3lite", seaweed.endpoint, monkeypatch)
