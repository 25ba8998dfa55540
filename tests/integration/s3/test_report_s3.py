"""`failstreak report` into an S3 inbox, against moto's S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from failstreak.app.cli import main
from failstreak.app.report import build_record, write_record
from failstreak.errors import StoreUnavailable

pytestmark = pytest.mark.integration

BUCKET = "failstreak-reports"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_cli_report_puts_one_jsonl_object_under_the_inbox_prefix(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an S3 inbox and a GitLab job's environment
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("CI_PIPELINE_ID", "9001")
    monkeypatch.setenv("CI_JOB_ID", "31337")
    monkeypatch.setenv("CI_JOB_URL", "https://gitlab.example.com/acme/etl/-/jobs/31337")
    monkeypatch.setenv("CI_COMMIT_SHA", "f00d")
    inbox = f"s3://{BUCKET}/failstreak/inbox/"

    # When the job reports its failure
    code = main(["report", "--inbox", inbox, "--job", "etl-load", "--status", "failed", "--reason", "timeout"])

    # Then one .jsonl object holds the record with the pipeline as run id, the job id as attempt, link and commit
    assert code == 0
    (key,) = _keys(s3, "failstreak/inbox/")
    assert capsys.readouterr().out.strip() == f"s3://{BUCKET}/{key}"
    assert key.endswith(".jsonl")
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    assert obj["ContentType"] == "application/x-ndjson"
    record = json.loads(obj["Body"].read())
    assert (record["job"], record["run_id"], record["attempt"], record["status"], record["source"]) == (
        "etl-load",
        "9001",
        31337,
        "failed",
        "gitlab",
    )
    assert record["url"] == "https://gitlab.example.com/acme/etl/-/jobs/31337"
    assert record["commit"] == "f00d"


def test_two_reports_of_the_same_run_never_overwrite_each_other(s3: Any) -> None:
    # Given the same run reported twice (a retried CI step)
    record = build_record("etl-load", "failed", run_id="1", finished_at="2026-11-23T05:00:00Z")

    # When both are written
    write_record(f"s3://{BUCKET}/failstreak/inbox", record)
    write_record(f"s3://{BUCKET}/failstreak/inbox", record)

    # Then two objects exist (the monitor counts the run once: it deduplicates by job, run and attempt)
    assert len(_keys(s3, "failstreak/inbox/")) == 2


def test_an_s3_refusal_becomes_a_store_error_naming_the_object(s3: Any) -> None:
    # Given an S3 client that is refused access
    record = build_record("etl-load", "failed", run_id="1", finished_at="2026-11-23T05:00:00Z")
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("put_object", service_error_code="AccessDenied", http_status_code=403)

    # When the record is written
    with (
        stubber,
        pytest.raises(StoreUnavailable, match=r"s3://failstreak-reports/failstreak/inbox/r\.jsonl.*AccessDenied"),
    ):
        write_record(f"s3://{BUCKET}/failstreak/inbox/", record, name="r.jsonl", s3_client=client)

    # Then nothing was written
    assert _keys(s3, "failstreak/inbox/") == []


def test_a_missing_bucket_is_reported_not_raised_as_a_traceback(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Given an inbox in a bucket that does not exist
    # When a report is made
    code = main(
        ["report", "--inbox", "s3://no-such-bucket/inbox/", "--job", "j", "--status", "failed", "--run-id", "1"]
    )

    # Then the command fails with a one-line reason
    assert code == 1
    err = capsys.readouterr().err
    assert "NoSuchBucket" in err
    assert len(err.strip().splitlines()) == 1
