"""Parsing execution records (SPEC 2) from inbox files. Pure: bytes in, executions and rejections out.

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

from failstreak.model import STATUS_ALIASES, Execution, Rejected, Status, parse_status

MAX_JOB_LEN = 512
MAX_TEXT_LEN = 4096
MIN_EPOCH_MS = 100_000_000_000  # 1973-03-03: smaller numbers are almost certainly epoch seconds
OPTIONAL_TEXT = ("url", "commit", "reason", "owner", "source")
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


def parse_time(value: Any, field_name: str = "finished_at") -> int:
    """Epoch milliseconds from an RFC 3339 string or an epoch-milliseconds integer."""
    if isinstance(value, bool):
        raise RecordError(f"field {field_name!r}: expected an RFC 3339 time or epoch milliseconds")
    if isinstance(value, int):
        if value < MIN_EPOCH_MS:
            raise RecordError(f"field {field_name!r}: {value} looks like epoch seconds; epoch milliseconds expected")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(f"field {field_name!r}: {value!r} is not an RFC 3339 time") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1000)
    raise RecordError(f"field {field_name!r}: expected an RFC 3339 time or epoch milliseconds")


def _text(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"field {name!r}: expected a string")
    return value[:MAX_TEXT_LEN]


# Exact spellings that need no normalising: the fast path looks them up as they are.
_EXACT_STATUS = {**STATUS_ALIASES, **{k.upper(): v for k, v in STATUS_ALIASES.items()}}


def to_execution(obj: Any, default_source: str | None = None) -> Execution:
    """Validate one decoded record. Raises RecordError naming the offending field.

    The common record (string job, integer or string run id, a status in a plain spelling, an RFC 3339 or
    epoch-ms time, optional fields absent or strings) takes a fast path with the same result; anything
    else, valid or not, goes through the field-by-field checks that name what is wrong.
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
            if rid:
                if type(raw_time) is int and raw_time >= MIN_EPOCH_MS:
                    finished_at = raw_time
                elif type(raw_time) is str:
                    finished_at = parse_time(raw_time)
                else:
                    return _to_execution_checked(obj, default_source)
                url = get("url")
                commit = get("commit")
                reason = get("reason")
                owner = get("owner")
                source = get("source")
                if (
                    (url is None or (type(url) is str and len(url) <= MAX_TEXT_LEN))
                    and (commit is None or (type(commit) is str and len(commit) <= MAX_TEXT_LEN))
                    and (reason is None or (type(reason) is str and len(reason) <= MAX_TEXT_LEN))
                    and (owner is None or (type(owner) is str and len(owner) <= MAX_TEXT_LEN))
                    and (source is None or (type(source) is str and len(source) <= MAX_TEXT_LEN))
                ):
                    return Execution(
                        job, rid, status, finished_at, attempt, url, commit, reason, owner, source or default_source
                    )
    return _to_execution_checked(obj, default_source)


def _to_execution_checked(obj: Any, default_source: str | None = None) -> Execution:
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
        finished_at = parse_time(raw_time)
    attempt = obj.get("attempt", 0)
    if attempt is None:
        attempt = 0
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise RecordError("field 'attempt': expected an integer >= 0")
    url, commit, reason, owner, source = (_text(obj, n) for n in OPTIONAL_TEXT)
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
# - Text longer than MAX_TEXT_LEN is not an error (the checked path truncates it), so it is refused here.
# - Unknown fields are skipped unread, by both paths (see `_loads`): producers may add fields of their own.
# - A time is decoded as text and read by `parse_time`, as the checked path reads it (msgspec's own datetime
#   parsing rounds a 7th fractional digit where `datetime.fromisoformat` truncates, among other differences).
_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
_Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_LEN)]


class _Wire(msgspec.Struct, gc=False):
    job: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_JOB_LEN)]
    run_id: str | _Int64
    status: str
    finished_at: _Int64 | str | None = None
    attempt: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    url: _Text | None = None
    commit: _Text | None = None
    reason: _Text | None = None
    owner: _Text | None = None
    source: _Text | None = None


_LINES_DECODER = msgspec.json.Decoder(_Wire)
_ARRAY_DECODER = msgspec.json.Decoder(list[_Wire])

# Two objects on one line: decode_lines accepts them, a line of JSON Lines holds one.
_SHARED_LINE = re.compile(rb"\}[ \t\r]*\{")


def parse_file(name: str, data: bytes, *, fast: bool = True, details: Collection[Status] | None = None) -> Parsed:
    """Parse one inbox file's bytes into executions and rejections.

    `details`: the statuses whose executions keep their `url`, `commit` and `reason`; the others come without
    them (None: all keep them). A pass gives the statuses some policy counts as failures, the only runs the
    engine remembers with them: a large inbox's links and commits then never all sit in memory at once.
    `fast=False` forces the record-by-record path; the result is the same either way (the fast path only
    takes what it reads exactly as that path does).
    """
    keep = ALL_STATUSES if details is None else frozenset(details)
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
        parse_array(name, body, out, keep, fast=fast)
    else:
        parse_lines(name, data, out, keep, fast=fast)
    if not out.executions and out.rejected and out.fatal is None:
        out.fatal = no_valid_record(len(out.rejected), out.rejected[0].reason)
    return out


