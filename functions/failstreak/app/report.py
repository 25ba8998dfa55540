"""`failstreak report`: a producer's one command. A CI job runs it at its end to drop one execution record
(docs/records.md) into the inbox, so teams can feed the monitor before any source adapter exists.

The record is validated exactly as the monitor will validate it, then written as one uniquely named `.jsonl` object:
to an `s3://bucket/prefix/` inbox (the shared S3 client, s3client.py) or to a local inbox directory (written under a dot
name, then renamed, as the local inbox expects). Run id, URL, commit and attempt default to the CI system's own
variables when the command line does not give them (failstreak/ci.py); for GitHub Actions and GitLab CI they are
the run identity the platform's source uses (docs/sources.md, "Run identity"), so reported and polled runs are one
history. An `https://` inbox is the HTTP front's /ingest: the light reporter posts there (failstreak/lightreport.py).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from failstreak.core.model import now_ms
from failstreak.errors import ConfigError, StoreUnavailable
from failstreak.inbox.records import RecordError, latest_time, to_execution
from failstreak.lightreport import ReportError, light_record, now_rfc3339

CONTENT_TYPE = "application/x-ndjson"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_PART = 60


def build_record(
    job: str,
    status: str,
    *,
    run_id: str | None = None,
    finished_at: str | None = None,
    url: str | None = None,
    commit: str | None = None,
    reason: str | None = None,
    attempt: int | None = None,
    owner: str | None = None,
    source: str | None = None,
    category: str | None = None,
    env: Mapping[str, str] | None = None,
    now: Callable[[], str] = now_rfc3339,
) -> dict[str, Any]:
    """One execution record (docs/records.md) from the given fields, CI defaults filling the gaps, validated as the
    monitor will.

    `finished_at` defaults to now. Raises ConfigError, naming the field, when the record would be rejected.
    """
    try:
        record = light_record(
            job,
            status,
            env=env or {},
            run_id=run_id,
            finished_at=finished_at,
            attempt=attempt,
            url=url,
            commit=commit,
            reason=reason,
            owner=owner,
            source=source,
            category=category,
            now=now,
        )
    except ReportError as e:
        raise ConfigError(str(e)) from None
    try:
        to_execution(record, latest=latest_time(now_ms()))
    except RecordError as e:
        raise ConfigError(f"report: the monitor would reject this record: {e}") from None
    return record


def object_name(record: Mapping[str, Any], unique: str | None = None, stamp: datetime | None = None) -> str:
    """A name no other report collides with: time, job, run, attempt and a random part. Sorts by write time."""
    when = (stamp or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    job = _UNSAFE.sub("_", str(record["job"]))[:_NAME_PART].strip("._") or "job"
    run = _UNSAFE.sub("_", str(record["run_id"]))[:_NAME_PART].strip("._") or "run"
    return f"{when}-{job}-{run}-a{record.get('attempt', 0)}-{unique or uuid.uuid4().hex[:12]}.jsonl"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix ending in '/' or empty) of an s3://bucket/prefix/ URI."""
    rest = uri.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ConfigError(f"{uri}: no bucket in the S3 URI")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return bucket, prefix


def _write_s3(inbox: str, name: str, body: bytes, client: Any | None) -> str:
    bucket, prefix = split_s3_uri(inbox)
    from failstreak import s3client  # noqa: PLC0415 - only S3 users pay for an S3 client

    if client is None:
        client = s3client.client()
    try:
        client.put_object(Bucket=bucket, Key=prefix + name, Body=body, ContentType=CONTENT_TYPE)
    except s3client.vendor_errors() as e:
        # The error code S3 answered with, or the kind of failure when there was no answer.
        code = s3client.error_code(e) or type(e).__name__
        raise StoreUnavailable(f"s3://{bucket}/{prefix}{name}: cannot write ({code})") from None
    return f"s3://{bucket}/{prefix}{name}"


def _write_local(inbox: str, name: str, body: bytes) -> str:
    from failstreak.localfs import write_atomic  # noqa: PLC0415

    path = Path(inbox) / name
    try:
        write_atomic(path, body)
    except OSError as e:
        raise StoreUnavailable(f"{path}: cannot write: {e.strerror or e}") from None
    return str(path)


def write_record(inbox: str, record: Mapping[str, Any], *, name: str | None = None, s3_client: Any = None) -> str:
    """Write one record as a one-line `.jsonl` object into `inbox` (s3:// URI or directory); return where."""
    body = orjson.dumps(dict(record)) + b"\n"
    return write_object(inbox, name or object_name(record), body, s3_client=s3_client)


def write_object(inbox: str, name: str, body: bytes, *, s3_client: Any = None) -> str:
    """Write one inbox file (JSON Lines or a JSON array) named `name` into `inbox`; return where.

    Locally the file appears whole or not at all (written under a dot name, then renamed)."""
    if inbox.startswith("s3://"):
        return _write_s3(inbox, name, body, s3_client)
    return _write_local(inbox, name, body)
