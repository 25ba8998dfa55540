"""Failure categories (docs/triage.md): why a failed run failed, orthogonal to its status. Pure.

A failed run is `code` (the team's own change or data), `infra` (the runner, the cluster, the cloud, a resource
limit) or `upstream` (an input that was not ready); a config may name more. This module holds the one mapping
from each platform's own fields to a category, the classifier that applies the config's rules, and the
estate-wide watch that raises one alert per incident when a category's failures cross their threshold.

Only the categories a job's policy counts (default `code`) touch its streak and window; the engine treats the
failures of the others like ignored runs (core/counting.py), and this module counts them apart.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

CODE = "code"
INFRA = "infra"
UPSTREAM = "upstream"
BUILT_IN = (CODE, INFRA, UPSTREAM)
DEFAULT_COUNTED = frozenset({CODE})

MAX_NAME = 32
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
_NAME = re.compile(NAME_PATTERN)


def valid_name(name: str) -> bool:
    """Whether `name` can be a category: lower case letters, digits, `_` and `-`, starting with a letter."""
    return bool(_NAME.match(name))


# GitLab CI job `failure_reason`, every value of GitLab's enum (gitlabhq/gitlabhq
# app/models/concerns/enums/ci/commit_status.rb, its EE additions, and the 19.0 reasons that split
# stuck_or_timeout_failure, gitlab-org/gitlab!237556). A value not listed is `code`.
GITLAB_FAILURE_REASONS: dict[str, str] = {
    "unknown_failure": CODE,
    "script_failure": CODE,
    "api_failure": INFRA,
    "stuck_or_timeout_failure": INFRA,
    "runner_system_failure": INFRA,
    "missing_dependency_failure": UPSTREAM,
    "runner_unsupported": INFRA,
    "stale_schedule": INFRA,
    "job_execution_timeout": CODE,
    "archived_failure": CODE,
    "unmet_prerequisites": INFRA,
    "scheduler_failure": INFRA,
    "data_integrity_failure": INFRA,
    "forward_deployment_failure": CODE,
    "user_blocked": CODE,
    "project_deleted": CODE,
    "ci_quota_exceeded": INFRA,
    "pipeline_loop_detected": CODE,
    "no_matching_runner": INFRA,
    "trace_size_exceeded": CODE,
    "builds_disabled": CODE,
    "environment_creation_failure": CODE,
    "deployment_rejected": CODE,
    "failed_outdated_deployment_job": CODE,
    "protected_environment_failure": CODE,
    "insufficient_bridge_permissions": CODE,
    "downstream_bridge_project_not_found": CODE,
    "invalid_bridge_trigger": CODE,
    "upstream_bridge_project_not_found": UPSTREAM,
    "insufficient_upstream_permissions": UPSTREAM,
    "bridge_pipeline_is_child_pipeline": CODE,
    "downstream_pipeline_creation_failed": CODE,
    "secrets_provider_not_found": CODE,
    "reached_max_descendant_pipelines_depth": CODE,
    "ip_restriction_failure": CODE,
    "reached_max_pipeline_hierarchy_size": CODE,
    "stuck_pending_with_matching_runners": INFRA,
    "stuck_pending_no_matching_runners": INFRA,
    "no_updates_running": INFRA,
    "no_updates_canceling": INFRA,
    "server_timeout_running": INFRA,
    "server_timeout_canceling": INFRA,
}

# Databricks Jobs API `termination_details.code` (TerminationCodeCode in the Jobs API reference; the SDKs'
# jobs.TerminationCodeCode). The codes that are not failures (SUCCESS, USER_CANCELED, SKIPPED, ...) have none.
DATABRICKS_CODES: dict[str, str] = {
    "INTERNAL_ERROR": INFRA,
    "DRIVER_ERROR": INFRA,
    "CLUSTER_ERROR": INFRA,
    "CLOUD_FAILURE": INFRA,
    "REPOSITORY_CHECKOUT_FAILED": INFRA,
    "WORKSPACE_RUN_LIMIT_EXCEEDED": INFRA,
    "CLUSTER_REQUEST_LIMIT_EXCEEDED": INFRA,
    "MAX_CONCURRENT_RUNS_EXCEEDED": INFRA,
    "MAX_JOB_QUEUE_SIZE_EXCEEDED": INFRA,
    "MAX_SPARK_CONTEXTS_EXCEEDED": INFRA,
    "STORAGE_ACCESS_ERROR": INFRA,
    "BUDGET_POLICY_LIMIT_EXCEEDED": INFRA,
    "RESOURCE_NOT_FOUND": UPSTREAM,
    "RUN_EXECUTION_ERROR": CODE,
    "INVALID_CLUSTER_REQUEST": CODE,
    "INVALID_RUN_CONFIGURATION": CODE,
    "LIBRARY_INSTALLATION_ERROR": CODE,
    "UNAUTHORIZED_ERROR": CODE,
    "FEATURE_DISABLED": CODE,
    "BREAKING_CHANGE": CODE,
}

# Databricks `termination_details.type` (TerminationTypeType), for a code the table above does not know.
DATABRICKS_TYPES: dict[str, str] = {
    "CLOUD_FAILURE": INFRA,
    "INTERNAL_ERROR": INFRA,
    "CLIENT_ERROR": CODE,
}

# Databricks `state.life_cycle_state` values that end a run without a result.
DATABRICKS_LIFE_CYCLE: dict[str, str] = {"INTERNAL_ERROR": INFRA}


@dataclass(frozen=True, slots=True)
class ReasonRule:
    """A regular expression on a failed run's reason, and the category it gives."""

    pattern: re.Pattern[str]
    category: str

    @classmethod
    def of(cls, regex: str, category: str) -> ReasonRule:
        return cls(re.compile(regex, re.IGNORECASE), category)