def no_valid_record(rejected: int, first: str) -> str:
    """The reason a file none of whose records could be read is quarantined whole."""
    return f"no valid record ({rejected} rejected; first: {first})"


def parse_lines(
    name: str, data: bytes, out: Parsed, keep: frozenset[Status], *, first_line: int = 1, fast: bool = True
) -> None:
    """Parse a block of whole JSON Lines (already decompressed) whose first line is number `first_line` of the
    file, appending to `out`. A reader of a large file calls this once per block, so that neither the file's
    lines nor its decoded records are ever all in memory at once."""
    if not (fast and _fast_lines(name, data, out, keep, first_line)):
        _parse_lines(name, data, out, keep, first_line)


def parse_array(
    name: str, body: bytes, out: Parsed, keep: frozenset[Status], *, fast: bool = True, first_item: int = 1
) -> None:
    """Parse a JSON array of records (already decompressed) whose first item is number `first_item` of the
    file, appending to `out`."""
    if not (fast and _fast_array(body, out, keep)):
        _parse_array(name, body, out, keep, first_item)


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


def _time_or_none(text: str) -> int | None:
    try:
        return parse_time(text)
    except RecordError:
        return None


def _fast_lines(name: str, data: bytes, out: Parsed, keep: frozenset[Status], first_line: int = 1) -> bool:
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
        _parse_line(name, index + first_line, lines[index], out, keep)

    _finish(records, out.executions, checked, keep)
    return True


class _Unread(Exception):
    """A record of a JSON array that the typed decoder cannot take as it is: the array goes item by item."""


def _fast_array(body: bytes, out: Parsed, keep: frozenset[Status]) -> bool:
    """Parse a JSON array with the typed decoder; False (and `out` untouched) unless every item reads exactly."""
    records = _typed(_ARRAY_DECODER.decode, body)
    if records is None:
        return False
    executions: list[Execution] = []

    def unread(index: int) -> None:
        raise _Unread

    try:
        _finish(records, executions, unread, keep)
    except _Unread:
        return False
    out.executions.extend(executions)
    return True


def _finish(
    records: list[_Wire], executions: list[Execution], checked: Callable[[int], None], keep: frozenset[Status]
) -> None:
    """Append each decoded record, in order, as an `Execution` (with its url, commit and reason if its status
    is in `keep`); a record that needs the checked path's judgement (an unknown status, a finished run without
    a time, epoch seconds, an empty run id, a name starting with a space) goes to `checked` with its index
    instead, at its place in the order."""
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
                ms = when if when >= MIN_EPOCH_MS else None
            elif when is None:
                ms = 0 if status is running else None  # a run still going may have no time yet
            else:
                ms = known_ms(when)  # type: ignore[arg-type]
                if ms is None and when not in to_ms:
                    ms = to_ms[when] = _time_or_none(when)  # type: ignore[index, arg-type]
            if ms is not None:
                # The name is not interned: over a million records that cost 0.6 s to save 76 MiB, and leaving
                # out the links the engine would drop anyway saves more (docs/performance.md, #19).
                rid = run_id if type(run_id) is str else str(run_id)
                if status in keep:
                    url, commit, reason = rec.url, rec.commit, rec.reason
                else:
                    url = commit = reason = None
                append(Execution(job, rid, status, ms, rec.attempt, url, commit, reason, rec.owner, rec.source or None))
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


def _parse_array(name: str, body: bytes, out: Parsed, keep: frozenset[Status], first_item: int = 1) -> None:
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
            out.executions.append(_kept(to_execution(item), keep))
        except RecordError as e:
            out.rejected.append(Rejected(name, index, f"item {index}: {e}", _shown(item)))


def _shown(item: Any) -> str:
    """The start of a rejected item, as JSON."""
    try:
        return _sample(orjson.dumps(item))
    except (TypeError, orjson.JSONEncodeError):  # nested deeper than orjson writes
        return "(nested too deeply to show)"


def _parse_lines(name: str, data: bytes, out: Parsed, keep: frozenset[Status], first_line: int = 1) -> None:
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
        _parse_line(name, number, line, out, keep)
        last = line if len(rejected) > before else None


def _kept(ex: Execution, keep: frozenset[Status]) -> Execution:
    """The execution without its url, commit and reason unless its status is in `keep`."""
    if ex.status in keep or (ex.url is None and ex.commit is None and ex.reason is None):
        return ex
    return msgspec.structs.replace(ex, url=None, commit=None, reason=None)


def _parse_line(name: str, number: int, line: bytes, out: Parsed, keep: frozenset[Status]) -> None:
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
        out.executions.append(_kept(to_execution(obj), keep))
    except RecordError as e:
        out.rejected.append(Rejected(name, number, str(e), _sample(stripped)))
