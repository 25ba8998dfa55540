"""Failure categories: the platform mapping, the classifier and the estate-wide watch (docs/triage.md)."""

from __future__ import annotations

import pytest

from failstreak.core import categories
from failstreak.core.categories import (
    CODE,
    INFRA,
    UPSTREAM,
    CategoryAlert,
    CategoryWatch,
    Classifier,
    ReasonRule,
    evaluate_estate,
    note_failures,
)
from tests.conftest import HOUR, MINUTE, T0


@pytest.mark.parametrize(
    ("failure_reason", "category"),
    [
        # GitLab's failure_reason enum (gitlabhq/gitlabhq app/models/concerns/enums/ci/commit_status.rb)
        ("runner_system_failure", INFRA),
        ("stuck_or_timeout_failure", INFRA),
        ("api_failure", INFRA),
        ("scheduler_failure", INFRA),
        ("data_integrity_failure", INFRA),
        ("missing_dependency_failure", UPSTREAM),
        ("script_failure", CODE),
        ("job_execution_timeout", CODE),
    ],
)
def test_gitlab_failure_reasons_map_to_their_documented_category(failure_reason: str, category: str) -> None:
    # Given a failed GitLab job's failure_reason
    # When it is categorised
    got = categories.gitlab(failure_reason)
    # Then it has the category of the mapping table in docs/triage.md
    assert got == category


def test_a_gitlab_failure_reason_nobody_documented_is_code() -> None:
    # Given a failure_reason a newer GitLab may add
    # When it is categorised
    # Then it counts as the team's own (code), so that nothing new is hidden from them
    assert categories.gitlab("brand_new_failure") == CODE
    assert categories.gitlab(None) is None


@pytest.mark.parametrize(
    ("code", "kind", "life_cycle", "category"),
    [
        # Databricks Jobs API TerminationCodeCode / TerminationTypeType (docs.databricks.com/api/workspace/jobs;
        # the SDK's list: databricks.github.io/sdk-js/api/types/_databricks_sdk-jobs.v2.TerminationCode_Code.html)
        ("CLOUD_FAILURE", "CLOUD_FAILURE", None, INFRA),
        ("INTERNAL_ERROR", "INTERNAL_ERROR", None, INFRA),
        ("DRIVER_ERROR", "INTERNAL_ERROR", None, INFRA),
        ("CLUSTER_ERROR", "CLIENT_ERROR", None, INFRA),
        ("MAX_CONCURRENT_RUNS_EXCEEDED", "CLIENT_ERROR", None, INFRA),
        ("CLUSTER_REQUEST_LIMIT_EXCEEDED", "CLIENT_ERROR", None, INFRA),
        ("RESOURCE_NOT_FOUND", "CLIENT_ERROR", None, UPSTREAM),
        ("RUN_EXECUTION_ERROR", "CLIENT_ERROR", None, CODE),
        ("SOME_FUTURE_CODE", "CLOUD_FAILURE", None, INFRA),
        (None, None, "INTERNAL_ERROR", INFRA),
    ],
)
def test_databricks_termination_details_map_to_their_documented_category(
    code: str | None, kind: str | None, life_cycle: str | None, category: str
) -> None:
    # Given a failed Databricks run's termination code and type (or a life cycle state without a result)
    # When it is categorised
    got = categories.databricks(code, kind, life_cycle)
    # Then the code decides, else the type, else the life cycle state
    assert got == category


def test_a_databricks_run_without_termination_details_has_no_category_of_its_own() -> None:
    # Given a run whose payload says nothing about why it ended
    # When it is categorised
    # Then the platform gives no category (the classifier's default applies)
    assert categories.databricks(None, None, "TERMINATED") is None


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        # Dataiku's build errors as issue 17's seeds name them ("source dataset is not ready", "already being
        # built"); Dataiku's public docs list no build error messages, and its job list carries none.
        ("Job failed: source dataset SALES.orders is not ready", UPSTREAM),
        ("Dataset PRICES_clean is already being built by another job", INFRA),
        ("Could not launch cluster: insufficient cluster resources", INFRA),
        ("Your EC2 spot instance was terminated", INFRA),
        ("AssertionError: 3 != 4", CODE),
    ],
)
def test_built_in_rules_read_the_platforms_messages(reason: str, category: str) -> None:
    # Given a failed run whose reason is a platform's message (Dataiku's build errors, cloud capacity)
    # When the default classifier reads it
    got = Classifier().classify(None, reason)
    # Then the message gives the category, and anything else is code
    assert got == category


