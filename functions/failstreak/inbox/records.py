"""The checked parser of execution records: the rules of docs/records.md and docs/configuration.md ("What a record
may hold"), one function per field, then the record-by-record reading of JSON Lines and JSON arrays.

This is the reference. `inbox/fastpath.py` reads the same files faster and is tested to give exactly what this
module gives (the same executions, and the same rejections with the same line numbers, reasons and samples):
a rule changes here first, then there. Each record is validated on its own: a bad line is rejected with its line
number and a reason naming the field, and the good lines of the same file are still ingested. Reading a whole
file (gzip, which of the two forms, the bounds) is `inbox/intake.py`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson

from failstreak.core.model import Execution, Rejected, Status, iso, parse_status

# Bounds on the text fields of a record (docs/configuration.md, "What a record may hold"). A `job` or `run_id`
# beyond its bound is rejected; so are `url`, `commit`, `owner` and `source` (identifiers: a cut one would be a
# link to nowhere or an owner nobody is); a longer `reason` (free text) is kept, cut to its bound with `…`.
MAX_JOB_LEN = 512
MAX_RUN_ID_LEN = 256
MAX_REASON_LEN = 4096
MAX_FIELD_LEN = {"url": 2048, "commit": 256, "owner": 256, "source": 256}
CUT_MARK = "…"
OPTIONAL_TEXT = ("url", "commit", "reason", "owner", "source")

# Times (docs/configuration.md): between 2000-01-01T00:00:00Z and the pass's clock plus `max_clock_skew`. An
# epoch integer is read by its magnitude: below 10^11 it is seconds, below 10^14 milliseconds, below 10^17
# microseconds (each bound is the year 5138 in its unit, so the units cannot be confused within the range).
EARLIEST_MS = 946_684_800_000
SECONDS_BELOW = 10**11
MILLIS_BELOW = 10**14
MICROS_BELOW = 10**17
DEFAULT_MAX_CLOCK_SKEW_MS = 86_400_000
MAX_TIME_TEXT = 64
RAW_SAMPLE = 300
ALL_STATUSES = frozenset(Status)

# The fields of a record, in the order they are checked (the first broken rule is the one reported). Any other
# field only has to be JSON: it is skipped unread (`loads`), as msgspec's typed decoder skips it on the fast path.
FIELDS = ("job", "run_id", "status", "finished_at", "attempt", *OPTIONAL_TEXT)


class RecordError(ValueError):
    """One record is invalid; the message names the field."""


@dataclass(slots=True)
class Parsed:
    """The outcome of parsing one file. `fatal` is set when the file as a whole is unreadable."""

    executions: list[Execution] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    fatal: str | None = None


# What turns one decoded record into an execution: `to_execution` here, or the fast path's, which gives the same.
ToExecution = Callable[[Any, str | None, int | None], Execution]


# --- Times -------------------------------------------------------------------------------------------------------


def epoch_ms(value: int, field_name: str = "finished_at") -> int:
    """Epoch milliseconds from epoch seconds, milliseconds or microseconds, told apart by magnitude."""
    if value < SECONDS_BELOW:
        return value * 1000
    if value < MILLIS_BELOW:
        return value
    if value < MICROS_BELOW:
        return value // 1000
    raise RecordError(f"field {field_name!r}: {value} is too large for epoch seconds, milliseconds or microseconds")


def latest_time(now: int, max_clock_skew_ms: int = DEFAULT_MAX_CLOCK_SKEW_MS) -> int:
    """The latest `finished_at` a pass whose clock reads `now` accepts."""
    return now + max_clock_skew_ms


def _rfc3339_ms(value: str, field_name: str) -> int:
    """Epoch milliseconds from an RFC 3339 time; no offset means UTC."""
    text = value.strip()
    if len(text) > MAX_TIME_TEXT:
        raise RecordError(f"field {field_name!r}: {value[:MAX_TIME_TEXT]!r}… is not an RFC 3339 time")
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise RecordError(f"field {field_name!r}: {value!r} is not an RFC 3339 time") from None


def parse_time(value: Any, field_name: str = "finished_at", latest: int | None = None) -> int:
    """Epoch milliseconds from an RFC 3339 string or an epoch integer (seconds, milliseconds or microseconds).

    Raises RecordError, naming the field, for anything else and for a time before 2000-01-01T00:00:00Z or, when
    `latest` is given, after it.
    """
    if isinstance(value, str):
        ms = _rfc3339_ms(value, field_name)
    elif isinstance(value, int) and not isinstance(value, bool):
        ms = epoch_ms(value, field_name)
    else:
        raise RecordError(f"field {field_name!r}: expected an RFC 3339 time or an epoch integer")
    if ms < EARLIEST_MS:
        raise RecordError(f"field {field_name!r}: {value!r} is before 2000-01-01T00:00:00Z")
    if latest is not None and ms > latest:
        raise RecordError(
            f"field {field_name!r}: {value!r} is after {iso(latest)}, the pass's clock plus max_clock_skew"
        )
    return ms


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and `…`, `limit` characters in all."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


# --- One record: a function per field rule ------------------------------------------------------------------------


def _required(value: Any, name: str, why: str = "") -> Any:
    if value is None:
        raise RecordError(f"missing required field {name!r}{why}")
    return value


def _job(value: Any) -> str:
    """A string of 1 to MAX_JOB_LEN characters, not only spaces."""
    job = _required(value, "job")
    if not isinstance(job, str) or not job.strip():
        raise RecordError("field 'job': expected a non-empty string")
    if len(job) > MAX_JOB_LEN:
        raise RecordError(f"field 'job': longer than {MAX_JOB_LEN} characters")
    return job


def _run_id(value: Any) -> str:
    """A string of 1 to MAX_RUN_ID_LEN characters, or an integer (kept as its decimal text)."""
    run_id = _required(value, "run_id")
    if isinstance(run_id, bool) or not isinstance(run_id, str | int):
        raise RecordError("field 'run_id': expected a string or an integer")
    text = str(run_id)
    if not text:
        raise RecordError("field 'run_id': empty")
    if len(text) > MAX_RUN_ID_LEN:
        raise RecordError(f"field 'run_id': longer than {MAX_RUN_ID_LEN} characters")
    return text


def _status(value: Any) -> Status:
    """A canonical status or a platform's spelling, case-insensitive (docs/records.md)."""
    raw = _required(value, "status")
    if not isinstance(raw, str):
        raise RecordError("field 'status': expected a string")
    status = parse_status(raw)
    if status is None:
        raise RecordError(f"field 'status': unknown status {raw[:60]!r}")
    return status


