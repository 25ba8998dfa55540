"""Powertools wiring for the Lambda: structured logs, EMF metrics, optional X-Ray tracing.

- `logger`: JSON lines, one per event, with the pass's id as correlation id.
- `metrics`: CloudWatch metrics written as EMF to stdout (no API call). Namespace from
  `POWERTOOLS_METRICS_NAMESPACE` (default `Failstreak`, as the template's), service dimension from
  `POWERTOOLS_SERVICE_NAME`.
- `traced`: wraps the handler in powertools' Tracer when tracing can work (the X-Ray SDK is installed and
  `POWERTOOLS_TRACE_DISABLED` is not set); otherwise the handler runs as is. The X-Ray SDK is imported only
  then, so a function without tracing does not pay for it at cold start.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

    from failstreak.app.problems import Problem
    from failstreak.pipeline.summary import Summary

# The template's MetricsNamespace default, so alarms and dashboard find the metrics even if the variable is unset.
DEFAULT_NAMESPACE = "Failstreak"
DEFAULT_SERVICE = "failstreak"
EVENTS = ("triggered", "reminder", "resolved")

# Powertools reads its own variables; the defaults below only stop an unset one from failing the flush.
SERVICE = os.getenv("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE, service=SERVICE)

F = TypeVar("F", bound=Callable[..., Any])
_tracer: Tracer | None = None
_tracer_checked = False


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def tracer() -> Tracer | None:
    """The process's Tracer, or None when tracing is off or the X-Ray SDK is not installed."""
    global _tracer, _tracer_checked  # noqa: PLW0603 - built once per process, on first use
    if not _tracer_checked:
        _tracer_checked = True
        if not _truthy(os.getenv("POWERTOOLS_TRACE_DISABLED")) and importlib.util.find_spec("aws_xray_sdk"):
            from aws_lambda_powertools import Tracer  # noqa: PLC0415

            _tracer = Tracer(service=SERVICE)
    return _tracer


def traced(handler: F) -> F:
    """Run `handler` inside the Tracer's handler segment when tracing is on; unchanged otherwise."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        t = tracer()
        if t is None:
            return handler(event, context)
        return t.capture_lambda_handler(handler)(event, context)

    return wrapper  # type: ignore[return-value]


def record(summary: Summary) -> None:
    """Add one pass's metrics: counters on the shared metric set, per-event and per-team ones as single metrics."""
    count = MetricUnit.Count
    metrics.add_metric(name="ExecutionsIngested", unit=count, value=summary.ingested)
    metrics.add_metric(name="Duplicates", unit=count, value=summary.duplicates)
    metrics.add_metric(name="Rejected", unit=count, value=summary.rejected)
    metrics.add_metric(name="JobsAlerting", unit=count, value=summary.alerting)
    metrics.add_metric(
        name="NotificationsSuppressed", unit=count, value=sum(1 for n in summary.notifications if n.suppressed)
    )
    metrics.add_metric(name="DeliveryFailures", unit=count, value=len(summary.delivery_failures))
    metrics.add_metric(
        name="DeadLetters", unit=count, value=sum(1 for f in summary.delivery_failures if not f["retrying"])
    )
    metrics.add_metric(name="PendingNotifications", unit=count, value=summary.pending)
    metrics.add_metric(name="InboxBacklog", unit=count, value=summary.backlog)
    metrics.add_metric(name="ConflictsRetried", unit=count, value=summary.conflicts)
    metrics.add_metric(
        name="SourceErrors", unit=count, value=sum(1 for s in summary.sources.values() if not s.get("ok", True))
    )
    metrics.add_metric(name="PassDuration", unit=MetricUnit.Milliseconds, value=summary.duration_ms)

    by_event = dict.fromkeys(EVENTS, 0)
    for n in summary.notifications:
        if not n.suppressed:
            by_event[n.event.value] = by_event.get(n.event.value, 0) + 1
    for event, value in by_event.items():
        _dimensioned("Notifications", value, Event=event)
    for team, events in sorted(summary.team_notifications.items()):
        for event, value in sorted(events.items()):
            _dimensioned("AlertsSent", value, Team=team, Event=event)


def log_problem(problem: Problem) -> None:
    """One problem of a pass as a WARNING or ERROR line, its details as structured fields (nothing secret)."""
    fields = {f"problem_{k}" if k in _RESERVED else k: v for k, v in problem.fields.items()}
    if problem.level >= logging.ERROR:
        logger.error(problem.message, extra=fields)
    else:
        logger.warning(problem.message, extra=fields)


# Keys powertools' formatter writes itself: a problem's field of that name would overwrite them.
_RESERVED = frozenset({"level", "location", "message", "timestamp", "service", "cold_start", "xray_trace_id"})


def record_failure() -> None:
    """Count a pass that could not complete (besides Lambda's own Errors metric, which also counts timeouts)."""
    metrics.add_metric(name="PassesFailed", unit=MetricUnit.Count, value=1)


def record_front(status: int, follow_ups_dropped: int = 0) -> None:
    """Count what one answer of the HTTP front says of its own trouble: a server error (5xx: a config, secret or
    store it could not use; the template's `FrontErrorsAlarm` watches it beside Lambda's Errors), and the Slack
    follow-ups it gave up (docs/http.md, "Answering Slack in time")."""
    if status >= 500:
        _dimensioned("ServerErrors", 1)
    if follow_ups_dropped:
        _dimensioned("SlackFollowUpsDropped", follow_ups_dropped)


def _dimensioned(name: str, value: float, **dimensions: str) -> None:
    """One metric with its own dimensions (EMF allows one dimension set per metric blob)."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"service": SERVICE, **metrics.default_dimensions},
    ) as metric:
        for key, dim in dimensions.items():
            metric.add_dimension(name=key, value=dim)
