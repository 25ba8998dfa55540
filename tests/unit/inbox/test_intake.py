"""Reading one inbox file as a bounded stream: the same records as parsing its bytes whole, within the bounds."""

from __future__ import annotations

import gzip
import io
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from failstreak.inbox.base import MIB
from failstreak.inbox.intake import ARRAY_CAP, MAX_LINE, TooLarge, parse_file, read_file, too_large_reason
from tests.conftest import T0

UNBOUNDED = 1 << 40


def record(run_id: int, job: str = "ci/a", status: str = "failed") -> bytes:
    return json.dumps({"job": job, "run_id": run_id, "status": status, "finished_at": T0 + run_id}).encode()


lines = st.one_of(
    st.integers(1, 10**6).map(record),
    st.sampled_from([b"", b"  ", b"{}", b"not json", b'{"job": "x"}', b"\x00\xff", b"[1]", b"{} {}"]),
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(lines, min_size=1, max_size=30), st.integers(1, 64), st.booleans(), st.booleans())
def test_reading_a_file_in_steps_gives_what_parsing_it_whole_gives(
    file_lines: list[bytes], step: int, final_newline: bool, zipped: bool
) -> None:
    # Given any file of JSON Lines, good and bad, read a few bytes at a time
    data = b"\n".join(file_lines) + (b"\n" if final_newline else b"")
    assume(not data.lstrip().startswith(b"["))  # arrays, and lines that begin with one: tested on their own
    stored = gzip.compress(data) if zipped else data
    # When it is read as a stream, and parsed whole
    read = read_file("f.jsonl", io.BytesIO(stored), cap=UNBOUNDED, room=UNBOUNDED, step=step)
    whole = parse_file("f.jsonl", stored)
    # Then both give the same executions, the same rejected lines and the same verdict on the file
    assert read.executions == whole.executions
    assert read.rejected == whole.rejected
    assert read.rejected_total == len(whole.rejected)
    assert read.fatal == whole.fatal
    if whole.fatal is not None and whole.fatal.startswith("not a readable gzip file"):
        # Lines that begin with gzip's magic bytes, stored as they are: read as a damaged gzip stream, of which
        # nothing inflates
        assert read.size == 0
    else:
        assert read.size == len(data)


def test_a_gzip_file_of_several_members_is_read_as_one_stream() -> None:
    # Given a gzip file made of two members (as `cat a.gz b.gz` makes)
    stored = gzip.compress(record(1) + b"\n") + gzip.compress(record(2) + b"\n")
    # When it is read, then both members' records come
    read = read_file("f.jsonl.gz", io.BytesIO(stored), cap=UNBOUNDED, room=10)
    assert [e.run_id for e in read.executions] == ["1", "2"]


def test_gzip_with_garbage_after_its_end_is_unreadable_with_a_reason() -> None:
    # Given a gzip file followed by bytes that are not gzip; when read, then the file is refused with why
    read = read_file("f.gz", io.BytesIO(gzip.compress(record(1)) + b"trailing junk"), cap=UNBOUNDED, room=10)
    assert read.fatal is not None
    assert read.fatal.startswith("not a readable gzip file")


def test_a_line_longer_than_the_bound_is_rejected_unread_and_the_lines_after_it_counted() -> None:
    # Given a good line, a line just over the bound, and a good line
    data = record(1) + b"\n" + b'{"pad": "' + b"x" * MAX_LINE + b'"}\n' + record(2) + b"\n"
    # When it is read
    read = read_file("f.jsonl", io.BytesIO(data), cap=UNBOUNDED, room=10)
    # Then the long line is rejected by number, with the start of it, and both good lines are counted
    assert [e.run_id for e in read.executions] == ["1", "2"]
    [long] = read.rejected
    assert (long.line, long.reason) == (2, "line longer than 1 MiB: not read")
    assert long.raw == '{"pad": "' + "x" * 291