def _finished_at(value: Any, status: Status, latest: int | None) -> int:
    """A time within the accepted range (`parse_time`); a run still going may have none yet (0)."""
    if value is None and status is Status.RUNNING:
        return 0
    return parse_time(_required(value, "finished_at", " (required for a finished run)"), latest=latest)


def _attempt(value: Any) -> int:
    """An integer >= 0; absent or null is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RecordError("field 'attempt': expected an integer >= 0")
    return value


def _string(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RecordError(f"field {name!r}: expected a string")
    return value


def _identifier(obj: dict[str, Any], name: str) -> str | None:
    """`url`, `commit`, `owner`, `source`: a string within its bound (a cut one would point nowhere)."""
    value = _string(obj.get(name), name)
    if value is not None and len(value) > MAX_FIELD_LEN[name]:
        raise RecordError(f"field {name!r}: longer than {MAX_FIELD_LEN[name]} characters")
    return value


def _reason(value: Any) -> str | None:
    """Free text: beyond MAX_REASON_LEN it is kept, cut."""
    reason = _string(value, "reason")
    return None if reason is None else cut(reason, MAX_REASON_LEN)


def to_execution(obj: Any, default_source: str | None = None, latest: int | None = None) -> Execution:
    """Validate one decoded record, field by field in the order of `FIELDS`. Raises RecordError naming the first
    field that breaks its rule.

    `latest`: the latest `finished_at` accepted (`latest_time`); None leaves times unbounded above. A record
    without a `source` gets `default_source`.
    """
    if not isinstance(obj, dict):
        raise RecordError("expected a JSON object")
    job = _job(obj.get("job"))
    run_id = _run_id(obj.get("run_id"))
    status = _status(obj.get("status"))
    return Execution(
        job=job,
        run_id=run_id,
        status=status,
        finished_at=_finished_at(obj.get("finished_at"), status, latest),
        attempt=_attempt(obj.get("attempt")),
        url=_identifier(obj, "url"),
        commit=_identifier(obj, "commit"),
        reason=_reason(obj.get("reason")),
        owner=_identifier(obj, "owner"),
        source=_identifier(obj, "source") or default_source,
    )


def kept(execution: Execution, keep: frozenset[Status]) -> Execution:
    """The execution without its url, commit and reason unless its status is in `keep` (see `parse_file`'s
    `details` in inbox/intake.py)."""
    ex = execution
    if ex.status in keep or (ex.url is None and ex.commit is None and ex.reason is None):
        return ex
    return msgspec.structs.replace(ex, url=None, commit=None, reason=None)


# --- JSON Lines and arrays, record by record ---------------------------------------------------------------------

_KNOWN = frozenset(FIELDS)
_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


def loads(text: bytes) -> Any:
    """`orjson.loads`, except that the value of a field records do not have is skipped unread: the fast path's
    typed decoder skips it, so this path must not refuse what orjson alone would (a number beyond a double's
    range), or a record would be accepted or rejected depending on the path its file took."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        refused = error
    try:
        if text[:1] == b"[":
            return [loads(bytes(item)) for item in _RAW_ARRAY.decode(text)]
        fields = _RAW_OBJECT.decode(text)
        return {key: orjson.loads(bytes(value)) for key, value in fields.items() if key in _KNOWN}
    except (msgspec.DecodeError, orjson.JSONDecodeError, RecursionError):
        raise refused from None


