"""The HTTP front's role, as template.yaml renders it, against every AWS call the front makes.

template.yaml is deployed into moto (tests/infra/samstack.py); the front's Lambda handler serves signed requests on
each of its routes against the stack's own bucket, with its secrets read from the places the role allows (a Secrets
Manager secret and an SSM parameter under FrontSecretsPrefix). Every AWS call is recorded with botocore's event
hooks and checked against the role's policy (tests/integration/iam/calls.py, policy.py), as the monitor's are.
"""

from __future__ import annotations

import gzip
import importlib
import json
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

from failstreak import s3client as s3store
from failstreak.app import secrets
from failstreak.core.model import MuteBook
from failstreak.core.pagetoken import mint
from failstreak.front.replay import S3ReplayGuard
from failstreak.front.signing import sign_github, sign_v1
from failstreak.state.mutes import decode_mutes, encode_mutes, mutes_store
from tests.infra.samstack import ACCOUNT, REGION, Stack, deploy, role_statements
from tests.integration.front.samples import GITHUB_WORKFLOW_JOB_FAILED, gitlab_job, url_event
from tests.integration.iam.calls import Account, Call, all_requests, recording
from tests.integration.iam.policy import Request, allowed, denied
from tests.integration.s3.test_lambda_handler import LambdaContext

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]

INGEST = "ingest-secret"
GITHUB = "github-secret"
GITLAB = "gitlab-token"
SERVICE_STATEMENTS = {"WriteOwnLogs", "WriteTraces"}
NEEDED = {"ReadConfig", "ReadPage", "WriteInbox", "ClaimRequestIds", "ReadFrontSecrets", "ReadWriteMutes"}
PAGE_SECRET = "page-secret"


@dataclass
class Served:
    stack: Stack
    bucket: str
    calls: list[Call]
    answers: list[int]
    account: Account


def _config(bucket: str) -> str:
    return json.dumps(
        {
            "state": f"s3://{bucket}/failstreak/state.json",
            "inbox": f"s3://{bucket}/failstreak/inbox/",
            "page": f"s3://{bucket}/failstreak/page.html",
            "http": {
                "ingest_secret": {"secret": "failstreak-front/ingest"},
                "github_secret": {"ssm": "/failstreak-front/github"},
                "gitlab_token": {"secret": "failstreak-front/gitlab"},
                "page_secret": {"secret": "failstreak-front/page"},
            },
        }
    )


def _events() -> list[dict[str, Any]]:
    record = b'{"job": "ci/build", "run_id": 1, "status": "failed", "finished_at": "2026-09-20T10:00:00Z"}\n'
    stamp = str(int(time.time()))
    github = json.dumps(GITHUB_WORKFLOW_JOB_FAILED).encode()
    gitlab = json.dumps(gitlab_job()).encode()
    return [
        url_event(
            "/ingest",
            record,
            {"x-failstreak-timestamp": stamp, "x-failstreak-signature": sign_v1(INGEST, stamp, record)},
        ),
        url_event(
            "/ingest/github",
            github,
            {
                "x-github-event": "workflow_job",
                "x-github-delivery": str(uuid.uuid4()),
                "x-hub-signature-256": sign_github(GITHUB, github),
            },
        ),
        url_event(
            "/ingest/gitlab",
            gitlab,
            {"x-gitlab-event": "Job Hook", "x-gitlab-token": GITLAB, "idempotency-key": str(uuid.uuid4())},
        ),
        url_event(
            "/page",
            b"",
            {"accept-encoding": "gzip"},
            method="GET",
            query={"token": mint(PAGE_SECRET, int(time.time()) + 3600)},
        ),
    ]


@pytest.fixture(scope="module")
def served(aws: str, monkeypatch_module: pytest.MonkeyPatch) -> Served:
    """Each route served once through the front's handler, then a replay (refused), then a claim given back."""
    mp = monkeypatch_module
    stack = deploy("fs-front-iam", {}, aws)
    bucket = stack.outputs["BucketName"]
    helper = boto3.session.Session(region_name=REGION)
    helper.client("secretsmanager").create_secret(Name="failstreak-front/ingest", SecretString=INGEST)
    helper.client("secretsmanager").create_secret(Name="failstreak-front/gitlab", SecretString=GITLAB)
    helper.client("ssm").put_parameter(Name="/failstreak-front/github", Value=GITHUB, Type="SecureString")
    helper.client("secretsmanager").create_secret(Name="failstreak-front/page", SecretString=PAGE_SECRET)
    helper.client("s3").put_object(Bucket=bucket, Key="failstreak/config.yaml", Body=_config(bucket).encode())
    # The run-history page as a pass keeps it (gzip), for GET /page
    page = gzip.compress(b"<!DOCTYPE html><title>failstreak</title>")
    helper.client("s3").put_object(Bucket=bucket, Key="failstreak/page.html", Body=page, ContentEncoding="gzip")
    helper.client("s3").put_object(Bucket=bucket, Key="failstreak/mutes.json", Body=encode_mutes(MuteBook()))
    mp.setenv("FAILSTREAK_CONFIG", stack.outputs["ConfigUri"])
    mp.setenv("POWERTOOLS_SERVICE_NAME", "failstreak-front")
    mp.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    secrets_client = helper.client("secretsmanager", region_name=REGION)
    answers = []
    with recording() as rec, pytest.MonkeyPatch.context() as each:
        each.setattr(boto3, "DEFAULT_SESSION", None)
        s3store.reset_client()
        DEFAULT_PROVIDERS.clear()
        secrets.clear_cache()
        each.delitem(sys.modules, "front.app", raising=False)
        handler = importlib.import_module("front.app").lambda_handler
        events = _events()
        for event in [*events, events[0]]:
            answers.append(handler(event, LambdaContext(function_name="failstreak-front"))["statusCode"])
        # A claim given back, as after an inbox write that failed
        S3ReplayGuard(f"s3://{bucket}/failstreak/replay/").release("ingest", "v1=0")
        # An acknowledgement, as the Slack routes write it: a read-modify-write of the mutes document (which a
        # pass or a command created before; its first write is checked under IAM in
        # test_front_role_enforced_by_moto.py)
        mutes_store(f"s3://{bucket}/failstreak/state.json").add_ack("ci/build", "ana")
        calls = rec.snapshot()
    s3store.reset_client()
    DEFAULT_PROVIDERS.clear()
    secrets.clear_cache()

    def secret_arn(region: str, name: str) -> str:
        arn: str = secrets_client.describe_secret(SecretId=name)["ARN"]
        return arn

    return Served(stack, bucket, calls, answers, Account(ACCOUNT, secret_arn, lambda region, address: address))