def test_a_file_beyond_the_cap_raises_too_large_with_how_to_split_it() -> None:
    # Given a gzip file that inflates past a 1 MiB cap
    stored = gzip.compress((record(1) + b"\n") * (MIB // 50))
    # When it is read, then reading stops at the cap and the reason says how to split it
    with pytest.raises(TooLarge) as raised:
        read_file("f.jsonl.gz", io.BytesIO(stored), cap=MIB, room=10)
    assert "split it into several files" in too_large_reason(raised.value)


def test_a_json_array_beyond_its_bound_asks_for_json_lines() -> None:
    # Given a JSON array larger than an array may be (arrays are read whole)
    items = b",".join([record(1)] * (ARRAY_CAP // len(record(1)) + 1))
    # When it is read, then it is too large, and the reason says to write JSON Lines
    with pytest.raises(TooLarge) as raised:
        read_file("f.json", io.BytesIO(b"[" + items + b"]"), cap=UNBOUNDED, room=10)
    assert raised.value.array
    assert "write the records as JSON Lines" in too_large_reason(raised.value)


def test_json_lines_whose_first_line_is_an_array_are_read_line_by_line() -> None:
    # Given JSON Lines whose first line (after a blank one) is an array, then good records
    data = b"\n[1, 2]\n" + record(1) + b"\n" + record(2) + b"\n"
    # When it is read, then the first line is rejected and the others counted
    read = read_file("f.jsonl", io.BytesIO(data), cap=UNBOUNDED, room=10)
    assert [e.run_id for e in read.executions] == ["1", "2"]
    assert [(r.line, r.reason) for r in read.rejected] == [(2, "expected a JSON object")]


def test_a_json_array_is_parsed_in_batches_with_each_item_numbered_in_the_file() -> None:
    # Given an array of 10,000 good items with a bad one near the end
    items = [record(i) for i in range(1, 10_001)]
    items[9_000] = b'{"job": "ci/a"}'
    # When it is read
    read = read_file("f.json", io.BytesIO(b"[" + b",".join(items) + b"]"), cap=UNBOUNDED, room=10)
    # Then the good items are counted and the bad one named by its position in the whole array
    assert len(read.executions) == 9_999
    assert [(r.line, r.reason) for r in read.rejected] == [(9_001, "item 9001: missing required field 'run_id'")]


def test_only_the_rejected_lines_there_is_room_for_are_kept_and_all_are_counted() -> None:
    # Given 100 rejected lines and one good line, and room to keep 10 rejected lines
    data = b"{}\n" * 100 + record(1) + b"\n"
    # When it is read, then 10 are kept, 100 counted, and the good line counted
    read = read_file("f.jsonl", io.BytesIO(data), cap=UNBOUNDED, room=10)
    assert [r.line for r in read.rejected] == list(range(1, 11))
    assert read.rejected_total == 100
    assert len(read.executions) == 1


def test_a_line_of_several_steps_beyond_the_bound_is_skipped_to_its_end() -> None:
    # Given a line three times the bound between two good lines
    data = record(1) + b"\n" + b"x" * (3 * MAX_LINE) + b"\n" + record(2) + b"\n"
    # When it is read, then it is rejected by number and the line after it is read
    read = read_file("f.jsonl", io.BytesIO(data), cap=UNBOUNDED, room=10)
    assert [e.run_id for e in read.executions] == ["1", "2"]
    assert [(r.line, r.reason) for r in read.rejected] == [(2, "line longer than 1 MiB: not read")]


def test_a_malformed_json_array_is_unreadable_with_the_checked_parser_reason() -> None:
    # Given an array that never closes; when it is read, then the file is refused naming the JSON error
    read = read_file("f.json", io.BytesIO(b'[{"job": "j", "run_id": 1'), cap=UNBOUNDED, room=10)
    assert read.fatal is not None
    assert read.fatal.startswith("not valid JSON")


def test_json_lines_larger_than_an_array_may_be_whose_first_line_is_an_array_are_still_streamed() -> None:
    # Given JSON Lines beyond the arrays' bound whose first line is an array
    data = b"[1]\n" + (record(1) + b"\n") * (ARRAY_CAP // len(record(1)) + 10)
    # When it is read, then it is read as JSON Lines: the first line rejected, every other line counted
    read = read_file("f.jsonl", io.BytesIO(data), cap=UNBOUNDED, room=10)
    assert len(read.executions) == data.count(b"\n") - 1
    assert [(r.line, r.reason) for r in read.rejected] == [(1, "expected a JSON object")]
    assert read.size == len(data)


def test_a_file_of_only_rejected_lines_is_unreadable_naming_the_first_even_with_no_room_to_keep_them() -> None:
    # Given a file of three bad lines, read by a pass with no room left to keep rejected lines
    read = read_file("f.jsonl", io.BytesIO(b"{}\n{}\nnope\n"), cap=UNBOUNDED, room=0)
    # Then the file is refused with the count and the first reason, and all three are counted
    assert read.fatal == "no valid record (3 rejected; first: missing required field 'job')"
    assert (read.rejected, read.rejected_total) == ([], 3)


@pytest.mark.parametrize("wrap", ["lines", "array"])
def test_reading_with_the_checked_parser_alone_gives_what_the_fast_path_gives(wrap: str) -> None:
    # Given a file of good records, a bad one and one with a reason beyond its bound (the fast path's typed
    # decoder refuses it, so that block or array goes record by record)
    items = [record(1), b'{"job": "x"}', record(2)[:-1] + b', "reason": "' + b"r" * 5000 + b'"}', record(3)]
    data = b"\n".join(items) + b"\n" if wrap == "lines" else b"[" + b",\n".join(items) + b"]"
    # When it is read as a stream through the fast path, and through the checked parser alone
    fast = read_file("f", io.BytesIO(data), cap=UNBOUNDED, room=UNBOUNDED, step=64)
    checked = read_file("f", io.BytesIO(data), cap=UNBOUNDED, room=UNBOUNDED, step=64, fast=False)
    # Then both give the same executions, the same rejected lines and the same verdict
    assert (fast.executions, fast.rejected, fast.fatal) == (checked.executions, checked.rejected, checked.fatal)
    assert [e.run_id for e in fast.executions] == ["1", "2", "3"]
    assert fast.executions[1].reason == "r" * 4095 + "…"
    assert [r.reason for r in fast.rejected] == [
        "missing required field 'run_id'" if wrap == "lines" else "item 2: missing required field 'run_id'"
    ]
