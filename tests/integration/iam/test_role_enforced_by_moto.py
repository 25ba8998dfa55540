"""The same role, enforced by moto's own IAM for S3: a pass run as a principal holding exactly the role's policy.

moto authorizes each S3 request from its HTTP method and path (GetObject, PutObject, DeleteObject, ListBucket on
the object or bucket ARN). It ignores `StringLikeIfExists` conditions and checks a copy as a PutObject on the
destination only, so tests/integration/iam/test_role_allows_the_calls.py stays the exact check; this one shows the
same policy working against an independent implementation of the S3 action and resource mapping.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.core import enable_iam_authentication

from failstreak import s3client as s3store
from failstreak.app import wiring
from failstreak.app.config import load_config
from failstreak.app.wiring import pass_settings
from failstreak.errors import StoreUnavailable
from failstreak.pipeline.run import run_pass
from tests.infra.samstack import REGION, Stack, deploy, role_statements

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]
T0 = 1_790_000_000_000


@pytest.fixture(scope="module")
def stack(aws: str) -> Stack:
    return deploy("fs-moto-iam", {}, aws)


def _principal(statements: list[dict[str, Any]], name: str) -> dict[str, str]:
    """An IAM user holding exactly `statements`; its access key as environment variables."""
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="failstreak-monitor",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _prepare(stack: Stack, run: int) -> str:
    """A config in the stack's bucket and one inbox file of three failures; returns the config's URI."""
    bucket = stack.outputs["BucketName"]
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(
        Bucket=bucket,
        Key="failstreak/config.yaml",
        Body=f"state: s3://{bucket}/failstreak/state.json\ninbox: s3://{bucket}/failstreak/inbox/\n".encode(),
    )
    body = "".join(
        json.dumps({"job": "nightly", "run_id": run * 10 + i, "status": "failed", "finished_at": T0 + run * 100 + i})
        + "\n"
        for i in range(3)
    )
    s3.put_object(Bucket=bucket, Key=f"failstreak/inbox/{run}.jsonl", Body=body.encode())
    return stack.outputs["ConfigUri"]


def _run_as(credentials: dict[str, str], config_uri: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    s3store.reset_client()
    try:
        with enable_iam_authentication():
            cfg = load_config(config_uri)
            return run_pass(pass_settings(cfg), wiring.ports(cfg)).to_dict()
    finally:
        s3store.reset_client()


def test_a_pass_runs_as_a_principal_holding_exactly_the_role_policy(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a principal whose only policy is the role's, and a config and an inbox file in the stack's bucket
    credentials = _principal(role_statements(stack), "monitor")
    config_uri = _prepare(stack, 1)

    # When a pass runs with moto enforcing IAM on every S3 request
    summary = _run_as(credentials, config_uri, monkeypatch)

    # Then it read the config, counted the runs, saved the state and archived the file
    assert (summary["ingested"], summary["alerting"]) == (3, 1)
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=stack.outputs["BucketName"])["Contents"]]
    assert "failstreak/state.json" in keys
    assert not [k for k in keys if k.startswith("failstreak/inbox/")]


def test_moto_refuses_the_pass_when_the_role_cannot_write_the_state(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a principal with the role's policy minus the statement that writes state, archive and quarantine
    statements = [s for s in role_statements(stack) if s.get("Sid") != "WriteStateArchiveAndQuarantine"]
    credentials = _principal(statements, "monitor-without-writes")
    config_uri = _prepare(stack, 2)

    # When a pass runs, then saving the state is refused, and the inbox file stays for a later pass
    with pytest.raises(StoreUnavailable, match="AccessDenied"):
        _run_as(credentials, config_uri, monkeypatch)
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.list_objects_v2(Bucket=stack.outputs["BucketName"], Prefix="failstreak/inbox/")["KeyCount"] == 1
