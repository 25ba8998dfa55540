"""What the webhook routes share: reading a JSON object body, and writing executions as inbox records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from failstreak.app.report import object_name
from failstreak.core.model import Execution, iso
from failstreak.front.http import HttpError
from failstreak.inbox.records import RecordError

RECORD_FIELDS = ("url", "commit", "reason", "owner", "source")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise HttpError(400, f"the body is not JSON: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(data, dict):
        raise HttpError(400, "the body is not a JSON object")
    return data


def as_record(ex: Execution) -> dict[str, Any]:
    """An execution as an inbox record (docs/records.md), `finished_at` in RFC 3339."""
    record: dict[str, Any] = {
        "job": ex.job,
        "run_id": ex.run_id,
        "status": ex.status.value,
        "finished_at": iso(ex.finished_at),
        "attempt": ex.attempt,
    }
    for name in RECORD_FIELDS:
        value = getattr(ex, name)
        if value is not None:
            record[name] = value
    return record


def inbox_file(executions: Sequence[Execution]) -> tuple[str, bytes]:
    """The name and JSON Lines body of one inbox object holding `executions`."""
    records = [as_record(ex) for ex in executions]
    return object_name(records[0]), b"".join(orjson.dumps(r) + b"\n" for r in records)


def mapped(what: str, error: Exception) -> HttpError:
    """A payload the platform's mapping could not read (a field missing or of the wrong type): 400."""
    if isinstance(error, RecordError):
        return HttpError(400, f"{what}: {error}")
    return HttpError(400, f"{what}: {type(error).__name__}: {str(error)[:120]}")
