"""The fast paths (`inbox/fastpath.py`) give exactly what the checked parser (`inbox/records.py`) gives, for any
record and any file (differential tests).

The checked parser (`parse_file(..., fast=False)`, `records.to_execution`) is the reference: it is the parsing
that was there before the fast paths, and it is still what they fall back to.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failstreak.core.model import Execution, Status
from failstreak.inbox import fastpath, records
from failstreak.inbox.intake import parse_file
from failstreak.inbox.records import Parsed, RecordError

T = "2026-11-18T10:06:40.000Z"
MS = 1794996400000
LATEST = records.latest_time(MS)  # the pass's clock reads MS
# Times at the edges of the accepted range and of each epoch unit's magnitude.
RANGE_TIMES = [
    records.EARLIEST_MS - 1,
    records.EARLIEST_MS,
    LATEST,
    LATEST + 1,
    946684799,
    946684800,
    MS // 1000,
    MS * 1000,
    MS * 1000 + 999,
    records.MICROS_BELOW,
    2**63 - 1,
    "2099-01-01T00:00:00Z",
    "1999-12-31T23:59:59Z",
    "2000-01-01T00:00:00Z",
    "2026-11-19T10:06:40Z",
    "2026-11-19T10:06:40.001Z",
    "0001-01-01T00:00:00+00:01",
]


def _both(data: bytes) -> tuple[Parsed, Parsed]:
    return parse_file("f.jsonl", data), parse_file("f.jsonl", data, fast=False)


def _record(**fields: Any) -> dict[str, Any]:
    return {"job": "j", "run_id": 7, "status": "failed", "finished_at": T, **fields}


def _line(**fields: Any) -> bytes:
    return json.dumps(_record(**fields), ensure_ascii=False, separators=(",", ":")).encode()


# Times: the spellings where msgspec and `datetime.fromisoformat` could disagree, and random ones built from
# the parts of an ISO 8601 time.
EDGE_TIMES = [
    "2016-12-31T23:59:60Z",  # leap second
    "2026-11-18t10:06:40z",
    "2026-11-18 10:06:40Z",
    "2026-11-18T10:06:40.1234567Z",
    "2026-11-18T10:06:40.9999995Z",  # rounds up to the next second, truncates to .999
    "2026-11-18T23:59:59.9999999Z",
    "2026-11-18T10:06:40.123456789+02:00",
    "2026-11-18T10:06:40+24:00",
    "2026-11-18T10:06:40+02:00:30",
    "2026-11-18T10:06:40+0200",
    "2026-11-18T10:06:40-00:00",
    "2026-11-18T10:06:40+02:60",
    "2026-11-18",
    "2026-11-18T10:06",
    "2026-11-18T24:00:00Z",
    "2026-11-18T10:06:40",
    "2026-11-18T10:06:40.5",
    " 2026-11-18T10:06:40Z",
    "2026-11-18T10:06:40,5Z",
    "20261118T100640Z",
    "2026-02-29T10:06:40Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59.999999-01:00",
    "later",
]
GENERATED_TIMES = st.builds(
    lambda date, sep, clock, frac, offset: f"{date}{sep}{clock}{frac}{offset}",
    st.sampled_from(["2026-11-18", "2024-02-29", "2026-02-29", "1970-01-01", "20261118"]),
    st.sampled_from(["T", "t", " ", "_"]),
    st.sampled_from(["10:06:40", "23:59:60", "24:00:00", "10:06", "10", "100640", "23:59:59"]),
    st.one_of(st.just(""), st.from_regex(r"\A[.,][0-9]{0,10}\Z", fullmatch=True)),
    st.sampled_from(["", "Z", "z", "+00:00", "-00:00", "+02:00", "+0200", "+24:00", "+02:00:30", "+02", "ZZ"]),
)
TIMES = st.one_of(
    st.sampled_from(EDGE_TIMES + RANGE_TIMES),
    GENERATED_TIMES,
    st.integers(-(2**64), 2**65),
    st.floats(),
    st.none(),
    st.booleans(),
)
TEXTS = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.just("x" * 4096),
    st.just("x" * 4097),
    st.just("\U0001f600" * 4096),
    st.just("\U0001f600" * 4097),
    st.sampled_from(["c" * 256, "c" * 257, "u" * 2048, "u" * 2049]),
    st.integers(),
    st.just(""),
)
FIELDS = {
    "job": st.one_of(
        st.text(max_size=4),
        st.sampled_from(["j", " j", "j ", "\u2003j", "", " ", "é", "j" * 512, "j" * 513]),
        st.integers(),
        st.none(),
    ),
    "run_id": st.one_of(
        st.integers(-(2**64), 2**65),
        st.sampled_from(["", " ", "7", "r-1", "r" * 256, "r" * 257]),
        st.booleans(),
        st.none(),
        st.floats(),
    ),
    "status": st.one_of(
        st.sampled_from(["success", "FAILED", "Failure", " failed", "running", "RUNNING", "pending", "done", "x"]),
        st.integers(),
        st.none(),
    ),
    "finished_at": TIMES,
    "attempt": st.one_of(st.integers(-2, 5), st.just(2**63), st.booleans(), st.none(), st.just("1")),
    "url": TEXTS,
    "commit": TEXTS,
    "reason": TEXTS,
    "owner": TEXTS,
    "source": TEXTS,
    "extra": st.one_of(st.integers(), st.just([[1]]), st.text(max_size=3)),
}
VALID = st.builds(
    _record,
    job=st.sampled_from(["a", "b/c", "é"]),
    run_id=st.one_of(st.integers(0, 10**6), st.just("r1")),
    status=st.sampled_from(["success", "failed", "FAILED", "done", "cancelled"]),
    finished_at=st.one_of(
        st.sampled_from([T, "2026-11-18T10:06:40.5+02:00", "2026-11-18T10:06:40", MS // 1000, MS * 1000]), st.just(MS)
    ),
)
# Mostly valid records with one field changed to an edge case: a file then often stays on the fast path,
# so that its per-record checks are exercised, not only the fallback of the whole file.
MUTATED = st.one_of(*[st.builds(lambda r, v, k=k: {**r, k: v}, VALID, values) for k, values in FIELDS.items()])
RECORDS = st.one_of(VALID, MUTATED, MUTATED, MUTATED, st.fixed_dictionaries({}, optional=FIELDS))


def _dump(obj: Any, style: str) -> bytes:
    if style == "ascii":  # json.dumps escapes non-ASCII text as \\uXXXX
        return json.dumps(obj, allow_nan=True).encode()
    if style == "indented":  # one object over several lines
        return json.dumps(obj, indent=1, ensure_ascii=False).encode()
    return json.dumps(obj, ensure_ascii=False, allow_nan=True).encode()


LINES = st.one_of(
    st.builds(_dump, RECORDS, st.sampled_from(["orjson"] * 8 + ["ascii", "indented"])),
    st.builds(_dump, RECORDS, st.just("orjson")),
    st.builds(_dump, RECORDS, st.just("orjson")),
    st.sampled_from(
        [
            b"",
            b"   ",
            b"\t",
            b"[]",
            b"{}",
            b"null",
            b"{",
            b"\xef\xbb\xbf" + _line(),  # BOM
            _line() + b" " + _line(),  # two objects on one line
            _line() + _line(),
            _line() + b"\r",
            b"\x0c" + _line(),
            _line(url="\xff"),
            _line()[:-1] + b',"extra":1e400}',  # a number orjson rejects, in a field msgspec would skip
            _line()[:-1] + b',"extra":"\xff"}',  # invalid UTF-8 in a skipped field
            _line()[:-1] + b',"j\\u006fb":"k"}',  # an escaped key
            _line(finished_at="2026-11-18T10:06:40\\u002e9999995Z").replace(b"\\\\", b"\\"),
            _line(run_id=18446744073709551616),
            b'{"job":"j","job":"k","run_id":1,"status":"failed","finished_at":1794996400000}',
            b"\x00\x01\x02",
            b"\xff\xfe",
        ]
    ),
)


def _file(lines: list[bytes], newline: bytes, trailing: bool) -> bytes:
    return newline.join(lines) + (newline if trailing else b"")


JSONL_FILES = st.builds(
    _file, st.lists(LINES, min_size=1, max_size=8), st.sampled_from([b"\n", b"\r\n"]), st.booleans()
)
ARRAY_FILES = st.builds(
    lambda items, indent: json.dumps(items, indent=indent, allow_nan=True).encode(),
    st.lists(st.one_of(VALID, VALID, RECORDS, st.integers(), st.just([])), max_size=6),
    st.sampled_from([None, 1]),
)


def _typed_time(value: Any) -> bool:
    try:
        msgspec.json.decode(json.dumps(value).encode(), type=int | datetime)
    except msgspec.DecodeError:
        return False
    return True


# Records that msgspec's typed decoder accepts: the fast path keeps the whole file and decides per record.
TYPED = st.builds(
    _record,
    job=st.one_of(st.text(min_size=1, max_size=4), st.sampled_from([" j", "\u2003j", "j" * 512])),
    run_id=st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from(["", " ", "7", "r" * 256, "r" * 257])),
    status=st.one_of(st.text(max_size=3), st.sampled_from(["success", "RUNNING", "pending", "Failed", "done "])),
    finished_at=st.one_of(st.integers(0, 2**63 - 1), st.sampled_from(RANGE_TIMES), TIMES.filter(_typed_time)),
    attempt=st.integers(0, 3),
    url=st.one_of(st.none(), st.text(max_size=3), st.just("\U0001f600" * 4096)),
    source=st.sampled_from([None, "", "s"]),
)
TYPED_FILES = st.builds(
    _file,
    st.lists(st.builds(_dump, TYPED, st.sampled_from(["orjson"] * 5 + ["ascii"])), min_size=1, max_size=8),
    st.sampled_from([b"\n", b"\r\n"]),
    st.booleans(),
)
FILES = st.builds(
    lambda data, zipped: gzip.compress(data) if zipped else data,
    st.one_of(JSONL_FILES, TYPED_FILES, TYPED_FILES, ARRAY_FILES),
    st.booleans(),
)


DETAILS = st.one_of(st.none(), st.frozensets(st.sampled_from(list(Status))))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILES, DETAILS)
def test_the_fast_path_parses_any_file_exactly_as_the_record_by_record_path(
    data: bytes, details: frozenset[Status] | None
) -> None:
    # Given any file: JSON Lines or an array, gzipped or not, valid and invalid records mixed; and any set of
    # statuses whose details are kept
    # When both paths parse it
    fast = parse_file("f.jsonl", data, details=details, latest=LATEST)
    reference = parse_file("f.jsonl", data, fast=False, details=details, latest=LATEST)
    # Then they give the same executions, the same rejections (lines, reasons, samples) and the same fatal error
    assert fast == reference


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("wrap", ["lines", "array"])
def test_only_the_statuses_given_keep_their_link_commit_and_reason(fast: bool, wrap: str) -> None:
    # Given a failed, a skipped and a successful record, each with a link, a commit, a reason and an owner
    lines = [
        _line(run_id=i, status=status, url=f"u{i}", commit=f"c{i}", reason=f"r{i}", owner="team")
        for i, status in enumerate(["failed", "SKIPPED", "success"])
    ]
    data = b"\n".join(lines) if wrap == "lines" else b"[" + b",".join(lines) + b"]"
    # When the file is parsed keeping the details of failed and skipped runs
    parsed = parse_file("f", data, fast=fast, details={Status.FAILED, Status.SKIPPED})
    # Then the success comes without them, and keeps the rest
    assert [(e.url, e.commit, e.reason, e.owner) for e in parsed.executions] == [
        ("u0", "c0", "r0", "team"),
        ("u1", "c1", "r1", "team"),
        (None, None, None, "team"),
    ]
    # And without `details` every record keeps them
    assert [e.url for e in parse_file("f", data, fast=fast).executions] == ["u0", "u1", "u2"]


@pytest.mark.parametrize("time", EDGE_TIMES)
@pytest.mark.parametrize("wrap", ["line", "array"])
def test_each_edge_case_time_is_read_as_the_record_by_record_path_reads_it(time: str, wrap: str) -> None:
    # Given a record whose time is one where msgspec and datetime.fromisoformat could disagree
    line = _line(finished_at=time)
    data = line if wrap == "line" else b"[" + line + b"]"
    # When both paths parse it; Then they agree
    fast, reference = _both(data)
    assert fast == reference


def test_more_than_six_fractional_digits_are_truncated_not_rounded() -> None:
    # Given a time whose 7th fractional digit would round it up to the next second
    # When the file is parsed
    parsed = parse_file("f", _line(finished_at="2026-11-18T10:06:40.9999995Z") + b"\n" + _line(run_id=8))
    # Then the time is truncated to the millisecond, as datetime.fromisoformat reads it
    assert [e.finished_at for e in parsed.executions] == [MS + 999, MS]


def test_a_leap_second_is_rejected_with_its_line_number() -> None:
    # Given a valid line, then one with a leap second
    data = _line() + b"\n" + _line(finished_at="2016-12-31T23:59:60Z") + b"\n"
    # When the file is parsed
    parsed = parse_file("f", data)
    # Then the second line is rejected, naming the field, and the first is kept
    assert len(parsed.executions) == 1
    assert [(r.line, r.reason) for r in parsed.rejected] == [
        (2, "field 'finished_at': '2016-12-31T23:59:60Z' is not an RFC 3339 time")
    ]


def test_a_naive_time_is_taken_as_utc() -> None:
    # Given a time without an offset; When it is parsed; Then it is read as UTC
    assert parse_file("f", _line(finished_at="2026-11-18T10:06:40")).executions[0].finished_at == MS


def test_epoch_seconds_and_microseconds_are_read_by_magnitude_on_both_paths() -> None:
    # Given the same time in epoch seconds, milliseconds and microseconds
    data = _line(finished_at=MS // 1000) + b"\n" + _line(finished_at=MS) + b"\n" + _line(finished_at=MS * 1000)
    # When the file is parsed by either path; Then each is the same time in milliseconds
    for parsed in _both(data):
        assert [e.finished_at for e in parsed.executions] == [MS, MS, MS]


def test_too_long_reason_is_cut_with_a_marker_not_rejected() -> None:
    # Given a reason longer than the limit; When it is parsed; Then it is kept, cut to the limit, ending in …
    parsed = parse_file("f", _line(reason="r" * 5000))
    assert parsed.executions[0].reason == "r" * (records.MAX_REASON_LEN - 1) + "…"


def test_a_running_record_without_a_time_is_kept() -> None:
    # Given a running record with no finished_at; When it is parsed; Then it is kept with time 0
    parsed = parse_file("f", orjson.dumps({"job": "j", "run_id": 1, "status": "running"}) + b"\n" + _line())
    assert parsed.executions[0] == Execution("j", "1", Status.RUNNING, 0)


def test_running_records_with_or_without_a_time_stay_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given running records, one without a time and one with; and a record-by-record path that must not be used
    def unused(*args: object) -> None:
        raise AssertionError("the record-by-record path was taken")

    monkeypatch.setattr(records, "parse_line", unused)
    data = orjson.dumps({"job": "j", "run_id": 1, "status": "running"}) + b"\n" + _line(status="pending")
    # When the file is parsed; Then both are read by the typed path, as the record-by-record path reads them
    assert parse_file("f", data).executions == [
        Execution("j", "1", Status.RUNNING, 0),
        Execution("j", "7", Status.RUNNING, MS),
    ]


def test_blank_lines_keep_the_line_numbers_of_the_rejections() -> None:
    # Given a file with blank lines before a bad record
    data = _line() + b"\n\n  \n" + _line(status="nope") + b"\r\n"
    # When it is parsed; Then the bad record is reported on its own line
    assert [r.line for r in parse_file("f", data).rejected] == [4]


def test_a_clean_file_takes_the_fast_path() -> None:
    # Given a file of valid records; When the fast path reads it; Then it takes it whole, with the same result
    data = b"\n".join(_line(run_id=i, url="u", commit="c", source="") for i in range(5)) + b"\n"
    out = Parsed()
    assert fastpath.typed_lines("f", data, out, records.ALL_STATUSES, records.latest_time(MS))
    assert out == parse_file("f", data, fast=False)
    assert out.executions[0] == Execution("j", "0", Status.FAILED, MS, 0, "u", "c", None, None, None)


def test_fields_of_the_producers_own_stay_on_the_fast_path_and_are_ignored() -> None:
    # Given records that carry fields failstreak does not know, one of them a number orjson alone refuses
    data = (
        _line(run_id=1)[:-1] + b',"branch":"main","duration_ms":1234}\n'
        + _line(run_id=2)[:-1] + b',"extra":1e400}\n'
    )  # fmt: skip
    out = Parsed()
    # When the fast path reads the file; Then it takes it whole, and both paths ingest both records
    assert fastpath.typed_lines("f", data, out, records.ALL_STATUSES, records.latest_time(MS))
    assert out == parse_file("f", data, fast=False)
    assert [e.run_id for e in out.executions] == ["1", "2"]
    assert out.rejected == []


def test_a_number_beyond_range_in_a_field_of_the_record_is_rejected_by_both_paths() -> None:
    # Given a record whose own field holds a number no double can hold
    data = _line(run_id=1) + b"\n" + b'{"job":"j","run_id":2,"status":"failed","finished_at":1e400}\n'
    # When it is parsed either way; Then that line is rejected as not valid JSON, the other is ingested
    for parsed in (parse_file("f", data), parse_file("f", data, fast=False)):
        assert [e.run_id for e in parsed.executions] == ["1"]
        assert [(r.line, r.reason.split(":")[0]) for r in parsed.rejected] == [(2, "not valid JSON")]


def test_an_array_with_fields_of_the_producers_own_is_read_whole() -> None:
    # Given a JSON array whose records carry an unknown field orjson alone refuses
    data = b"[" + _line(run_id=1)[:-1] + b',"extra":1e400}]'
    # When parsed either way; Then the record is ingested
    for parsed in (parse_file("f", data), parse_file("f", data, fast=False)):
        assert [e.run_id for e in parsed.executions] == ["1"]
        assert parsed.fatal is None


def test_records_that_do_not_map_one_to_one_onto_lines_are_read_line_by_line() -> None:
    # Given one object spread over two lines, then two objects on one line: as many objects as lines
    data = b'{"job":"j","run_id":1,\n"status":"failed","finished_at":1794996400000}\n' + _line() + b" " + _line()
    # When the file is parsed
    parsed = parse_file("f", data)
    # Then every line is rejected on its own, as the record-by-record path does
    assert parsed == parse_file("f", data, fast=False)
    assert [r.line for r in parsed.rejected] == [1, 2, 3]
    assert parsed.executions == []


def test_times_on_the_same_clock_in_one_file_keep_their_own_offsets() -> None:
    # Given one file with the same wall-clock time naive, in UTC, at +02:00, and the same instant at +01:00
    times = ["2026-11-18T10:06:40", "2026-11-18T10:06:40Z", "2026-11-18T10:06:40+02:00", "2026-11-18T09:06:40+01:00"]
    data = b"\n".join(_line(run_id=i, finished_at=t) for i, t in enumerate(times))
    # When it is parsed; Then each time is read on its own offset (naive as UTC)
    assert [e.finished_at for e in parse_file("f", data).executions] == [MS, MS, MS - 7_200_000, MS - 7_200_000]


# One decoded record, any fields: the fast `to_execution` against the checked one.
TEXT = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(),
    st.sampled_from(["x" * 5000, "x" * 256, "x" * 257, "x" * 2048, "x" * 2049, "x" * 4096, "x" * 4097]),
    st.just(" "),
    st.just(""),
)
FIELD_VALUES = {
    "job": st.one_of(st.text(max_size=6), st.just(" job"), st.just("j" * 513), st.integers(), st.none()),
    "run_id": st.one_of(
        st.integers(-3, 10**12), st.text(max_size=4), st.just("r" * 257), st.booleans(), st.none(), st.floats()
    ),
    "status": st.one_of(
        st.sampled_from(["success", "FAILED", "Failure", " failed", "running", "TimedOut", "done", "nope"]),
        st.integers(),
        st.lists(st.integers(), max_size=1),
        st.none(),
    ),
    "finished_at": st.one_of(
        st.integers(0, 2 * 10**12),
        st.integers(-(2**64), 2**65),
        st.sampled_from([946684799, 946684800, 946684800000, LATEST, LATEST + 1, 1794996400000000, 2**63 - 1]),
        st.sampled_from(["2026-11-18T10:06:40.000Z", "2026-11-18T10:06:40+02:00", "2026-11-18 10:06", "later", " "]),
        st.sampled_from(["2099-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01", "1999-12-31T23:59:59.999Z"]),
        st.booleans(),
        st.floats(),
        st.none(),
    ),
    "attempt": st.one_of(st.integers(-2, 5), st.booleans(), st.none(), st.text(max_size=2)),
    "url": TEXT,
    "commit": TEXT,
    "reason": TEXT,
    "owner": TEXT,
    "source": TEXT,
}
ANY_RECORD = st.fixed_dictionaries({}, optional=FIELD_VALUES)


def _outcome(fn: Any, obj: Any) -> Any:
    try:
        return fn(obj, "src", LATEST)
    except RecordError as e:
        return ("error", str(e))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(ANY_RECORD, RECORDS))
def test_fast_record_path_matches_the_checked_path(obj: dict[str, Any]) -> None:
    # Given any record, valid or not; When both paths validate it; Then they agree on the result or the error
    assert _outcome(fastpath.to_execution, obj) == _outcome(records.to_execution, obj)


def test_non_objects_are_rejected_the_same_way() -> None:
    # Given values that are not JSON objects; When both paths validate them; Then they give the same error
    for obj in ([], "x", 3, None):
        assert _outcome(fastpath.to_execution, obj) == _outcome(records.to_execution, obj)
