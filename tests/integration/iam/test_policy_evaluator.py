"""The tests' IAM evaluator against the rules of IAM's evaluation logic it claims to follow
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), so that its verdicts
on the role can be trusted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.iam.policy import Request, UnknownOperator, allowed

BUCKET = "arn:aws:s3:::b"


def allow(action: Any, resource: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return {**statement, "Condition": condition} if condition else statement


def test_nothing_is_allowed_without_a_statement_that_allows_it() -> None:
    # Given no statements, or one for another action or resource, then the request is implicitly denied
    request = Request("s3:GetObject", f"{BUCKET}/k")
    assert not allowed([], request)
    assert not allowed([allow("s3:PutObject", f"{BUCKET}/*")], request)
    assert not allowed([allow("s3:GetObject", "arn:aws:s3:::other/*")], request)


def test_an_explicit_deny_wins_over_any_allow() -> None:
    statements = [allow("s3:*", "*"), {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{BUCKET}/secret/*"}]
    assert not allowed(statements, Request("s3:GetObject", f"{BUCKET}/secret/x"))
    assert allowed(statements, Request("s3:GetObject", f"{BUCKET}/public/x"))


def test_action_wildcards_are_case_insensitive_and_resource_wildcards_are_not() -> None:
    assert allowed([allow("S3:Get*", f"{BUCKET}/*")], Request("s3:GetObject", f"{BUCKET}/k"))
    assert not allowed([allow("s3:GetObject", f"{BUCKET}/Inbox/*")], Request("s3:GetObject", f"{BUCKET}/inbox/k"))


def test_a_question_mark_matches_exactly_one_character_and_a_star_any_run() -> None:
    # As in a Secrets Manager ARN's six-character suffix
    secret = allow("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:r:1:secret:name-??????")
    assert allowed([secret], Request("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:r:1:secret:name-AbC123"))
    assert not allowed([secret], Request("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:r:1:secret:name-Ab"))
    assert allowed([allow("s3:GetObject", f"{BUCKET}/a/*")], Request("s3:GetObject", f"{BUCKET}/a/b/c:d"))


def test_string_like_needs_the_key_and_if_exists_passes_without_it() -> None:
    strict = allow("s3:ListBucket", BUCKET, {"StringLike": {"s3:prefix": ["p/*"]}})
    lenient = allow("s3:ListBucket", BUCKET, {"StringLikeIfExists": {"s3:prefix": ["p/*"]}})
    without_key = Request("s3:ListBucket", BUCKET)
    assert not allowed([strict], without_key)
    assert allowed([lenient], without_key)
    assert allowed([lenient], Request("s3:ListBucket", BUCKET, {"s3:prefix": "p/x"}))
    assert not allowed([lenient], Request("s3:ListBucket", BUCKET, {"s3:prefix": "q/x"}))


def test_a_negated_operator_passes_without_the_key() -> None:
    statement = allow("s3:GetObject", "*", {"StringNotEquals": {"aws:ResourceTag/team": "other"}})
    assert allowed([statement], Request("s3:GetObject", f"{BUCKET}/k"))
    assert not allowed([statement], Request("s3:GetObject", f"{BUCKET}/k", {"aws:ResourceTag/team": "other"}))


def test_an_operator_it_does_not_implement_is_refused_not_guessed() -> None:
    statement = allow("s3:GetObject", "*", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    with pytest.raises(UnknownOperator, match="IpAddress"):
        allowed([statement], Request("s3:GetObject", f"{BUCKET}/k", {"aws:SourceIp": "10.1.2.3"}))