def sample(raw: bytes | str) -> str:
    """The start of a rejected line, as it is kept with its reason."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return text[:RAW_SAMPLE]


def no_valid_record(rejected: int, first: str) -> str:
    """The reason a file none of whose records could be read is quarantined whole."""
    return f"no valid record ({rejected} rejected; first: {first})"


def parse_line(
    name: str,
    number: int,
    line: bytes,
    out: Parsed,
    keep: frozenset[Status],
    latest: int,
    record: ToExecution = to_execution,
) -> None:
    """Parse line `number` of file `name` into `out`: an execution, a rejection, or nothing for a blank line."""
    stripped = line.strip()
    if not stripped:
        return
    try:
        obj = loads(stripped)
    except orjson.JSONDecodeError as e:
        reason = "not valid JSON" if b"\x00" not in stripped else "binary content, not JSON"
        out.rejected.append(Rejected(name, number, f"{reason}: {e.msg}", sample(stripped)))
        return
    try:
        out.executions.append(kept(record(obj, None, latest), keep))
    except RecordError as e:
        out.rejected.append(Rejected(name, number, str(e), sample(stripped)))


def parse_lines(
    name: str,
    data: bytes,
    out: Parsed,
    keep: frozenset[Status],
    latest: int,
    *,
    first_line: int = 1,
    record: ToExecution = to_execution,
) -> None:
    """Parse a block of whole JSON Lines (already decompressed) whose first line is number `first_line` of the
    file, line by line, appending to `out`. `keep`: the statuses whose executions keep their url, commit and
    reason; `latest`: the latest `finished_at` accepted."""
    # A line the same as the last rejected one gets the same reason without being parsed again: a file of
    # millions of copies of one bad line is read at the speed of splitting it.
    rejected = out.rejected
    last: bytes | None = None
    for number, line in enumerate(data.split(b"\n"), start=first_line):
        if last is not None and line == last:
            twin = rejected[-1]
            rejected.append(Rejected(name, number, twin.reason, twin.raw))
            continue
        before = len(rejected)
        parse_line(name, number, line, out, keep, latest, record)
        last = line if len(rejected) > before else None


def _shown(item: Any) -> str:
    """The start of a rejected item, as JSON."""
    try:
        return sample(orjson.dumps(item))
    except (TypeError, orjson.JSONEncodeError):  # nested deeper than orjson writes
        return "(nested too deeply to show)"


def parse_array(
    name: str,
    body: bytes,
    out: Parsed,
    keep: frozenset[Status],
    latest: int,
    *,
    first_item: int = 1,
    record: ToExecution = to_execution,
) -> None:
    """Parse a JSON array of records (already decompressed) whose first item is number `first_item` of the
    file, item by item, appending to `out`; `out.fatal` when it is not a JSON array."""
    try:
        items = loads(body)
    except orjson.JSONDecodeError as e:
        out.fatal = f"not valid JSON: {e}"
        return
    if not isinstance(items, list):
        out.fatal = "expected a JSON array of records"
        return
    for index, item in enumerate(items, start=first_item):
        try:
            out.executions.append(kept(record(item, None, latest), keep))
        except RecordError as e:
            out.rejected.append(Rejected(name, index, f"item {index}: {e}", _shown(item)))
