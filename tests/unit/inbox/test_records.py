"""Parsing inbox files (docs/records.md): good lines in, bad lines out with file, line and reason."""

from __future__ import annotations

import gzip
import json

import pytest

from failstreak.core.model import Status
from failstreak.inbox.intake import parse_file
from failstreak.inbox.records import RecordError, parse_time, to_execution

GOOD = {"job": "ci/unit", "run_id": 7, "status": "failed", "finished_at": "2026-11-20T10:00:00Z"}


def jsonl(*records: object) -> bytes:
    return ("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n").encode()


def test_a_json_lines_file_yields_one_execution_per_line() -> None:
    # Given two valid lines
    parsed = parse_file("a.jsonl", jsonl(GOOD, {**GOOD, "run_id": "8", "status": "SUCCESS"}))
    # Then two executions with canonical statuses and string run ids
    assert [(e.run_id, e.status) for e in parsed.executions] == [("7", Status.FAILED), ("8", Status.SUCCESS)]
    assert parsed.rejected == []
    assert parsed.fatal is None


def test_bad_lines_are_rejected_with_their_line_and_reason_and_good_ones_kept() -> None:
    # Given garbage, a missing field, an unknown status and a binary blob among good lines
    data = (
        jsonl(
            GOOD,
            "{not json",
            {"run_id": 1, "status": "failed", "finished_at": 1763600000000},
            {**GOOD, "status": "purple"},
            {**GOOD, "run_id": 9},
        )
        + b"\x00\x01\xff\xfe binary\n"
    )
    # When it is parsed
    parsed = parse_file("mixed.jsonl", data)
    # Then the good lines are kept and each bad one says where and why
    assert [e.run_id for e in parsed.executions] == ["7", "9"]
    described = [r.describe() for r in parsed.rejected]
    assert described[0].startswith("mixed.jsonl:2: not valid JSON")
    assert described[1] == "mixed.jsonl:3: missing required field 'job'"
    assert described[2] == "mixed.jsonl:4: field 'status': unknown status 'purple'"
    assert described[3].startswith("mixed.jsonl:6: ")
    assert parsed.fatal is None


def test_gzip_is_detected_by_content_not_by_name() -> None:
    parsed = parse_file("noext", gzip.compress(jsonl(GOOD)))
    assert len(parsed.executions) == 1


def test_a_json_array_is_read_element_by_element() -> None:
    # Given an array with one bad element
    data = json.dumps([GOOD, {**GOOD, "finished_at": "yesterday"}, {**GOOD, "run_id": 2}]).encode()
    parsed = parse_file("batch.json", data)
    # Then the bad element is named by its position
    assert [e.run_id for e in parsed.executions] == ["7", "2"]
    assert parsed.rejected[0].reason == "item 2: field 'finished_at': 'yesterday' is not an RFC 3339 time"


@pytest.mark.parametrize(
    ("data", "fatal"),
    [
        (b"", "empty file: no records"),
        (gzip.compress(jsonl(GOOD))[:-12], "not a readable gzip file"),
        # Neither UTF-8 nor JSON, and starting with neither the gzip magic nor `[` (random bytes did, 1 time in 256)
        (bytes(range(0x80, 0xC0)) + b"\x00", "no valid record"),
        (b"[1, 2", "not valid JSON"),
    ],
    ids=["empty", "truncated-gzip", "random-bytes", "broken-array"],
)
def test_an_unreadable_file_is_fatal_with_a_reason(data: bytes, fatal: str) -> None:
    parsed = parse_file("bad", data)
    assert parsed.executions == []
    assert parsed.fatal is not None
    assert parsed.fatal.startswith(fatal)


@pytest.mark.parametrize(
    ("spelling", "status"),
    [
        ("SUCCESS_WITH_FAILURES", Status.SUCCEEDED_WITH_FAILURES),
        ("TIMEDOUT", Status.TIMED_OUT),
        ("UPSTREAM_CANCELED", Status.UPSTREAM_FAILED),
        ("MAXIMUM_CONCURRENT_RUNS_REACHED", Status.SKIPPED),
        ("DONE", Status.SUCCESS),
        ("ABORTED", Status.CANCELED),
        ("failure", Status.FAILED),
        ("cancelled", Status.CANCELED),
        ("neutral", Status.SKIPPED),
        ("manual", Status.SKIPPED),
        ("pending", Status.RUNNING),
    ],
)
def test_platform_spellings_map_to_canonical_statuses(spelling: str, status: Status) -> None:
    assert to_execution({**GOOD, "status": spelling}).status is status


def test_a_running_record_needs_no_finish_time() -> None:
    assert to_execution({"job": "j", "run_id": 1, "status": "running"}).status is Status.RUNNING


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"finished_at": 946684799}, "field 'finished_at': 946684799 is before 2000-01-01T00:00:00Z"),
        ({"attempt": -1}, "field 'attempt'"),
        ({"run_id": True}, "field 'run_id'"),
        ({"job": "x" * 513}, "longer than 512"),
        ({"url": 5}, "field 'url': expected a string"),
        ({"category": "Infra"}, "field 'category': expected a category name"),
        ({"category": 3}, "field 'category': expected a category name"),
        ({"finished_at": None}, "missing required field 'finished_at'"),
    ],
)
def test_invalid_fields_are_named(patch: dict[str, object], message: str) -> None:
    with pytest.raises(RecordError, match=message):
        to_execution({**GOOD, **patch})


def test_times_accept_rfc3339_offsets_and_epoch_milliseconds() -> None:
    assert parse_time("2026-11-20T10:00:00+01:00") == parse_time("2026-11-20T09:00:00Z")
    assert parse_time(1763632800000) == 1763632800000


def test_a_records_category_is_kept() -> None:
    # Given a failed record its producer marked infra
    # When it is read
    ex = to_execution({**GOOD, "status": "failed", "category": "infra"})
    # Then the execution carries the category
    assert ex.category == "infra"