def test_config_rules_win_over_the_category_a_source_gave() -> None:
    # Given a rule that calls GitLab's api_failure the team's own, and a record the source marked infra
    classifier = Classifier([ReasonRule.of(r"^api_failure$", CODE)])
    # When it is classified
    got = classifier.classify(INFRA, "api_failure")
    # Then the config's rule has the last word
    assert got == CODE


def test_the_producers_category_wins_over_the_built_in_rules() -> None:
    # Given a record its producer marked code although its message sounds like infrastructure
    # When it is classified
    got = Classifier().classify(CODE, "insufficient cluster resources")
    # Then the producer's word is kept
    assert got == CODE


def test_a_config_rule_may_name_a_category_of_its_own() -> None:
    # Given a rule naming a new category
    classifier = Classifier([ReasonRule.of("vault", "secrets")])
    # When a failure whose reason matches is classified
    # Then it has that category
    assert classifier.classify(None, "Vault sealed: cannot read token") == "secrets"
    assert categories.valid_name("secrets")
    assert not categories.valid_name("Bad Name")


ALERTS = {INFRA: CategoryAlert(team="platform", threshold=3, hours=1)}


def test_an_estate_alert_fires_once_when_a_category_crosses_its_threshold() -> None:
    # Given three infra failures across jobs within the hour
    watch = CategoryWatch()
    note_failures(watch, [(INFRA, T0 + MINUTE), (INFRA, T0 + 2 * MINUTE), (INFRA, T0 + 3 * MINUTE)], ALERTS)
    # When the estate is evaluated twice
    first = evaluate_estate(watch, ALERTS, T0 + 5 * MINUTE)
    second = evaluate_estate(watch, ALERTS, T0 + 6 * MINUTE)
    # Then one triggered goes to the category's team, and nothing more while it lasts
    assert [(e.category, e.event, e.count, e.team) for e in first] == [(INFRA, "triggered", 3, "platform")]
    assert second == []
    assert "3 infra failures across jobs in the last 1 hour" in categories.describe(first[0])


def test_an_estate_alert_resolves_when_the_failures_leave_its_window() -> None:
    # Given an open infra incident
    watch = CategoryWatch()
    note_failures(watch, [(INFRA, T0 + i * MINUTE) for i in range(3)], ALERTS)
    evaluate_estate(watch, ALERTS, T0 + 5 * MINUTE)
    # When an hour passes without infra failures
    events = evaluate_estate(watch, ALERTS, T0 + 2 * HOUR)
    # Then it resolves, once, and the watch forgets the old failures
    assert [(e.event, e.count, e.since) for e in events] == [("resolved", 0, T0 + 5 * MINUTE)]
    assert watch.recent == {}
    assert watch.open == {}
    assert "back below 3" in categories.describe(events[0])


def test_failures_of_categories_without_an_estate_alert_are_not_remembered() -> None:
    # Given code and upstream failures, and an alert on infra only
    watch = CategoryWatch()
    # When they are noted
    note_failures(watch, [(CODE, T0), (UPSTREAM, T0)], ALERTS)
    # Then the watch holds nothing
    assert watch.recent == {}


def test_an_estate_incident_of_a_category_no_longer_configured_closes_quietly() -> None:
    # Given an open infra incident
    watch = CategoryWatch()
    note_failures(watch, [(INFRA, T0 + i * MINUTE) for i in range(3)], ALERTS)
    evaluate_estate(watch, ALERTS, T0 + 5 * MINUTE)
    # When the config no longer has an infra alert
    events = evaluate_estate(watch, {}, T0 + 6 * MINUTE)
    # Then the incident is forgotten without a notification
    assert events == []
    assert watch.open == {}
    assert watch.recent == {}


def test_the_classifier_answers_the_same_once_its_memory_of_reasons_is_full() -> None:
    # Given a classifier that has seen more distinct reasons than it remembers
    classifier = Classifier()
    for n in range(5000):
        classifier.classify(None, f"error {n}")
    # When it classifies reasons it has forgotten and new ones
    # Then the answers are those of the rules
    assert classifier.classify(None, "error 1") == CODE
    assert classifier.classify(None, "source dataset X is not ready") == UPSTREAM
    assert classifier.classify(INFRA, "error 2") == INFRA
