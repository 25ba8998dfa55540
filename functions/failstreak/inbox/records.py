"""Parsing execution records (docs/records.md) from inbox files. Pure: bytes in, executions and rejections out.

A file is JSON Lines (one object per line) or a JSON array of objects, optionally gzip-compressed (detected by
its magic bytes, whatever its name). Each record is validated on its own: a bad line is rejected with its
line number and reason, and the good lines of the same file are still ingested.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import orjson

from failstreak.core.categories import MAX_NAME as MAX_CATEGORY_LEN
from failstreak.core.categories import valid_name as valid_category
from failstreak.core.model import STATUS_ALIASES, Execution, Rejected, Status, iso, now_ms, parse_status

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


class RecordError(ValueError):
    """One record is invalid; the message names the field."""


@dataclass(slots=True)
class Parsed:
    """The outcome of parsing one file. `fatal` is set when the file as a whole is unreadable."""

    executions: list[Execution] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    fatal: str | None = None


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


def parse_time(value: Any, field_name: str = "finished_at", latest: int | None = None) -> int:
    """Epoch milliseconds from an RFC 3339 string or an epoch integer (seconds, milliseconds or microseconds).

    Raises RecordError, naming the field, for anything else and for a time before 2000-01-01T00:00:00Z or, when
    `latest` is given, after it.
    """
    if isinstance(value, bool):
        raise RecordError(f"field {field_name!r}: expected an RFC 3339 time or an epoch integer")
    if isinstance(value, int):
        ms = epoch_ms(value, field_name)
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_TIME_TEXT:
            raise RecordError(f"field {field_name!r}: {value[:MAX_TIME_TEXT]!r}… is not an RFC 3339 time")
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            ms = int(dt.timestamp() * 1000)
        except (ValueError, OverflowError):
            raise RecordError(f"field {field_name!r}: {value!r} is not an RFC 3339 time") from None
    else:
        raise RecordError(f"field {field_name!r}: expected an RFC 3339 time or an epoch integer")
    if ms < EARLIEST_MS:
        raise RecordError(f"field {field_name!r}: {value!r} is before 2000-01-01T00:00:00Z")
    if latest is not None and ms > latest:
        raise RecordError(
            f"field {field_name!r}: {value!r} is after {iso(latest)}, the pass's clock plus max_clock_skew"
        )
    return ms


def _text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"field {name!r}: expected a string")
    if name == "reason":
        return cut(value, MAX_REASON_LEN)
    if len(value) > MAX_FIELD_LEN[name]:
        raise RecordError(f"field {name!r}: longer than {MAX_FIELD_LEN[name]} characters")
    return value


def cut(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its start and `…`, `limit` characters in all."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


# Exact spellings that need no normalising: the fast path looks them up as they are.
_EXACT_STATUS = {**STATUS_ALIASES, **{k.upper(): v for k, v in STATUS_ALIASES.items()}}


def to_execution(obj: Any, default_source: str | None = None, latest: int | None = None) -> Execution:
    """Validate one decoded record. Raises RecordError naming the offending field.

    `latest`: the latest `finished_at` accepted (`latest_time`); None leaves times unbounded above.
    The common record (string job, integer or string run id, a status in a plain spelling, an RFC 3339 or
    epoch-ms time, optional fields absent or strings within their bounds) takes a fast path with the same
    result; anything else, valid or not, goes through the field-by-field checks that name what is wrong.
    """
    if type(obj) is dict:
        get = obj.get
        job = get("job")
        run_id = get("run_id")
        raw_status = get("status")
        status = _EXACT_STATUS.get(raw_status) if type(raw_status) is str else None
        raw_time = get("finished_at")
        attempt = get("attempt", 0)
        if (
            type(job) is str
            and 0 < len(job) <= MAX_JOB_LEN
            and not job[0].isspace()
            and status is not None
            and status is not Status.RUNNING
            and (type(attempt) is int and attempt >= 0)
        ):
            rid = run_id if type(run_id) is str else str(run_id) if type(run_id) is int else None
            if rid and len(rid) <= MAX_RUN_ID_LEN:
                high = MILLIS_BELOW - 1 if latest is None else latest
                if type(raw_time) is int and EARLIEST_MS <= raw_time <= high:
                    finished_at = raw_time
                elif type(raw_time) is str:
                    finished_at = parse_time(raw_time, latest=latest)
                else:
                    return _to_execution_checked(obj, default_source, latest)
                url = get("url")
                commit = get("commit")
                reason = get("reason")
                owner = get("owner")
                source = get("source")
                category = get("category")
                if (
                    (url is None or (type(url) is str and len(url) <= MAX_FIELD_LEN["url"]))
                    and (commit is None or (type(commit) is str and len(commit) <= MAX_FIELD_LEN["commit"]))
                    and (reason is None or (type(reason) is str and len(reason) <= MAX_REASON_LEN))
                    and (owner is None or (type(owner) is str and len(owner) <= MAX_FIELD_LEN["owner"]))
                    and (source is None or (type(source) is str and len(source) <= MAX_FIELD_LEN["source"]))
                    and (category is None or (type(category) is str and valid_category(category)))
                ):
                    return Execution(
                        job,
                        rid,
                        status,
                        finished_at,
                        attempt,
                        url,
                        commit,
                        reason,
                        owner,
                        source or default_source,
                        category,
                    )
    return _to_execution_checked(obj, default_source, latest)


def _to_execution_checked(obj: Any, default_source: str | None = None, latest: int | None = None) -> Execution:
    if not isinstance(obj, dict):
        raise RecordError("expected a JSON object")
    job = obj.get("job")
    if job is None:
        raise RecordError("missing required field 'job'")
    if not isinstance(job, str) or not job.strip():
        raise RecordError("field 'job': expected a non-empty string")
    if len(job) > MAX_JOB_LEN:
        raise RecordError(f"field 'job': longer than {MAX_JOB_LEN} characters")
    run_id = obj.get("run_id")
    if run_id is None:
        raise RecordError("missing required field 'run_id'")
    if isinstance(run_id, bool) or not isinstance(run_id, str | int):
        raise RecordError("field 'run_id': expected a string or an integer")
    run_id = str(run_id)
    if not run_id:
        raise RecordError("field 'run_id': empty")
    if len(run_id) > MAX_RUN_ID_LEN:
        raise RecordError(f"field 'run_id': longer than {MAX_RUN_ID_LEN} characters")
    raw_status = obj.get("status")
    if raw_status is None:
        raise RecordError("missing required field 'status'")
    if not isinstance(raw_status, str):
        raise RecordError("field 'status': expected a string")
    status = parse_status(raw_status)
    if status is None:
        raise RecordError(f"field 'status': unknown status {raw_status[:60]!r}")
    raw_time = obj.get("finished_at")
    if raw_time is None:
        if status is not Status.RUNNING:
            raise RecordError("missing required field 'finished_at' (required for a finished run)")
        finished_at = 0
    else:
        finished_at = parse_time(raw_time, latest=latest)
    attempt = obj.get("attempt", 0)
    if attempt is None:
        attempt = 0
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise RecordError("field 'attempt': expected an integer >= 0")
    url, commit, reason, owner, source = (_text(obj, n) for n in OPTIONAL_TEXT)
    category = obj.get("category")
    if category is not None and (not isinstance(category, str) or not valid_category(category)):
        raise RecordError(
            f"field 'category': expected a category name (lower-case letters, digits, '_' and '-', starting with a "
            f"letter, at most {MAX_CATEGORY_LEN} characters), as code, infra or upstream"
        )
    return Execution(
        job=job,
        run_id=run_id,
        status=status,
        finished_at=finished_at,
        attempt=attempt,
        url=url,
        commit=commit,
        reason=reason,
        owner=owner,
        source=source or default_source,
        category=category,
    )


def _sample(raw: bytes | str) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return text[:RAW_SAMPLE]


def _decompress(name: str, data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise RecordError(f"not a readable gzip file ({e})") from None


# The wire form of a record for msgspec's typed decoder, which validates in C. It accepts a subset of what
# `to_execution` accepts, and for that subset the fast paths give exactly its result; everything else (the
# whole file, or one record) goes the checked way, which names what is wrong.
# - Integers are bounded to int64: orjson reads larger ones as floats, which the checked path rejects.
# - Text beyond its bound is refused here: the checked path rejects the record or cuts its reason.
# - Unknown fields are skipped unread, by both paths (see `_loads`): producers may add fields of their own.
# - A time is decoded as text and read by `parse_time`, as the checked path reads it (msgspec's own datetime
#   parsing rounds a 7th fractional digit where `datetime.fromisoformat` truncates, among other differences).
_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


def _bounded(limit: int) -> Any:
    return Annotated[str, msgspec.Meta(max_length=limit)]


class _Wire(msgspec.Struct, gc=False):
    job: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_JOB_LEN)]
    run_id: Annotated[str, msgspec.Meta(max_length=MAX_RUN_ID_LEN)] | _Int64
    status: str
    finished_at: _Int64 | str | None = None
    attempt: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    url: _bounded(MAX_FIELD_LEN["url"]) | None = None  # type: ignore[valid-type]
    commit: _bounded(MAX_FIELD_LEN["commit"]) | None = None  # type: ignore[valid-type]
    reason: _bounded(MAX_REASON_LEN) | None = None  # type: ignore[valid-type]
    owner: _bounded(MAX_FIELD_LEN["owner"]) | None = None  # type: ignore[valid-type]
    source: _bounded(MAX_FIELD_LEN["source"]) | None = None  # type: ignore[valid-type]
    category: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}$")] | None = None


_LINES_DECODER = msgspec.json.Decoder(_Wire)
_ARRAY_DECODER = msgspec.json.Decoder(list[_Wire])

# Two objects on one line: decode_lines accepts them, a line of JSON Lines holds one.
_SHARED_LINE = re.compile(rb"\}[ \t\r]*\{")


def parse_file(
    name: str,
    data: bytes,
    *,
    fast: bool = True,
    details: Collection[Status] | None = None,
    latest: int | None = None,
) -> Parsed:
    """Parse one inbox file's bytes into executions and rejections.

    `details`: the statuses whose executions keep their `url`, `commit` and `reason`; the others come without
    them (None: all keep them). A pass gives the statuses some policy counts as failures, the only runs the
    engine remembers with them: a large inbox's links and commits then never all sit in memory at once.
    `latest`: the latest `finished_at` accepted, from the pass's one clock (`latest_time`); None: now plus the
    default `max_clock_skew`. `fast=False` forces the record-by-record path; the result is the same either way
    (the fast path only takes what it reads exactly as that path does).
    """
    keep = ALL_STATUSES if details is None else frozenset(details)
    if latest is None:
        latest = latest_time(now_ms())
    out = Parsed()
    if data[:2] == b"\x1f\x8b":
        try:
            data = _decompress(name, data)
        except RecordError as e:
            out.fatal = str(e)
            return out
    body = data.lstrip()
    if not body:
        out.fatal = "empty file: no records"
        return out
    if body[:1] == b"[":
        parse_array(name, body, out, keep, latest, fast=fast)
    else:
        parse_lines(name, data, out, keep, latest, fast=fast)
    if not out.executions and out.rejected and out.fatal is None:
        out.fatal = no_valid_record(len(out.rejected), out.rejected[0].reason)
    return out


def no_valid_record(rejected: int, first: str) -> str:
    """The reason a file none of whose records could be read is quarantined whole."""
    return f"no valid record ({rejected} rejected; first: {first})"


def parse_lines(
    name: str,
    data: bytes,
    out: Parsed,
    keep: frozenset[Status],
    latest: int,
    *,
    first_line: int = 1,
    fast: bool = True,
) -> None:
    """Parse a block of whole JSON Lines (already decompressed) whose first line is number `first_line` of the
    file, appending to `out`. A reader of a large file calls this once per block, so that neither the file's
    lines nor its decoded records are ever all in memory at once. `latest` as for `parse_file`."""
    if not (fast and _fast_lines(name, data, out, keep, latest, first_line)):
        _parse_lines(name, data, out, keep, latest, first_line)


def parse_array(
    name: str,
    body: bytes,
    out: Parsed,
    keep: frozenset[Status],
    latest: int,
    *,
    fast: bool = True,
    first_item: int = 1,
) -> None:
    """Parse a JSON array of records (already decompressed) whose first item is number `first_item` of the
    file, appending to `out`. `latest` as for `parse_file`."""
    if not (fast and _fast_array(body, out, keep, latest)):
        _parse_array(name, body, out, keep, latest, first_item)


def _valid_utf8(data: bytes) -> bool:
    # msgspec does not check the text of the values it skips (unknown fields); orjson does.
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _typed(decode: Callable[[bytes], list[_Wire]], data: bytes) -> list[_Wire] | None:
    """The records the typed decoder reads from `data`, or None when it cannot read all of it as it is."""
    if not _valid_utf8(data):
        return None
    try:
        return decode(data)
    except (msgspec.DecodeError, RecursionError):
        # RecursionError: a value nested deeper than the interpreter's recursion limit (unknown fields may hold
        # any JSON); the checked path reads such a record with orjson's own fixed depth limit.
        return None


def _time_or_none(value: str | int, latest: int) -> int | None:
    try:
        return parse_time(value, latest=latest)
    except RecordError:
        return None


def _fast_lines(name: str, data: bytes, out: Parsed, keep: frozenset[Status], latest: int, first_line: int = 1) -> bool:
    """Parse JSON Lines with the typed decoder; False (and `out` untouched) when the file must go line by line.

    Decoded records are matched to lines by position, so this only runs when there is exactly one record per
    line: no blank line, no object spread over lines, no two objects on one line.
    """
    records = _typed(_LINES_DECODER.decode_lines, data)
    if records is None:
        return False
    lines_count = data.count(b"\n") + (data[-1:] != b"\n")
    if len(records) != lines_count or _SHARED_LINE.search(data) is not None:
        return False
    lines: list[bytes] = []

    def checked(index: int) -> None:
        if not lines:
            lines.extend(data.split(b"\n"))
        _parse_line(name, index + first_line, lines[index], out, keep, latest)

    _finish(records, out.executions, checked, keep, latest)
    return True


class _Unread(Exception):
    """A record of a JSON array that the typed decoder cannot take as it is: the array goes item by item."""


def _fast_array(body: bytes, out: Parsed, keep: frozenset[Status], latest: int) -> bool:
    """Parse a JSON array with the typed decoder; False (and `out` untouched) unless every item reads exactly."""
    records = _typed(_ARRAY_DECODER.decode, body)
    if records is None:
        return False
    executions: list[Execution] = []

    def unread(index: int) -> None:
        raise _Unread

    try:
        _finish(records, executions, unread, keep, latest)
    except _Unread:
        return False
    out.executions.extend(executions)
    return True


def _finish(
    records: list[_Wire],
    executions: list[Execution],
    checked: Callable[[int], None],
    keep: frozenset[Status],
    latest: int,
) -> None:
    """Append each decoded record, in order, as an `Execution` (with its url, commit and reason if its status
    is in `keep`); a record that needs the checked path's judgement (an unknown status, a finished run without
    a time or with one out of range, an empty run id, a name starting with a space) goes to `checked` with its
    index instead, at its place in the order."""
    append = executions.append
    exact = _EXACT_STATUS
    running = Status.RUNNING
    # Times go through `parse_time`, the very function of the checked path, so both read a time alike; the
    # records of a file share few distinct times (a pass spans minutes), so each is parsed once.
    to_ms: dict[str, int | None] = {}
    known_ms = to_ms.get
    for index, rec in enumerate(records):
        job = rec.job
        status = exact.get(rec.status)
        when = rec.finished_at
        run_id = rec.run_id
        if status is not None and run_id != "" and not job[0].isspace():
            if type(when) is int:
                ms = when if EARLIEST_MS <= when <= latest else _time_or_none(when, latest)
            elif when is None:
                ms = 0 if status is running else None  # a run still going may have no time yet
            else:
                ms = known_ms(when)  # type: ignore[arg-type]
                if ms is None and when not in to_ms:
                    ms = to_ms[when] = _time_or_none(when, latest)  # type: ignore[index]
            if ms is not None:
                # The name is not interned: over a million records that cost 0.6 s to save 76 MiB, and leaving
                # out the links the engine would drop anyway saves more (docs/performance.md, #19).
                rid = run_id if type(run_id) is str else str(run_id)
                if status in keep:
                    url, commit, reason, category = rec.url, rec.commit, rec.reason, rec.category
                else:
                    url = commit = reason = category = None
                append(
                    Execution(
                        job, rid, status, ms, rec.attempt, url, commit, reason, rec.owner, rec.source or None, category
                    )
                )
                continue
        checked(index)


# The fields of a record. Any other field of a record only has to be JSON: msgspec's typed decoder skips it
# without reading it, so the record-by-record path must not refuse what orjson alone would (a number beyond a
# double's range), or a file's records would be accepted or rejected depending on the path it took.
_FIELDS = frozenset(("job", "run_id", "status", "finished_at", "attempt", *OPTIONAL_TEXT))
_RAW_OBJECT = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_ARRAY = msgspec.json.Decoder(list[msgspec.Raw])


def _loads(text: bytes) -> Any:
    """`orjson.loads`, except that the value of a field records do not have is skipped unread."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        refused = error
    try:
        if text[:1] == b"[":
            return [_loads(bytes(item)) for item in _RAW_ARRAY.decode(text)]
        fields = _RAW_OBJECT.decode(text)
        return {key: orjson.loads(bytes(value)) for key, value in fields.items() if key in _FIELDS}
    except (msgspec.DecodeError, orjson.JSONDecodeError, RecursionError):
        raise refused from None


