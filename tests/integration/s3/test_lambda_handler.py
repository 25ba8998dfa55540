"""The Lambda handler, invoked in-process as Lambda would: config from S3, summary back, EMF metrics out."""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

from failstreak.errors import ConfigError
from tests.integration.s3.backends import S3

pytestmark = pytest.mark.integration

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LambdaContext:
    function_name: str = "failstreak-monitor"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:failstreak-monitor"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/failstreak-monitor"
    log_stream_name: str = "2026/09/21/[$LATEST]abc"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def fresh_handler(monkeypatch: pytest.MonkeyPatch, module: str = "monitor.app") -> Handler:
    """Import the handler module (the monitor's, or `front.app`) as a cold start does, so powertools reads the
    environment set by the test."""
    for name in (module, "failstreak.app.observability"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    # A process configures its powertools logger once; forget that, so it writes to this test's stdout.
    configured = logging.getLogger(os.environ["POWERTOOLS_SERVICE_NAME"])
    monkeypatch.setattr(configured, "handlers", [])
    monkeypatch.setattr(configured, "init", False, raising=False)
    monkeypatch.setattr(configured, "powertools_handler", None, raising=False)
    monkeypatch.setattr(cold_start, "is_cold_start", True)
    handler: Handler = importlib.import_module(module).lambda_handler
    return handler


def json_lines(out: str) -> list[dict[str, Any]]:
    docs = []
    for line in out.splitlines():
        if line.startswith("{"):
            docs.append(json.loads(line))
    return docs


def emf(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The EMF documents, each metric's value as one number (EMF allows a number or a list of them)."""
    out = []
    for d in docs:
        if "_aws" in d:
            for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = d[m["Name"]]
                d[m["Name"]] = value[0] if isinstance(value, list) and len(value) == 1 else value
            out.append(d)
    return out


@pytest.fixture
def lambda_env(moto_s3: S3, monkeypatch: pytest.MonkeyPatch) -> S3:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "FailstreakTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "failstreak-monitor")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("FAILSTREAK_CONFIG", moto_s3.uri("config/failstreak.yaml"))
    moto_s3.put(
        "config/failstreak.yaml",
        f"state: {moto_s3.uri('fs/state.json')}\ninbox: {moto_s3.uri('fs/inbox/')}\n".encode(),
    )
    for run in range(3):
        moto_s3.put(
            f"fs/inbox/{run}.jsonl",
            b'{"job": "nightly", "run_id": %d, "status": "failed", "finished_at": %d}\n'
            b'{"job": "nightly", "run_id": %d, "status": "failed", "finished_at": %d}\n'
            % (run, 1790000000000 + run, run, 1790000000000 + run),
        )
    return moto_s3


def test_the_handler_runs_a_pass_from_the_s3_config_and_returns_the_summary(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given FAILSTREAK_CONFIG naming a config object in S3, and three runs waiting (each delivered twice)
    handler = fresh_handler(monkeypatch)
    # When Lambda invokes the handler
    result = handler({"source": "aws.events"}, LambdaContext())
    # Then it returns the summary (docs/cli.md) of the pass
    assert (result["ingested"], result["duplicates"], result["rejected"]) == (3, 3, 0)
    assert [(n["job"], n["event"], n["reasons"]) for n in result["notifications"]] == [
        ("nightly", "triggered", ["consecutive"])
    ]
    assert lambda_env.keys("fs/inbox/") == []
    # And its log lines are JSON carrying the pass id as correlation id
    logs = [d for d in json_lines(capsys.readouterr().out) if "_aws" not in d]
    [done] = [d for d in logs if d.get("message") == "pass completed"]
    assert done["correlation_id"] == result["pass_id"]
    assert done["service"] == "failstreak-monitor"
    assert done["function_request_id"] == LambdaContext.aws_request_id
    assert done["ingested"] == 3


def test_the_handler_emits_the_pass_metrics_as_emf(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the handler and a waiting inbox
    handler = fresh_handler(monkeypatch)
    # When Lambda invokes it
    handler({}, LambdaContext())
    blobs = emf(json_lines(capsys.readouterr().out))
    # Then the pass's counters are one EMF document in the configured namespace
    [main] = [b for b in blobs if "ExecutionsIngested" in b]
    [directive] = main["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "FailstreakTest"
    assert directive["Dimensions"] == [["service"]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {
        "ExecutionsIngested",
        "Duplicates",
        "Rejected",
        "JobsAlerting",
        "NotificationsSuppressed",
        "DeliveryFailures",
        "DeadLetters",
        "PendingNotifications",
        "InboxBacklog",
        "ConflictsRetried",
        "SourceErrors",
        "PassDuration",
    }
    assert (main["ExecutionsIngested"], main["Duplicates"], main["JobsAlerting"]) == (3.0, 3.0, 1.0)
    assert main["service"] == "failstreak-monitor"
    # And notifications are counted by event, and per owning team and event
    by_event = {b["Event"]: b["Notifications"] for b in blobs if "Notifications" in b}
    assert by_event == {"triggered": 1.0, "reminder": 0.0, "resolved": 0.0}
    [team] = [b for b in blobs if "AlertsSent" in b]
    assert (team["Team"], team["Event"], team["AlertsSent"]) == ("default", "triggered", 1.0)
    assert team["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service", "Team", "Event"]]
    # And the first invocation of the process says it was a cold start
    assert any("ColdStart" in b for b in blobs)


def test_a_pass_that_cannot_run_logs_one_line_and_raises(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given FAILSTREAK_CONFIG naming an object that does not exist
    monkeypatch.setenv("FAILSTREAK_CONFIG", lambda_env.uri("config/missing.yaml"))
    handler = fresh_handler(monkeypatch)
    # When Lambda invokes the handler, then the error propagates (Lambda reports the invocation as failed)
    with pytest.raises(ConfigError):
        handler({}, LambdaContext())
    # And the reason was logged as one error line with the pass's correlation id, and counted
    docs = json_lines(capsys.readouterr().out)
    [error] = [d for d in docs if d.get("level") == "ERROR"]
    assert error["message"] == f"pass failed: {lambda_env.uri('config/missing.yaml')}: no such object"
    assert error["correlation_id"]
    assert "exception" not in error
    [failed] = [b for b in emf(docs) if "PassesFailed" in b]
    assert failed["PassesFailed"] == 1.0


def test_a_config_with_several_mistakes_logs_each(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the config in the bucket with two mistakes
    config = lambda_env.uri("config/failstreak.yaml")
    lambda_env.put(
        "config/failstreak.yaml", f"state: {lambda_env.uri('fs/state.json')}\nhistroy: 3\nwindow: 5\n".encode()
    )
    handler = fresh_handler(monkeypatch)
    # When Lambda invokes the handler; Then it fails, and each mistake is an error line of its own
    with pytest.raises(ConfigError):
        handler({}, LambdaContext())
    docs = json_lines(capsys.readouterr().out)
    assert [d["message"] for d in docs if d.get("level") == "ERROR"] == [
        f"pass failed: {config}: histroy: unknown key; did you mean 'history'?",
        f"pass failed: {config}: window: unknown key here; did you mean 'overrides[].window' or 'thresholds.window'?",
    ]


def test_an_unexpected_error_is_logged_with_its_traceback_and_raised(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a pass that hits a bug (not a FailstreakError)
    handler = fresh_handler(monkeypatch)

    def broken(*_: Any, **__: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(sys.modules["monitor.app"], "run_pass", broken)
    # When Lambda invokes the handler, then the error propagates and its traceback is in the log
    with pytest.raises(ZeroDivisionError):
        handler({}, LambdaContext())
    [error] = [d for d in json_lines(capsys.readouterr().out) if d.get("level") == "ERROR"]
    assert error["message"] == "pass failed: unexpected error"
    assert "ZeroDivisionError" in error["exception"]


def test_the_handler_works_with_the_tracer_when_x_ray_is_off(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given tracing not switched off by configuration, outside an X-Ray-enabled Lambda (no daemon)
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED")
    handler = fresh_handler(monkeypatch)
    from failstreak.app import observability

    # When the handler runs, then powertools' Tracer wraps it, disabled, and the pass completes
    result = handler({}, LambdaContext())
    tracer = observability.tracer()
    assert tracer is not None
    assert tracer.disabled
    assert result["ingested"] == 3


def test_the_handler_runs_untraced_when_the_x_ray_sdk_is_not_installed(
    lambda_env: S3, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given tracing not switched off, but a deployment package without aws-xray-sdk
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED")
    handler = fresh_handler(monkeypatch)
    from failstreak.app import observability

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aws_xray_sdk" else real_find_spec(name, *a)
    )
    # When the handler runs, then there is no tracer and the pass completes
    result = handler({}, LambdaContext())
    assert observability.tracer() is None
    assert result["ingested"] == 3