def _statements(served: Served) -> list[dict[str, Any]]:
    return role_statements(served.stack, "FrontRole", "failstreak-front")


def test_the_front_served_every_route_and_refused_the_replay(served: Served) -> None:
    # Given the three ingest routes and the page served through the handler, then the first request replayed
    # Then each was accepted, the replay refused, and the calls are those of a front using every permission
    assert served.answers == [202, 202, 202, 200, 401]
    assert {str(c) for c in served.calls} == {
        "s3.GetObject",
        "s3.PutObject",
        "s3.DeleteObject",
        "secretsmanager.GetSecretValue",
        "ssm.GetParameter",
    }
    keys = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=served.bucket)["Contents"]]
    assert len([k for k in keys if k.startswith("failstreak/inbox/")]) == 3
    mutes = boto3.client("s3", region_name=REGION).get_object(Bucket=served.bucket, Key="failstreak/mutes.json")
    assert [a.job for a in decode_mutes(mutes["Body"].read(), "mutes.json").acks] == ["ci/build"]


def test_the_front_role_allows_every_call_the_front_made(served: Served) -> None:
    # Given the front role's statements and the IAM requests of every recorded call
    requests = all_requests(served.calls, served.account)
    # Then none is denied
    assert [str(r) for r in denied(_statements(served), requests)] == []


def test_the_front_role_has_only_the_statements_the_code_or_the_lambda_service_uses(served: Served) -> None:
    # Given the front role's statements; Then each is checked against the calls below, or used by the service
    sids = {s["Sid"] for s in _statements(served)}
    assert sids - SERVICE_STATEMENTS == NEEDED
    assert sids & SERVICE_STATEMENTS == {"WriteOwnLogs"}


@pytest.mark.parametrize("sid", sorted(NEEDED))
def test_without_any_one_front_statement_some_call_is_denied(served: Served, sid: str) -> None:
    # Given the front role without one statement; When the recorded calls are evaluated; Then some is denied
    reduced = [s for s in _statements(served) if s.get("Sid") != sid]
    assert denied(reduced, all_requests(served.calls, served.account))


def _pieces(statement: dict[str, Any], field: str) -> list[str]:
    value = statement[field]
    return [value] if isinstance(value, str) else list(value)


def test_without_any_one_front_action_or_resource_some_call_is_denied(served: Served) -> None:
    # Given each needed statement with one of its actions or resources taken out
    requests = all_requests(served.calls, served.account)
    statements = _statements(served)
    unused = []
    for i, statement in enumerate(statements):
        if statement.get("Sid") in SERVICE_STATEMENTS:
            continue
        for field in ("Action", "Resource"):
            for piece in _pieces(statement, field):
                trimmed = [p for p in _pieces(statement, field) if p != piece]
                reduced = [*statements[:i], *([{**statement, field: trimmed}] if trimmed else []), *statements[i + 1 :]]
                if not denied(reduced, requests):
                    unused.append(f"{statement['Sid']}: {piece}")
    # Then nothing is granted without a call that needs it
    assert unused == []


def test_the_front_role_can_neither_read_nor_write_the_state(served: Served) -> None:
    # Given the front role; When it would touch the state, the archive or list the bucket
    statements = _statements(served)
    state = f"arn:aws:s3:::{served.bucket}/failstreak/state.json"
    # Then IAM refuses each
    for request in (
        Request("s3:GetObject", state),
        Request("s3:PutObject", state),
        Request("s3:DeleteObject", f"arn:aws:s3:::{served.bucket}/failstreak/inbox/x.jsonl"),
        Request("s3:PutObject", f"arn:aws:s3:::{served.bucket}/failstreak/processed/x.jsonl"),
        Request("s3:ListBucket", f"arn:aws:s3:::{served.bucket}", {"s3:prefix": "failstreak/"}),
    ):
        assert not allowed(statements, request), request


def test_the_front_role_reads_and_writes_the_mutes_document_and_nothing_else_beside_it(served: Served) -> None:
    # Given the front role; When it would read or write the mutes document, or write beside it
    statements = _statements(served)
    mutes = f"arn:aws:s3:::{served.bucket}/failstreak/mutes.json"
    # Then IAM allows the mutes document, and refuses deleting it and writing any other object beside the state
    assert allowed(statements, Request("s3:GetObject", mutes))
    assert allowed(statements, Request("s3:PutObject", mutes))
    for request in (
        Request("s3:DeleteObject", mutes),
        Request("s3:PutObject", f"arn:aws:s3:::{served.bucket}/failstreak/mutes.json.bak"),
        Request("s3:PutObject", f"arn:aws:s3:::{served.bucket}/failstreak/config.yaml"),
        Request("s3:PutObject", f"arn:aws:s3:::{served.bucket}/failstreak/page.html"),
    ):
        assert not allowed(statements, request), request