def _parse_array(
    name: str, body: bytes, out: Parsed, keep: frozenset[Status], latest: int, first_item: int = 1
) -> None:
    try:
        items = _loads(body)
    except orjson.JSONDecodeError as e:
        out.fatal = f"not valid JSON: {e}"
        return
    if not isinstance(items, list):
        out.fatal = "expected a JSON array of records"
        return
    for index, item in enumerate(items, start=first_item):
        try:
            out.executions.append(_kept(to_execution(item, latest=latest), keep))
        except RecordError as e:
            out.rejected.append(Rejected(name, index, f"item {index}: {e}", _shown(item)))


def _shown(item: Any) -> str:
    """The start of a rejected item, as JSON."""
    try:
        return _sample(orjson.dumps(item))
    except (TypeError, orjson.JSONEncodeError):  # nested deeper than orjson writes
        return "(nested too deeply to show)"


def _parse_lines(
    name: str, data: bytes, out: Parsed, keep: frozenset[Status], latest: int, first_line: int = 1
) -> None:
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
        _parse_line(name, number, line, out, keep, latest)
        last = line if len(rejected) > before else None


def _kept(ex: Execution, keep: frozenset[Status]) -> Execution:
    """The execution without its url, commit, reason and category unless its status is in `keep`."""
    if ex.status in keep or (ex.url is None and ex.commit is None and ex.reason is None and ex.category is None):
        return ex
    return msgspec.structs.replace(ex, url=None, commit=None, reason=None, category=None)


def _parse_line(name: str, number: int, line: bytes, out: Parsed, keep: frozenset[Status], latest: int) -> None:
    stripped = line.strip()
    if not stripped:
        return
    try:
        obj = _loads(stripped)
    except orjson.JSONDecodeError as e:
        reason = "not valid JSON" if b"\x00" not in stripped else "binary content, not JSON"
        out.rejected.append(Rejected(name, number, f"{reason}: {e.msg}", _sample(stripped)))
        return
    try:
        out.executions.append(_kept(to_execution(obj, latest=latest), keep))
    except RecordError as e:
        out.rejected.append(Rejected(name, number, str(e), _sample(stripped)))
