"""The monitor role, as template.yaml renders it, against every AWS call a real pass makes.

template.yaml is deployed into moto (tests/infra/samstack.py), and the Lambda handler runs passes against the
stack's own bucket, as deployed: config and JOBOWNERS read from S3, an inbox with good, partly bad and unreadable
files (archived, rejected lines written, quarantined), the Slack token from each of the four places the role lets
it come from (the named secret, the named parameter, a secret and a parameter under SecretsPrefix), and email
through SES. Every AWS call is recorded with botocore's event hooks (tests/integration/iam/calls.py) and checked,
with its resource ARN and condition keys, against the role's policy as IAM holds it (tests/integration/iam/policy.py).

Statements the Lambda service uses rather than the code (logs, the failed-invocation queue, X-Ray) are pinned by
tests/infra/test_template_stack.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import msgspec
import pytest
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

from failstreak import s3client as s3store
from failstreak.app import secrets
from failstreak.core.model import Mute, State
from failstreak.state.codec import encode
from tests.infra.samstack import ACCOUNT, REGION, Stack, deploy, role_statements
from tests.integration.iam.calls import Account, Call, all_requests, recording, requests_for
from tests.integration.iam.policy import Request, allowed, denied
from tests.integration.s3.test_lambda_handler import LambdaContext, fresh_handler
from tests.integration.slack_server import SlackServer, running

pytestmark = [
    pytest.mark.integration,
    # moto records but does not create alarms, subscriptions, bucket policies and event-invoke configs.
    pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning"),
]

# The Slack secret and parameter the stack names sit outside SecretsPrefix, so each statement is the only one that
# allows its own reads.
PARAMETERS = {
    "SlackTokenSecretName": "slack-bot-token",
    "SlackTokenParameterName": "/slack/bot-token",
    "SecretsPrefix": "failstreak/",
    "EmailSenderIdentity": "example.com",
}
TOKEN = "xoxb-test-token"  # what tests/integration/slack_server.py accepts
# Where the Slack token comes from in each pass: one per statement that lets the role read a secret.
TOKEN_REFS = [
    {"secret": "slack-bot-token"},
    {"ssm": "/slack/bot-token"},
    {"secret": "failstreak/slack"},
    {"ssm": "/failstreak/slack"},
]
# Where the page secret (which signs the messages' run-history links) comes from in each pass: the two resources of
# ReadPageSecret, under the front's default FrontSecretsPrefix.
PAGE_SECRET_REFS = [{"secret": "failstreak-front/page"}, {"ssm": "/failstreak-front/page"}]
FRONT_URL = "https://abcdefghij.lambda-url.us-east-1.on.aws/"
# Used by the Lambda service on the function's behalf, not by the code: pinned by the template tests.
SERVICE_STATEMENTS = {"WriteOwnLogs", "ReportFailedInvocations", "WriteTraces"}
T0 = 1_790_000_000_000


@dataclass
class Passes:
    stack: Stack
    bucket: str
    calls: list[Call]
    results: list[dict[str, Any]]
    slack: SlackServer
    emails: int
    account: Account


def _account(helper: boto3.session.Session) -> Account:
    secrets_client = helper.client("secretsmanager", region_name=REGION)
    ses = helper.client("sesv2", region_name=REGION)

    def secret_arn(region: str, name: str) -> str:
        arn: str = secrets_client.describe_secret(SecretId=name)["ARN"]
        return arn

    def email_identity(region: str, address: str) -> str:
        # SES authorizes a send against the verified identity it uses: the address if it is verified itself,
        # else its domain (https://docs.aws.amazon.com/ses/latest/dg/sending-authorization-policy-examples.html).
        verified = {i["IdentityName"] for i in ses.list_email_identities()["EmailIdentities"]}
        return address if address in verified else address.rpartition("@")[2]

    return Account(ACCOUNT, secret_arn, email_identity)


def _inbox_file(run: int, job: str) -> bytes:
    return b"".join(
        json.dumps(
            {"job": job, "run_id": run * 10 + i, "status": "failed", "finished_at": T0 + run * 1000 + i}
        ).encode()
        + b"\n"
        for i in range(3)
    )


def _config(bucket: str, slack: SlackServer, token_ref: dict[str, str], page_secret: dict[str, str]) -> str:
    return json.dumps(
        {
            "http": {"page_secret": page_secret},
            "state": f"s3://{bucket}/failstreak/state.json",
            "inbox": f"s3://{bucket}/failstreak/inbox/",
            "owners": f"s3://{bucket}/failstreak/JOBOWNERS",
            "page": f"s3://{bucket}/failstreak/page.html",
            "teams": {"data": {"slack": ["#data"], "email": ["data@example.com"]}},
            "notify": {
                "slack": {"token": token_ref, "base_url": slack.base_url},
                "email": {"sender": "alerts@example.com", "region": REGION},
            },
        }
    )


def _version_5_with_a_mute() -> bytes:
    doc = json.loads(encode(State()))
    doc["version"] = 5
    doc["mutes"] = [msgspec.to_builtins(Mute.new("nothing/here", 1, until=4_000_000_000_000))]
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def passes(aws: str, monkeypatch_module: pytest.MonkeyPatch) -> Passes:
    """Four passes through the Lambda handler, each with its Slack token read from a different place."""
    mp = monkeypatch_module
    stack = deploy("fs-iam", PARAMETERS, aws)
    bucket = stack.outputs["BucketName"]
    # The test's own clients are built before recording starts, so their calls are not the code's.
    helper = boto3.session.Session(region_name=REGION)
    s3 = helper.client("s3")
    helper.client("secretsmanager").create_secret(Name="slack-bot-token", SecretString=TOKEN)
    helper.client("secretsmanager").create_secret(Name="failstreak/slack", SecretString=TOKEN)
    helper.client("ssm").put_parameter(Name="/slack/bot-token", Value=TOKEN, Type="SecureString")
    helper.client("ssm").put_parameter(Name="/failstreak/slack", Value=TOKEN, Type="SecureString")
    helper.client("secretsmanager").create_secret(Name="failstreak-front/page", SecretString="page-secret")
    helper.client("ssm").put_parameter(Name="/failstreak-front/page", Value="page-secret", Type="SecureString")
    helper.client("sesv2").create_email_identity(EmailIdentity="example.com")
    s3.put_object(Bucket=bucket, Key="failstreak/JOBOWNERS", Body=b"ci/*  @data\n")
    # A version 5 state holding a mute (of no job here): the first pass moves it into the mutes document.
    s3.put_object(Bucket=bucket, Key="failstreak/state.json", Body=_version_5_with_a_mute())
    mp.setenv("FAILSTREAK_CONFIG", stack.outputs["ConfigUri"])
    mp.setenv("POWERTOOLS_SERVICE_NAME", "failstreak")
    mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "Failstreak")
    mp.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    mp.setenv("FAILSTREAK_FRONT_URL", FRONT_URL)  # as template.yaml sets it
    results = []
    with running() as slack, recording() as rec, pytest.MonkeyPatch.context() as each:
        # Every client the code builds from here on is built in a session that records.
        each.setattr(boto3, "DEFAULT_SESSION", None)
        s3store.reset_client()
        DEFAULT_PROVIDERS.clear()
        for n, token_ref in enumerate(TOKEN_REFS):
            secrets.clear_cache()
            s3.put_object(
                Bucket=bucket,
                Key="failstreak/config.yaml",
                Body=_config(bucket, slack, token_ref, PAGE_SECRET_REFS[n % 2]).encode(),
            )
            s3.put_object(Bucket=bucket, Key=f"failstreak/inbox/good-{n}.jsonl", Body=_inbox_file(n, f"ci/build-{n}"))
            s3.put_object(
                Bucket=bucket,
                Key=f"failstreak/inbox/partly-bad-{n}.jsonl",
                Body=_inbox_file(n + 100, f"ci/test-{n}") + b"{not json\n",
            )
            s3.put_object(Bucket=bucket, Key=f"failstreak/inbox/unreadable-{n}.jsonl", Body=b"\xff\xfe\x00garbage")
            handler = fresh_handler(each)
            results.append(handler({"source": "aws.events"}, LambdaContext()))
        calls = rec.snapshot()
    s3store.reset_client()
    DEFAULT_PROVIDERS.clear()
    secrets.clear_cache()
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    emails = len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)
    return Passes(stack, bucket, calls, results, slack, emails, _account(helper))


def test_the_passes_did_what_the_role_is_checked_against(passes: Passes) -> None:
    # Given four passes through the handler, each with two failing jobs owned by team data
    # Then each one archived, rejected lines, quarantined, delivered to Slack and by email, and kept the
    # run-history page: the calls
    # recorded are those of a pass that used every permission it has (rejected: one bad line, one unreadable file)
    for result in passes.results:
        assert (result["ingested"], result["rejected"]) == (6, 2)
        assert sorted(n["event"] for n in result["notifications"]) == ["triggered", "triggered"]
    assert len(passes.slack.posted()) == 4  # one digest per channel per pass, posted with the fetched token
    assert {r.auth for r in passes.slack.calls("chat.postMessage")} == {f"Bearer {TOKEN}"}
    # each carrying a run-history link signed with the page secret read from where the pass's config says
    assert all(f"<{FRONT_URL}page?token=v1." in json.dumps(post["blocks"]) for post in passes.slack.posted())
    assert passes.emails == 4
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=passes.bucket, Prefix="failstreak/")["Contents"]]
    assert not [k for k in keys if k.startswith("failstreak/inbox/")]
    assert len([k for k in keys if k.startswith("failstreak/processed/")]) == 8
    assert len([k for k in keys if k.endswith(".reason.txt")]) == 4
    assert len([k for k in keys if k.endswith(".rejected.jsonl")]) == 4
    assert "failstreak/page.html" in keys
    # And the calls are the kinds the role must allow, and nothing else (no CloudWatch API: metrics are EMF logs)
    assert {str(c) for c in passes.calls} == {
        "s3.GetObject",
        "s3.HeadObject",
        "s3.PutObject",
        "s3.CopyObject",
        "s3.DeleteObject",
        "s3.ListObjectsV2",
        "secretsmanager.GetSecretValue",
        "ssm.GetParameter",
        "sesv2.SendEmail",
    }
    assert all(c.status is not None and (c.status < 300 or c.status == 404) for c in passes.calls)


def test_the_role_allows_every_call_the_passes_made(passes: Passes) -> None:
    # Given the role's statements as IAM holds them, and the IAM requests of every recorded call
    statements = role_statements(passes.stack)
    requests = all_requests(passes.calls, passes.account)

    # When each is evaluated, then none is denied
    assert [str(r) for r in denied(statements, requests)] == []
    # And the first read of the state (404: no state yet) is one of them, which S3 answers only to a lister
    assert any(r.action == "s3:ListBucket" and not r.context for r in requests)


def _needed(passes: Passes) -> list[dict[str, Any]]:
    return [s for s in role_statements(passes.stack) if s.get("Sid") not in SERVICE_STATEMENTS]


def test_the_role_has_only_the_statements_the_code_or_the_lambda_service_uses(passes: Passes) -> None:
    # Given the role's statements
    sids = {s["Sid"] for s in role_statements(passes.stack)}
    # Then each is either checked below against the code's calls or used by the Lambda service
    assert sids - SERVICE_STATEMENTS == {
        "ListOwnPrefix",
        "ReadConfigStateAndInbox",
        "WriteStateArchiveAndQuarantine",
        "RemoveArchivedInboxFiles",
        "ReadSlackSecret",
        "ReadSlackParameter",
        "ReadSecretsUnderPrefix",
        "ReadPageSecret",
        "SendAsSenderIdentity",
    }
    assert sids & SERVICE_STATEMENTS == {"WriteOwnLogs", "ReportFailedInvocations"}


@pytest.mark.parametrize(
    "sid",
    sorted(
        {
            "ListOwnPrefix",
            "ReadConfigStateAndInbox",
            "WriteStateArchiveAndQuarantine",
            "RemoveArchivedInboxFiles",
            "ReadSlackSecret",
            "ReadSlackParameter",
            "ReadSecretsUnderPrefix",
            "ReadPageSecret",
            "SendAsSenderIdentity",
        }
    ),
)
def test_without_any_one_statement_some_call_of_the_passes_is_denied(passes: Passes, sid: str) -> None:
    # Given the role's policy with one statement dropped
    statements = role_statements(passes.stack)
    reduced = [s for s in statements if s.get("Sid") != sid]
    assert len(reduced) == len(statements) - 1

    # When the recorded calls are evaluated against it
    refused = denied(reduced, all_requests(passes.calls, passes.account))

    # Then at least one is denied: the statement is needed, and the test would catch its removal
    assert refused


def _pieces(statement: dict[str, Any], field: str) -> list[str]:
    value = statement[field]
    return [value] if isinstance(value, str) else list(value)


def test_without_any_one_action_or_resource_some_call_is_denied(passes: Passes) -> None:
    # Given each statement the code needs, with one of its actions or one of its resources taken out
    requests = all_requests(passes.calls, passes.account)
    statements = role_statements(passes.stack)
    unused = []
    for i, statement in enumerate(statements):
        if statement.get("Sid") in SERVICE_STATEMENTS:
            continue
        for field in ("Action", "Resource"):
            for piece in _pieces(statement, field):
                trimmed = [p for p in _pieces(statement, field) if p != piece]
                reduced = [*statements[:i], *([{**statement, field: trimmed}] if trimmed else []), *statements[i + 1 :]]
                # When the recorded calls are evaluated against it, then some call is denied
                if not denied(reduced, requests):
                    unused.append(f"{statement['Sid']}: {piece}")
    # Then no action and no resource of the role is granted without a call that needs it
    assert unused == []


def test_sending_raw_email_needs_ses_send_raw_email(passes: Passes) -> None:
    # Given the SES statement without ses:SendRawEmail
    statements = role_statements(passes.stack)
    ses = next(s for s in statements if s["Sid"] == "SendAsSenderIdentity")
    without_raw = [s for s in statements if s is not ses] + [{**ses, "Action": "ses:SendEmail"}]
    sends = [r for c in passes.calls if str(c) == "sesv2.SendEmail" for r in requests_for(c, passes.account)]

    # When the pass's SendEmail calls (raw MIME content) are evaluated
    refused = denied(without_raw, sends)

    # Then each is denied as ses:SendRawEmail on the sender's identity, as AWS does
    assert sends
    assert {(r.action, r.resource) for r in refused} == {
        ("ses:SendRawEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/example.com")
    }


def test_listing_outside_the_failstreak_prefix_is_denied(passes: Passes) -> None:
    # Given the role, and a listing of the bucket's root or of another prefix
    statements = role_statements(passes.stack)
    bucket = f"arn:aws:s3:::{passes.bucket}"

    # Then the prefix condition refuses them, while the listings the passes made are allowed
    assert not allowed(statements, Request("s3:ListBucket", bucket, {"s3:prefix": ""}))
    assert not allowed(statements, Request("s3:ListBucket", bucket, {"s3:prefix": "other/"}))
    assert allowed(statements, Request("s3:ListBucket", bucket, {"s3:prefix": "failstreak/inbox/"}))


def test_the_first_pass_moved_the_version_5_mute_into_the_mutes_document(passes: Passes) -> None:
    # Given the passes over a version 5 state holding a mute; Then the mute is in the mutes document, written by
    # the monitor's role, and the state no longer holds it
    s3 = boto3.client("s3", region_name=REGION)
    book = json.loads(s3.get_object(Bucket=passes.bucket, Key="failstreak/mutes.json")["Body"].read())
    assert [m["match"] for m in book["mutes"]] == ["nothing/here"]
    state = json.loads(s3.get_object(Bucket=passes.bucket, Key="failstreak/state.json")["Body"].read())
    assert (state["version"], "mutes" in state) == (7, False)  # the current version
