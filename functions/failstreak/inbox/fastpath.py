"""The fast paths of the inbox parser: exactly what the checked parser (`inbox/records.py`) gives, faster.

Every path taken for speed alone is here, behind three entry points with the checked parser's signatures:
`to_execution` (one decoded record), `parse_lines` (a block of JSON Lines) and `parse_array` (a JSON array).
Each takes only what it reads exactly as `records` reads it and hands anything else, valid or not, to `records`,
which names what is wrong. The differential tests (tests/unit/inbox/test_fastpath.py) hold them to that over
generated records and files: the same executions, and the same rejections with the same lines, reasons and
samples.

This is the one module exempt from the complexity limit (docs/architecture.md). A pass parses every record of
its inbox here (600,000 at its bound), so the common record is checked in one expression over locals, and whole
blocks are decoded by msgspec's typed decoder in C, where `records` spends a function call per field rule per
record; splitting these into named steps would put those calls back (docs/performance.md, changes 2, 15, 16).
Readability is `records`' job; a rule changes there first, then here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

from failstreak.core.model import STATUS_ALIASES, Execution, Status
from failstreak.inbox import records
from failstreak.inbox.records import (
    EARLIEST_MS,
    MAX_FIELD_LEN,
    MAX_JOB_LEN,
    MAX_REASON_LEN,
    MAX_RUN_ID_LEN,
    MILLIS_BELOW,
    Parsed,
    RecordError,
    parse_time,
)

# Exact spellings that need no normalising: looked up as they are.
_EXACT_STATUS = {**STATUS_ALIASES, **{k.upper(): v for k, v in STATUS_ALIASES.items()}}
_MAX_URL = MAX_FIELD_LEN["url"]
_MAX_COMMIT = MAX_FIELD_LEN["commit"]
_MAX_OWNER = MAX_FIELD_LEN["owner"]
_MAX_SOURCE = MAX_FIELD_LEN["source"]


def to_execution(obj: Any, default_source: str | None = None, latest: int | None = None) -> Execution:
    """`records.to_execution`, with the common record (string job, integer or string run id, a status in a plain
    spelling, an RFC 3339 or epoch-ms time, optional fields absent or strings within their bounds) checked in
    one go; anything else goes to `records.to_execution`."""
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
                    return records.to_execution(obj, default_source, latest)
                url = get("url")
                commit = get("commit")
                reason = get("reason")
                owner = get("owner")
                source = get("source")
                if (
                    (url is None or (type(url) is str and len(url) <= _MAX_URL))
                    and (commit is None or (type(commit) is str and len(commit) <= _MAX_COMMIT))
                    and (reason is None or (type(reason) is str and len(reason) <= MAX_REASON_LEN))
                    and (owner is None or (type(owner) is str and len(owner) <= _MAX_OWNER))
                    and (source is None or (type(source) is str and len(source) <= _MAX_SOURCE))
                ):
                    return Execution(
                        job, rid, status, finished_at, attempt, url, commit, reason, owner, source or default_source
                    )
    return records.to_execution(obj, default_source, latest)


# The wire form of a record for msgspec's typed decoder, which validates in C. It accepts a subset of what
# `records.to_execution` accepts, and for that subset the typed paths give exactly its result; everything else
# (the whole block, or one record) goes the checked way.
# - Integers are bounded to int64: orjson reads larger ones as floats, which the checked path rejects.
# - Text beyond its bound is refused here: the checked path rejects the record or cuts its reason.
# - Unknown fields are skipped unread, by both paths (see `records.loads`): producers may add fields of their own.
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
    url: _bounded(_MAX_URL) | None = None  # type: ignore[valid-type]
    commit: _bounded(_MAX_COMMIT) | None = None  # type: ignore[valid-type]
    reason: _bounded(MAX_REASON_LEN) | None = None  # type: ignore[valid-type]
    owner: _bounded(_MAX_OWNER) | None = None  # type: ignore[valid-type]
    source: _bounded(_MAX_SOURCE) | None = None  # type: ignore[valid-type]


_LINES_DECODER = msgspec.json.Decoder(_Wire)
_ARRAY_DECODER = msgspec.json.Decoder(list[_Wire])

# Two objects on one line: decode_lines accepts them, a line of JSON Lines holds one.
_SHARED_LINE = re.compile(rb"\}[ \t\r]*\{")


def parse_lines(
    name: str, data: bytes, out: Parsed, keep: frozenset[Status], latest: int, *, first_line: int = 1
) -> None:
    """`records.parse_lines`: the block decoded whole when it reads exactly (`typed_lines`), else line by line."""
    if not typed_lines(name, data, out, keep, latest, first_line):
        records.parse_lines(name, data, out, keep, latest, first_line=first_line, record=to_execution)


def parse_array(
    name: str, body: bytes, out: Parsed, keep: frozenset[Status], latest: int, *, first_item: int = 1
) -> None:
    """`records.parse_array`: the array decoded whole when every item reads exactly, else item by item."""
    if not _typed_array(body, out, keep, latest):
        records.parse_array(name, body, out, keep, latest, first_item=first_item, record=to_execution)


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


def typed_lines(name: str, data: bytes, out: Parsed, keep: frozenset[Status], latest: int, first_line: int = 1) -> bool:
    """Parse JSON Lines with the typed decoder; False (and `out` untouched) when the block must go line by line.

    Decoded records are matched to lines by position, so this only runs when there is exactly one record per
    line: no blank line, no object spread over lines, no two objects on one line.
    """
    decoded = _typed(_LINES_DECODER.decode_lines, data)
    if decoded is None:
        return False
    lines_count = data.count(b"\n") + (data[-1:] != b"\n")
    if len(decoded) != lines_count or _SHARED_LINE.search(data) is not None:
        return False
    lines: list[bytes] = []

    def checked(index: int) -> None:
        if not lines:
            lines.extend(data.split(b"\n"))
        records.parse_line(name, index + first_line, lines[index], out, keep, latest, to_execution)

    _finish(decoded, out.executions, checked, keep, latest)
    return True


class _Unread(Exception):
    """A record of a JSON array that the typed decoder cannot take as it is: the array goes item by item."""


def _typed_array(body: bytes, out: Parsed, keep: frozenset[Status], latest: int) -> bool:
    """Parse a JSON array with the typed decoder; False (and `out` untouched) unless every item reads exactly."""
    decoded = _typed(_ARRAY_DECODER.decode, body)
    if decoded is None:
        return False
    executions: list[Execution] = []

    def unread(index: int) -> None:
        raise _Unread

    try:
        _finish(decoded, executions, unread, keep, latest)
    except _Unread:
        return False
    out.executions.extend(executions)
    return True


def _finish(
    decoded: list[_Wire],
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
    for index, rec in enumerate(decoded):
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
                    url, commit, reason = rec.url, rec.commit, rec.reason
                else:
                    url = commit = reason = None
                append(Execution(job, rid, status, ms, rec.attempt, url, commit, reason, rec.owner, rec.source or None))
                continue
        checked(index)
