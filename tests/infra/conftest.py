"""Fixtures for the template checks: one moto account per module, with the stack variants the tests compare."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.infra.samstack import EXISTING_BUCKET, FULL, REGION, Stack, deploy, upload_code


@pytest.fixture(scope="module")
def aws(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto account with the packaged function code uploaded; yields the code's S3 URI."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch_module.setenv(name, value)
    monkeypatch_module.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch_module.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield upload_code()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def full_stack(aws: str) -> Stack:
    """The stack with a Slack secret and parameter, an email sender and an alarm email."""
    return deploy("fs-full", FULL, aws)


@pytest.fixture(scope="module")
def default_stack(aws: str) -> Stack:
    """The stack with every parameter at its default: no secret, no parameter, no email, no tracing."""
    return deploy("fs-default", {}, aws)


@pytest.fixture(scope="module")
def existing_bucket_stack(aws: str) -> Stack:
    """The stack pointed at a bucket that already exists: tracing on, schedule disabled, no reserved concurrency."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=EXISTING_BUCKET)
    return deploy(
        "fs-existing",
        {
            "ExistingBucketName": EXISTING_BUCKET,
            "TracingEnabled": "true",
            "ScheduleEnabled": "false",
            "ReserveConcurrency": "false",
        },
        aws,
    )
