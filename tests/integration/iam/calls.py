"""Recording the AWS calls the code makes, and what IAM authorizes for each of them.

`recording()` adds botocore event handlers to every botocore session created while it is active (the same hook
moto uses to intercept requests): `provide-client-params.*.*` sees each operation's parameters as the code passed
them, `before-call.*.*` the client's region, `after-call.*.*` the HTTP status of the answer. Nothing in
failstreak is changed or wrapped; the clients it builds (its own S3 session, boto3's default session for SES,
powertools' providers for Secrets Manager and SSM) are all built after the handlers are in place.

`requests_for` maps one recorded call to the IAM requests AWS makes for it, with the resource ARN and condition
keys given in the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
A call it has no mapping for raises, so a new kind of AWS call in the code fails these tests until it is mapped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import botocore.handlers

from tests.integration.iam.policy import Request

_CALL = "failstreak_iam_call"


@dataclass
class Call:
    """One API call as the code made it."""

    service: str  # botocore's service name: s3, secretsmanager, ssm, sesv2, cloudwatch
    operation: str  # GetObject, CopyObject, SendEmail...
    params: dict[str, Any]
    region: str = ""
    status: int | None = None  # the HTTP status of the final answer (after botocore's retries)

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class Recording:
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _params(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        # A shallow copy without bodies: the names and conditions matter here, not the bytes.
        kept = {k: v for k, v in params.items() if k != "Body"}
        call = Call(model.service_model.service_name, model.name, kept)
        context[_CALL] = call
        with self.lock:
            self.calls.append(call)

    def _region(self, request_signer: Any, context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get(_CALL)
        if call is not None:
            call.region = request_signer.region_name

    def _answer(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        call: Call | None = context.get(_CALL)
        if call is not None:
            call.status = http_response.status_code

    def snapshot(self) -> list[Call]:
        with self.lock:
            return list(self.calls)


@contextmanager
def recording() -> Iterator[Recording]:
    """Record every API call of every botocore session created inside the block."""
    rec = Recording()
    handlers = [
        ("provide-client-params.*.*", rec._params),
        ("before-call.*.*", rec._region),
        ("after-call.*.*", rec._answer),
    ]
    botocore.handlers.BUILTIN_HANDLERS.extend(handlers)
    try:
        yield rec
    finally:
        for handler in handlers:
            botocore.handlers.BUILTIN_HANDLERS.remove(handler)


class UnmappedCall(LookupError):
    """The code made an AWS call this module does not know the IAM requests of."""


@dataclass(frozen=True)
class Account:
    """What a call's resource ARN needs beyond its parameters."""

    account_id: str
    secret_arn: Callable[[str, str], str]  # (region, secret name) -> the secret's full ARN, with its suffix
    email_identity: Callable[[str, str], str]  # (region, From address) -> the SES identity it is sent as


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _s3_missing_object(call: Call, bucket: str) -> list[Request]:
    # S3 answers a read of a missing object with 404 only to a caller who may list the bucket (else 403), and
    # that check carries no s3:prefix: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
    if call.status == 404:
        return [Request("s3:ListBucket", f"arn:aws:s3:::{bucket}", {}, str(call))]
    return []


def _s3(call: Call) -> list[Request]:
    p, name = call.params, str(call)
    op = call.operation
    if op in {"GetObject", "HeadObject"}:
        return [
            Request("s3:GetObject", _s3_object(p["Bucket"], p["Key"]), {}, name),
            *_s3_missing_object(call, p["Bucket"]),
        ]
    if op == "PutObject":
        return [Request("s3:PutObject", _s3_object(p["Bucket"], p["Key"]), {}, name)]
    if op == "DeleteObject":
        return [Request("s3:DeleteObject", _s3_object(p["Bucket"], p["Key"]), {}, name)]
    if op == "CopyObject":
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html: read on the source, write on the
        # destination.
        source = p["CopySource"]
        if isinstance(source, str):
            src_bucket, _, src_key = unquote(source.lstrip("/").split("?", 1)[0]).partition("/")
        else:
            src_bucket, src_key = source["Bucket"], source["Key"]
        return [
            Request("s3:GetObject", _s3_object(src_bucket, src_key), {}, name),
            Request("s3:PutObject", _s3_object(p["Bucket"], p["Key"]), {}, name),
            *_s3_missing_object(call, src_bucket),
        ]
    if op in {"ListObjectsV2", "ListObjects"}:
        context = {"s3:prefix": p["Prefix"]} if "Prefix" in p else {}
        return [Request("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", context, name)]
    raise UnmappedCall(name)


def requests_for(call: Call, account: Account) -> list[Request]:
    """The IAM requests AWS authorizes for `call`, each with its resource ARN and condition keys."""
    name, p, region = str(call), call.params, call.region
    if call.service == "s3":
        return _s3(call)
    if (call.service, call.operation) == ("secretsmanager", "GetSecretValue"):
        secret = p["SecretId"]
        arn = secret if secret.startswith("arn:") else account.secret_arn(region, secret)
        return [Request("secretsmanager:GetSecretValue", arn, {}, name)]
    if (call.service, call.operation) == ("ssm", "GetParameter"):
        # A parameter named /a/b has the ARN ...:parameter/a/b; one named a/b has ...:parameter/a/b too.
        param = p["Name"]
        arn = (
            param
            if param.startswith("arn:")
            else f"arn:aws:ssm:{region}:{account.account_id}:parameter/{param.lstrip('/')}"
        )
        return [Request("ssm:GetParameter", arn, {}, name)]
    if (call.service, call.operation) == ("sesv2", "SendEmail"):
        sender = account.email_identity(region, p["FromEmailAddress"])
        identity = (
            p.get("FromEmailAddressIdentityArn") or f"arn:aws:ses:{region}:{account.account_id}:identity/{sender}"
        )
        # Raw content is authorized as ses:SendRawEmail (docs/notifications.md "Email" cites the reports); the
        # operation's own action is ses:SendEmail. A role needs both for the call the code makes.
        actions = ["ses:SendEmail", "ses:SendRawEmail"] if "Raw" in p["Content"] else ["ses:SendEmail"]
        return [Request(a, identity, {}, name) for a in actions]
    if (call.service, call.operation) == ("cloudwatch", "PutMetricData"):
        return [Request("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": p["Namespace"]}, name)]
    raise UnmappedCall(name)


def all_requests(calls: list[Call], account: Account) -> list[Request]:
    return [r for c in calls for r in requests_for(c, account)]


def operations(calls: list[Call]) -> Mapping[str, int]:
    counted: dict[str, int] = {}
    for c in calls:
        counted[str(c)] = counted.get(str(c), 0) + 1
    return counted
