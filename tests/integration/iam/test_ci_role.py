"""The CI role docs/deploy.md gives producers ("`s3:PutObject` on `arn:aws:s3:::BUCKET/failstreak/inbox/*`"),
against the calls `failstreak report` makes: evaluated by the tests' IAM evaluator, and enforced by moto."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto.core import enable_iam_authentication

from failstreak import s3client
from failstreak.app.cli import main
from tests.infra.samstack import ACCOUNT, REGION
from tests.integration.iam.calls import Account, all_requests, recording
from tests.integration.iam.policy import denied

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[3] / "docs" / "deploy.md"
BUCKET = "ci-feeds-here"
CI_POLICY = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/failstreak/inbox/*"}]
REPORT = ["report", "--inbox", f"s3://{BUCKET}/failstreak/inbox/", "--job", "ci/api", "--status", "failed"]


def _no_lookups(region: str, name: str) -> str:
    raise AssertionError(f"report looked up {name!r}")


def test_the_documented_ci_policy_is_the_one_checked_here() -> None:
    # Given docs/deploy.md, then it states exactly the policy these tests check
    assert "The CI role needs only\n`s3:PutObject` on `arn:aws:s3:::BUCKET/failstreak/inbox/*`." in DEPLOY.read_text()


def test_report_makes_only_calls_the_ci_policy_allows(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a bucket, and every AWS call recorded
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    with recording() as rec:
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        s3client.reset_client()
        # When a CI job reports its run
        assert main([*REPORT, "--run-id", "1"]) == 0
        calls = rec.snapshot()

    # Then it made one PutObject under the inbox, which the documented policy allows
    assert [str(c) for c in calls] == ["s3.PutObject"]
    assert calls[0].params["Key"].startswith("failstreak/inbox/")
    assert denied(CI_POLICY, all_requests(calls, Account(ACCOUNT, _no_lookups, _no_lookups))) == []
    assert capsys.readouterr().out.startswith(f"s3://{BUCKET}/failstreak/inbox/")


def test_report_works_as_a_principal_holding_only_the_ci_policy(
    aws: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a principal whose only policy is the documented CI policy
    iam = boto3.client("iam", region_name=REGION)
    iam.create_user(UserName="ci")
    iam.put_user_policy(
        UserName="ci",
        PolicyName="failstreak-report",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": CI_POLICY}),
    )
    key = iam.create_access_key(UserName="ci")["AccessKey"]
    s3 = boto3.client("s3", region_name=REGION)
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    s3client.reset_client()  # the shared client is built again, from the principal's credentials

    # When a CI job reports with moto enforcing IAM, then the record is written; and outside the inbox it is refused
    with enable_iam_authentication():
        assert main([*REPORT, "--run-id", "2"]) == 0
        assert main([*REPORT[:2], f"s3://{BUCKET}/failstreak/elsewhere/", *REPORT[3:], "--run-id", "3"]) == 1
    assert "AccessDenied" in capsys.readouterr().err