# Messages the platforms write when a run failed for a reason outside the job: Dataiku's build errors ("source
# dataset is not ready", "already being built"), cloud capacity and lost nodes. Applied after the config's rules.
BUILT_IN_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"source dataset\b.*\bnot ready|input dataset\b.*\bnot ready|partition\b.*\bnot ready", UPSTREAM),
    (r"\balready being built\b", INFRA),
    (r"insufficient (cluster |instance )?(resources|capacity)|InsufficientInstanceCapacity", INFRA),
    (r"spot instance\b.*\b(lost|terminat|reclaim|interrupt)|lost (the )?(executor|node|worker)", INFRA),
    (r"maximum (number of )?concurrent runs", INFRA),
)


@functools.cache
def built_in_rules() -> tuple[ReasonRule, ...]:
    """`BUILT_IN_PATTERNS` compiled, on the first reason that needs them (a pass that classifies no failure, as
    most do, never compiles them: docs/performance.md, "Cold start")."""
    return tuple(ReasonRule.of(regex, category) for regex, category in BUILT_IN_PATTERNS)


def gitlab(failure_reason: str | None) -> str | None:
    """The category of a failed GitLab job from its `failure_reason`; None when GitLab gave none."""
    if not failure_reason:
        return None
    return GITLAB_FAILURE_REASONS.get(failure_reason.strip().lower(), CODE)


def databricks(code: str | None, kind: str | None = None, life_cycle: str | None = None) -> str | None:
    """The category of a failed Databricks run from its `termination_details` code and type, or from a
    `life_cycle_state` that ended it without a result; None when none of them says."""
    if isinstance(code, str) and code.upper() in DATABRICKS_CODES:
        return DATABRICKS_CODES[code.upper()]
    if isinstance(kind, str) and kind.upper() in DATABRICKS_TYPES:
        return DATABRICKS_TYPES[kind.upper()]
    if isinstance(life_cycle, str) and life_cycle.upper() in DATABRICKS_LIFE_CYCLE:
        return DATABRICKS_LIFE_CYCLE[life_cycle.upper()]
    return None


def first_match(rules: Iterable[ReasonRule], reason: str | None) -> str | None:
    """The category of the first rule whose expression is found in `reason`."""
    if not reason:
        return None
    for rule in rules:
        if rule.pattern.search(reason):
            return rule.category
    return None


def _built_in(reason: str | None) -> str | None:
    """The built-in rules' category for `reason`; they are compiled only once a reason gets this far."""
    return first_match(built_in_rules(), reason) if reason else None


_KNOWN_MAX = 4096


