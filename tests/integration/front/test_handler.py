"""functions/front/app.py, invoked as Lambda invokes it: the config from S3, the answer back, secrets never logged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.front.conftest import INGEST_SECRET
from tests.integration.front.frontkit import HTTP, ingest_event
from tests.integration.s3.backends import S3
from tests.integration.s3.test_lambda_handler import LambdaContext, emf, fresh_handler, json_lines

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
RECORD = b'{"job": "ci/build", "run_id": 1, "status": "failed", "finished_at": "2026-09-20T10:00:00Z"}\n'


def _handler(monkeypatch: pytest.MonkeyPatch) -> Handler:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "failstreak-front")
    return fresh_handler(monkeypatch, "front.app")


def test_the_handler_serves_a_signed_request_with_the_config_from_s3(
    moto_s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the config in the bucket and FAILSTREAK_CONFIG naming it, as the stack sets it
    moto_s3.put(
        "fs/config.yaml",
        f"state: {moto_s3.uri('fs/state.json')}\ninbox: {moto_s3.uri('fs/inbox/')}\n{HTTP}".encode(),
    )
    monkeypatch.setenv("FAILSTREAK_CONFIG", moto_s3.uri("fs/config.yaml"))
    handler = _handler(monkeypatch)
    # When a signed request is invoked
    answer = handler(ingest_event(RECORD), LambdaContext(function_name="failstreak-front"))
    # Then it is accepted and written, and nothing of the secret or the body reached the log
    assert answer["statusCode"] == 202
    assert len(moto_s3.keys("fs/inbox/")) == 1
    out = capsys.readouterr()
    assert INGEST_SECRET not in out.out + out.err
    assert "ci/build" not in out.out + out.err
    # And it counts no trouble of its own
    assert [d for d in emf(json_lines(out.out)) if "ServerErrors" in d or "SlackFollowUpsDropped" in d] == []


def test_a_config_that_cannot_be_read_answers_500_and_logs_why(
    moto_s3: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given FAILSTREAK_CONFIG naming an object that does not exist
    monkeypatch.setenv("FAILSTREAK_CONFIG", moto_s3.uri("fs/missing.yaml"))
    handler = _handler(monkeypatch)
    # When a request arrives; Then 500, and the log names the config's problem in one line
    answer = handler(ingest_event(RECORD), LambdaContext(function_name="failstreak-front"))
    assert answer["statusCode"] == 500
    assert "misconfigured" in answer["body"]
    out = capsys.readouterr().out
    assert "config unusable" in out
    assert moto_s3.keys("fs/") == []
    # And the server error is counted, as the front's own metric, for the template's FrontErrorsAlarm
    [counted] = [d for d in emf(json_lines(out)) if "ServerErrors" in d]
    assert (counted["ServerErrors"], counted["service"]) == (1, "failstreak-front")


def test_a_warm_front_answers_from_the_config_it_read_without_reading_it_again(
    moto_s3: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a front that served one request with the config from the bucket
    moto_s3.put(
        "fs/config.yaml",
        f"state: {moto_s3.uri('fs/state.json')}\ninbox: {moto_s3.uri('fs/inbox/')}\n{HTTP}".encode(),
    )
    monkeypatch.setenv("FAILSTREAK_CONFIG", moto_s3.uri("fs/config.yaml"))
    handler = _handler(monkeypatch)
    assert handler(ingest_event(RECORD), LambdaContext(function_name="failstreak-front"))["statusCode"] == 202
    # When the config object disappears and a second request arrives within the minute
    moto_s3.client.delete_object(Bucket=moto_s3.bucket, Key="fs/config.yaml")
    second = RECORD.replace(b'"run_id": 1', b'"run_id": 2')
    answer = handler(ingest_event(second), LambdaContext(function_name="failstreak-front"))
    # Then it is answered from the config held in memory (no read of the config on the request's path)
    assert answer["statusCode"] == 202
    assert len(moto_s3.keys("fs/inbox/")) == 2
