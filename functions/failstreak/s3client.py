"""What the S3 adapters share: one client per process, s3:// URIs, and vendor errors in the domain's words.

The S3 client is built on first use, never at import time. When the environment plainly holds credentials and a
region (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`, `AWS_REGION`: what the
Lambda runtime provides), it is `s3lite.S3Lite`, a small client over the standard library that spares a cold
start the import of boto3 (about 0.19 s with its client, docs/performance.md "Cold start"). Otherwise (profiles,
SSO, container or instance credentials), or with `FAILSTREAK_S3_CLIENT=boto3`, it is boto3's, from the standard
AWS configuration chain. Both honour `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`, so the same code talks to AWS,
moto's server or SeaweedFS. One client is shared by every adapter of the process (and across warm Lambda
invocations). docs/s3-and-lambda.md, "The S3 client".
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING, Any, cast

from failstreak.errors import ConfigError, StoreUnavailable
from failstreak.s3lite import S3Lite, S3LiteError, Settings, from_environment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Reads of small objects (state, config, inbox files) are quick; a stuck connection must not eat the
# Lambda's whole timeout, and botocore's standard retry mode already backs off on throttling and 5xx.
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 30
MAX_ATTEMPTS = 4
MAX_POOL = 16

CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})

# `boto3` forces boto3's client; unset or `auto` takes the light client when the environment allows it.
CLIENT_VARIABLE = "FAILSTREAK_S3_CLIENT"
CLIENT_CHOICES = ("auto", "boto3")

_lock = threading.Lock()
_client: S3Client | None = None


def client() -> S3Client:
    """The process's shared S3 client, built on first use."""
    global _client  # noqa: PLW0603 - one client per process, reused across warm invocations
    with _lock:
        if _client is None:
            _client = _build()
        return _client


def _build() -> S3Client:
    choice = os.environ.get(CLIENT_VARIABLE, "").strip().lower() or "auto"
    if choice not in CLIENT_CHOICES:
        raise ConfigError(f"{CLIENT_VARIABLE}={choice!r}: expected one of {', '.join(CLIENT_CHOICES)}")
    if choice == "auto":
        settings = Settings(CONNECT_TIMEOUT_S, READ_TIMEOUT_S, MAX_ATTEMPTS, MAX_POOL)
        lite = from_environment(settings)
        if lite is not None:
            # The light client has the methods the adapters call, with boto3's arguments and answers.
            return cast("S3Client", lite)
    import boto3  # noqa: PLC0415 - only S3 users without plain credentials pay for boto3
    from botocore.config import Config  # noqa: PLC0415

    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        max_pool_connections=MAX_POOL,
    )
    # A session of our own: boto3's default session is not safe to share between threads.
    return boto3.session.Session().client("s3", config=config)


def reset_client() -> None:
    """Forget the shared client, so the next use builds one from the current environment (tests, endpoints)."""
    global _client
    with _lock:
        old, _client = _client, None
    kept: object = old  # typed as boto3's client for the adapters; it may be the light one
    if isinstance(kept, S3Lite):
        kept.close()  # its kept connections (it still works if used again: it opens new ones)


def parse_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` → (bucket, key). The key may be empty (the bucket's root)."""
    if not uri.startswith("s3://"):
        raise ConfigError(f"{uri}: not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"{uri}: no bucket in the s3:// URI")
    return bucket, key


def error_code(e: Exception) -> str:
    response: dict[str, Any] = getattr(e, "response", None) or {}
    code = str(response.get("Error", {}).get("Code") or "")
    if not code:
        code = str(response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return code


def describe(e: Exception) -> str:
    """One line naming the vendor error without its traceback (and never a credential)."""
    response: dict[str, Any] | None = getattr(e, "response", None)
    if response is not None:
        err = response.get("Error", {})
        code = err.get("Code") or response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        message = err.get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    return f"{type(e).__name__}: {e}".splitlines()[0]


def unavailable(uri: str, doing: str, e: Exception) -> StoreUnavailable:
    return StoreUnavailable(f"{uri}: cannot {doing}: {describe(e)}")


def vendor_errors() -> tuple[type[Exception], ...]:
    """What either client raises. botocore's errors are named only once botocore is loaded: before that, no
    boto3 client exists in the process to raise them, and importing botocore would cost the cold start."""
    exceptions = sys.modules.get("botocore.exceptions")
    if exceptions is None:
        return (S3LiteError,)
    return (S3LiteError, exceptions.ClientError, exceptions.BotoCoreError)


def read_object_text(uri: str, s3: S3Client | None = None) -> str:
    """A small UTF-8 object (config, owners file) by s3:// URI. Errors name the URI."""
    bucket, key = parse_uri(uri)
    if not key:
        raise ConfigError(f"{uri}: the s3:// URI names a bucket, not an object")
    s3 = s3 or client()
    try:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except vendor_errors() as e:
        if error_code(e) in MISSING_CODES:
            raise ConfigError(f"{uri}: no such object") from None
        raise unavailable(uri, "read", e) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{uri}: not UTF-8 text (byte {e.start})") from None


class UsesS3:
    """An adapter with a client passed in or, by default, the process's shared one taken on first use."""

    _s3: S3Client | None = None

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            self._s3 = client()
        return self._s3
