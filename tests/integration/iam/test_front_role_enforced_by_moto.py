"""The front's role, enforced by moto's own IAM for S3: the front run as a principal holding exactly that policy
writes the inbox and its replay markers, and is refused the state (as tests/integration/iam/
test_role_enforced_by_moto.py shows for the monitor's role)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto.core import enable_iam_authentication

from failstreak import s3client as s3store
from failstreak.app.config import load_config
from failstreak.core.model import Mute
from failstreak.errors import StoreUnavailable
from failstreak.front.context import front_for
from failstreak.front.routes import handle
from failstreak.front.signing import sign_v1
from failstreak.state.mutes import mutes_store
from failstreak.state.s3 import S3StateStore
from tests.infra.samstack import REGION, Stack, deploy, role_statements
from tests.integration.front.samples import url_event

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]
SECRET = "moto-iam-ingest-secret"
RECORD = b'{"job": "nightly", "run_id": 1, "status": "failed", "finished_at": "2026-09-20T10:00:00Z"}\n'


@pytest.fixture(scope="module")
def stack(aws: str) -> Stack:
    return deploy("fs-front-moto-iam", {}, aws)


def _principal(statements: list[dict[str, Any]], name: str) -> dict[str, str]:
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="failstreak-front",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _as(credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    s3store.reset_client()


def test_the_front_runs_as_a_principal_holding_exactly_its_role_policy(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the front role's policy on a principal, and the config in the stack's bucket naming the ingest secret
    bucket = stack.outputs["BucketName"]
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=bucket,
        Key="failstreak/config.yaml",
        Body=(
            f"state: s3://{bucket}/failstreak/state.json\ninbox: s3://{bucket}/failstreak/inbox/\n"
            "http: {ingest_secret: {env: FS_MOTO_IAM_INGEST}}\n"
        ).encode(),
    )
    monkeypatch.setenv("FS_MOTO_IAM_INGEST", SECRET)
    credentials = _principal(role_statements(stack, "FrontRole", "failstreak-front"), "front")
    stamp = str(int(time.time()))
    event = url_event(
        "/ingest", RECORD, {"x-failstreak-timestamp": stamp, "x-failstreak-signature": sign_v1(SECRET, stamp, RECORD)}
    )
    _as(credentials, monkeypatch)
    try:
        with enable_iam_authentication():
            # When a signed request is served, then the same request again
            front = front_for(load_config(stack.outputs["ConfigUri"]))
            first, again = handle(event, front)["statusCode"], handle(event, front)["statusCode"]
            # Then the config was read, the record written, its replay refused by the marker; and the state is
            # out of reach
            with pytest.raises(StoreUnavailable, match="AccessDenied"):
                S3StateStore.from_uri(f"s3://{bucket}/failstreak/state.json").save(b"{}", None)
            # And the mutes document is written from scratch, then changed, as the Slack routes write it
            mutes = mutes_store(f"s3://{bucket}/failstreak/state.json")
            mutes.add_ack("nightly", "ana")
            mutes.add_mute(Mute.new("nightly", 1, runs=1))
            book = mutes.read()
    finally:
        s3store.reset_client()
    assert (first, again) == (202, 401)
    keys = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=bucket)["Contents"]]
    assert len([k for k in keys if k.startswith("failstreak/inbox/")]) == 1
    assert len([k for k in keys if k.startswith("failstreak/replay/ingest/")]) == 1
    assert "failstreak/state.json" not in keys
    assert ([a.job for a in book.acks], [m.match for m in book.mutes]) == (["nightly"], ["nightly"])
