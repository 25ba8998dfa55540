"""The alarms and dashboard that watch the pass's own trouble: they read the metrics the code really emits."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import boto3
import pytest

from failstreak.pipeline.summary import Summary
from tests.infra.samstack import REGION, Stack, load_template

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS.*not supported by moto:UserWarning")

PASS_ALARMS = (
    "DeadLettersAlarm",
    "DeliveryFailuresAlarm",
    "PendingNotificationsAlarm",
    "SourceErrorsAlarm",
    "RejectedAlarm",
)


def _emitted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], namespace: str | None
) -> list[dict[str, Any]]:
    """The EMF documents the Lambda's observability module writes for one pass, with the template's environment."""
    if namespace is None:
        monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    else:
        monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", namespace)
    env = load_template()["Resources"]["MonitorFunction"]["Properties"]["Environment"]["Variables"]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", env["POWERTOOLS_SERVICE_NAME"])
    monkeypatch.delitem(sys.modules, "failstreak.app.observability", raising=False)
    observability = importlib.import_module("failstreak.app.observability")
    summary = Summary(pass_id="p", started_at=0, rejected=1)
    summary.delivery_failures = [
        {"job": "j", "event": "triggered", "destination": "slack:#x", "error": "channel_not_found", "retrying": False}
    ]
    summary.team_notifications = {"team-a": {"triggered": 1}}
    capsys.readouterr()
    observability.record(summary)
    observability.metrics.flush_metrics()
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def _metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    if "MetricName" in alarm:
        return [{"Namespace": alarm["Namespace"], "MetricName": alarm["MetricName"], "Dimensions": alarm["Dimensions"]}]
    return [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]


def test_each_pass_alarm_watches_a_metric_the_code_emits_with_its_namespace_and_dimensions(
    full_stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given what the function emits with the stack's environment (namespace from MetricsNamespace)
    namespace = full_stack.parameters.get("MetricsNamespace") or "Failstreak"
    docs = _emitted(monkeypatch, capsys, namespace)
    [main] = [d for d in docs if "DeadLetters" in d]
    [directive] = main["_aws"]["CloudWatchMetrics"]
    emitted = {m["Name"] for m in directive["Metrics"]}
    # When each pass alarm is resolved against the stack
    for name in PASS_ALARMS:
        alarm = full_stack.resolve(full_stack.resource(name)["Properties"])
        # Then it notifies the alarm topic, and reads a metric the code writes, in its namespace and dimensions
        assert alarm["AlarmActions"] == [full_stack.physical["AlarmTopic"]], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        for metric in _metric_stats(alarm):
            assert metric["Namespace"] == directive["Namespace"], name
            assert metric["MetricName"] in emitted, name
            assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {"service": main["service"]}, name
    # And a dead letter of the pass is a data point that breaches its alarm
    assert main["DeadLetters"] in (1.0, [1.0])  # EMF allows a number or a list of them


def test_the_default_namespace_is_the_templates(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given POWERTOOLS_METRICS_NAMESPACE unset (a function deployed by hand)
    docs = _emitted(monkeypatch, capsys, None)
    # Then the metrics land in the namespace the template's alarms and dashboard read by default
    default = load_template()["Parameters"]["MetricsNamespace"]["Default"]
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in docs} == {default}


def test_pending_notifications_alarm_fires_when_the_outbox_keeps_growing(full_stack: Stack) -> None:
    alarm = full_stack.resolve(full_stack.resource("PendingNotificationsAlarm")["Properties"])
    [growth] = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert growth["Expression"] == "DIFF(pending)"
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
        "GreaterThanThreshold",
        0,
        3,
    )


def test_the_dashboard_shows_the_pass_metrics_and_alerts_per_team(full_stack: Stack) -> None:
    # Given the dashboard the stack created
    name = full_stack.physical["Dashboard"]
    body = json.loads(boto3.client("cloudwatch", region_name=REGION).get_dashboard(DashboardName=name)["DashboardBody"])
    widgets = {w["properties"]["title"]: w["properties"] for w in body["widgets"]}
    # Then it charts every metric an alarm watches, and alerts per team by a search over the Team dimension
    charted = {m[1] for w in widgets.values() for m in w["metrics"] if len(m) > 1 and isinstance(m[1], str)}
    assert {"DeliveryFailures", "DeadLetters", "PendingNotifications", "SourceErrors", "Rejected"} <= charted
    [[search]] = widgets["Alerts sent per team"]["metrics"]
    namespace = full_stack.parameters.get("MetricsNamespace") or "Failstreak"
    assert (
        search["expression"] == f"SEARCH('{{{namespace},service,Team,Event}} MetricName=\"AlertsSent\"', 'Sum', 3600)"
    )
    assert all(w["region"] == REGION for w in widgets.values())


def test_the_front_alarm_watches_its_failures_and_the_server_errors_it_counts(
    full_stack: Stack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given what the front emits for a server error, with the stack's environment for the front
    env = load_template()["Resources"]["FrontFunction"]["Properties"]["Environment"]["Variables"]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", env["POWERTOOLS_SERVICE_NAME"])
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", full_stack.parameters.get("MetricsNamespace") or "Failstreak")
    monkeypatch.delitem(sys.modules, "failstreak.app.observability", raising=False)
    observability = importlib.import_module("failstreak.app.observability")
    capsys.readouterr()
    observability.record_front(503, follow_ups_dropped=2)
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    emitted = {
        (d["_aws"]["CloudWatchMetrics"][0]["Namespace"], m["Name"], d["service"])
        for d in docs
        for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
    }
    # When the front's alarm is resolved against the stack
    alarm = full_stack.resolve(full_stack.resource("FrontErrorsAlarm")["Properties"])
    watched = _metric_stats(alarm)
    # Then it reads Lambda's Errors of the front function and the ServerErrors the front writes, in its namespace
    # and dimension, summed, and notifies the alarm topic
    assert {"Namespace": "AWS/Lambda", "MetricName": "Errors"} in [
        {k: m[k] for k in ("Namespace", "MetricName")} for m in watched
    ]
    [errors] = [m for m in watched if m["Namespace"] == "AWS/Lambda"]
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": full_stack.physical["FrontFunction"]}]
    [own] = [m for m in watched if m["Namespace"] != "AWS/Lambda"]
    assert (own["Namespace"], own["MetricName"], own["Dimensions"][0]["Value"]) in emitted
    assert [m["Expression"] for m in alarm["Metrics"] if m.get("ReturnData")] == ["FILL(failed, 0) + FILL(answered, 0)"]
    assert alarm["AlarmActions"] == [full_stack.physical["AlarmTopic"]]
    # And the follow-ups it gave up are counted beside it
    assert any(name == "SlackFollowUpsDropped" for _, name, _ in emitted)