class Classifier:
    """Gives every failed run one category: the config's rules on its reason first (the team has the last word),
    then the category its producer or source gave, then the built-in rules on the reason, else `code`."""

    __slots__ = ("_known", "_rules")

    def __init__(self, rules: Sequence[ReasonRule] = ()) -> None:
        self._rules = tuple(rules)
        # Failures repeat their reasons (the same error, run after run): each distinct (category, reason) is
        # matched against the rules once, up to a bound.
        self._known: dict[tuple[str | None, str | None], str] = {}

    def classify(self, given: str | None, reason: str | None) -> str:
        key = (given, reason)
        known = self._known.get(key)
        if known is None:
            known = first_match(self._rules, reason) or given or _built_in(reason) or CODE
            if len(self._known) >= _KNOWN_MAX:
                self._known.clear()
            self._known[key] = known
        return known


# ------------------------------------------------------------------------------------- the estate-wide watch


@dataclass(frozen=True, slots=True)
class CategoryAlert:
    """When a category's failures, over every job, alert their team: `threshold` failures within `hours`."""

    team: str
    threshold: int = 10
    hours: float = 1.0


class CategoryIncident(msgspec.Struct, omit_defaults=True, gc=False):
    """An open estate-wide incident of one category: since when, and its highest count so far."""

    triggered_at: int
    peak: int


class CategoryWatch(msgspec.Struct, omit_defaults=True, gc=False):
    """What the state remembers for the estate-wide alerts: per category, the finish times of its recent
    failures (only those within the longest alert window), and the open incidents."""

    recent: dict[str, list[int]] = {}
    open: dict[str, CategoryIncident] = {}


@dataclass(frozen=True, slots=True)
class EstateEvent:
    """An estate-wide notification to raise: `triggered` or `resolved` for one category."""

    category: str
    event: str
    count: int
    threshold: int
    hours: float
    team: str
    since: int


def note_failures(watch: CategoryWatch, failures: Iterable[tuple[str, int]], alerts: Mapping[str, object]) -> None:
    """Remember the finish times of failures (category, time) whose category has an estate-wide alert."""
    for category, at in failures:
        if category in alerts:
            watch.recent.setdefault(category, []).append(at)


def evaluate_estate(watch: CategoryWatch, alerts: Mapping[str, CategoryAlert], now: int) -> list[EstateEvent]:
    """Forget failures older than their category's window, then open or close each category's incident.

    A category whose failures within its last `hours` reach its `threshold` opens one incident (`triggered`);
    while it stays there nothing more is sent; when the count falls below the threshold the incident is
    `resolved`. A category no longer configured closes quietly.
    """
    for category in [c for c in watch.recent if c not in alerts]:
        del watch.recent[category]
    for category in [c for c in watch.open if c not in alerts]:
        del watch.open[category]
    events = (_step(watch, category, rule, now) for category, rule in sorted(alerts.items()))
    return [e for e in events if e is not None]


def _step(watch: CategoryWatch, category: str, rule: CategoryAlert, now: int) -> EstateEvent | None:
    cutoff = now - int(rule.hours * 3_600_000)
    times = [t for t in watch.recent.get(category, ()) if cutoff < t <= now]
    if times:
        watch.recent[category] = times
    else:
        watch.recent.pop(category, None)
    count = len(times)
    incident = watch.open.get(category)
    if incident is None:
        if count < rule.threshold:
            return None
        watch.open[category] = CategoryIncident(triggered_at=now, peak=count)
        return EstateEvent(category, "triggered", count, rule.threshold, rule.hours, rule.team, now)
    if count < rule.threshold:
        del watch.open[category]
        return EstateEvent(category, "resolved", count, rule.threshold, rule.hours, rule.team, incident.triggered_at)
    incident.peak = max(incident.peak, count)
    return None


def describe(event: EstateEvent) -> str:
    """One line for an estate-wide notification (no markup, not escaped)."""
    window = f"{event.hours:g} hour{'s' if event.hours != 1 else ''}"
    if event.event == "triggered":
        return f"{event.count} {event.category} failures across jobs in the last {window} (threshold {event.threshold})"
    return f"{event.category} failures are back below {event.threshold} in the last {window} ({event.count} now)"
