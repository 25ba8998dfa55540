"""A small IAM policy evaluator, and the map from the AWS calls failstreak makes to the requests IAM authorizes.

Kept in the tests, and deliberately small: identity-based policies of one principal (no resource policies, no
boundaries, no SCPs), Allow and Deny, `Action`/`NotAction`, `Resource`/`NotResource` with `*` and `?` wildcards,
and the condition operators below. An operator it does not know raises instead of guessing, so a template that
starts using one makes these tests fail until the evaluator learns it.

Evaluation follows https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html:
an explicit Deny wins, then any Allow, else the request is implicitly denied. A condition block holds when every
operator holds; an operator holds when every key holds; a key holds when any of its values matches. A key missing
from the request fails a positive operator, passes a negated one, and passes any operator with `IfExists`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the request's condition keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)
    call: str = ""  # the API call it came from, for messages: "s3.CopyObject"

    def __str__(self) -> str:
        keys = "".join(f" {k}={v!r}" for k, v in sorted(self.context.items()))
        return f"{self.call}: {self.action} on {self.resource}{keys}"


@cache
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    """IAM's wildcard match: `*` any run of characters (including `/` and `:`), `?` exactly one."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE)


def _like(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    return _glob(pattern, case_sensitive).fullmatch(value) is not None


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _string_equals(expected: str, actual: str) -> bool:
    return expected == actual


def _string_like(expected: str, actual: str) -> bool:
    return _like(expected, actual)


def _bool(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


# operator -> (value test, negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_string_equals, False),
    "ArnLike": (_string_like, False),
    "Bool": (_bool, False),
}


class UnknownOperator(NotImplementedError):
    """The policy uses a condition operator this evaluator does not implement."""


def _condition_holds(operator: str, keys: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise UnknownOperator(f"condition operator {operator} is not implemented by tests/integration/iam/policy.py")
    test, negated = _OPERATORS[base]
    for key, expected in keys.items():
        # Condition keys are case-insensitive; the request's are stored lower-cased.
        actual = context.get(key.lower())
        if actual is None:
            if not (if_exists or negated):
                return False
            continue
        matched = any(test(value, actual) for value in _listed(expected))
        if matched == negated:
            return False
    return True


def statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether `statement` applies to `request` (its effect aside)."""
    if "Action" in statement:
        if not any(_like(a, request.action, case_sensitive=False) for a in _listed(statement["Action"])):
            return False
    elif not all(not _like(a, request.action, case_sensitive=False) for a in _listed(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(_like(r, request.resource) for r in _listed(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(_like(r, request.resource) for r in _listed(statement["NotResource"])):
        return False
    context = {k.lower(): v for k, v in request.context.items()}
    return all(_condition_holds(op, keys, context) for op, keys in statement.get("Condition", {}).items())


def allowed(statements: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """IAM's decision for one principal's identity policies: explicit Deny, else any Allow, else denied."""
    matching = [s for s in statements if statement_matches(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return False
    return any(s["Effect"] == "Allow" for s in matching)


def denied(statements: Sequence[Mapping[str, Any]], requests: Iterable[Request]) -> list[Request]:
    """The requests the statements do not allow."""
    return [r for r in requests if not allowed(statements, r)]
