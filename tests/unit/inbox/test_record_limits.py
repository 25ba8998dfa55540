"""What a record may hold (docs/configuration.md): the range of `finished_at`, its epoch units, the text bounds.

Each rule holds on both parsing paths: the file-level typed fast path and the record-by-record path.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from failstreak.app.config import parse_config
from failstreak.errors import ConfigError
from failstreak.inbox import records
from failstreak.inbox.intake import parse_file
from failstreak.inbox.records import RecordError, parse_time

NOW = 1_794_996_400_000  # 2026-11-18T10:06:40Z, the pass's clock
LATEST = records.latest_time(NOW)


def _line(**fields: Any) -> bytes:
    return json.dumps({"job": "j", "run_id": 7, "status": "success", "finished_at": NOW, **fields}).encode()


def _parse_both(*lines: bytes) -> list[records.Parsed]:
    data = b"\n".join(lines) + b"\n"
    return [parse_file("f.jsonl", data, latest=LATEST), parse_file("f.jsonl", data, fast=False, latest=LATEST)]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2099-01-01T00:00:00Z", "field 'finished_at': '2099-01-01T00:00:00Z' is after 2026-11-19T10:06:40Z"),
        (4_070_908_800_000, "field 'finished_at': 4070908800000 is after 2026-11-19T10:06:40Z"),
        (2**63 - 1, "field 'finished_at': 9223372036854775807 is too large for epoch seconds, milliseconds"),
        ("0001-01-01T00:00:00+00:01", "field 'finished_at': '0001-01-01T00:00:00+00:01' is before 2000-01-01"),
        ("1999-12-31T23:59:59Z", "field 'finished_at': '1999-12-31T23:59:59Z' is before 2000-01-01T00:00:00Z"),
        (0, "field 'finished_at': 0 is before 2000-01-01T00:00:00Z"),
        (-5, "field 'finished_at': -5 is before 2000-01-01T00:00:00Z"),
    ],
)
def test_a_time_outside_the_range_is_rejected_with_a_reason_naming_the_field(value: Any, reason: str) -> None:
    # Given a good line and a line whose finished_at lies outside 2000-01-01 .. clock + max_clock_skew
    for parsed in _parse_both(_line(run_id=1), _line(finished_at=value)):
        # When the file is parsed; Then the good line is kept and the other rejected, its reason naming the field
        assert [e.run_id for e in parsed.executions] == ["1"]
        assert [r.line for r in parsed.rejected] == [2]
        assert parsed.rejected[0].reason.startswith(reason)


def test_the_bounds_of_the_range_are_included() -> None:
    # Given records at 2000-01-01T00:00:00Z exactly and at the clock plus the skew exactly
    first = _line(run_id=1, finished_at="2000-01-01T00:00:00Z")
    last = _line(run_id=2, finished_at=LATEST)
    # When parsed; Then both are kept
    for parsed in _parse_both(first, last):
        assert [e.finished_at for e in parsed.executions] == [records.EARLIEST_MS, LATEST]


def test_epoch_seconds_milliseconds_and_microseconds_are_told_apart_by_magnitude() -> None:
    # Given the same time as epoch seconds, milliseconds and microseconds
    # When read; Then each gives the same milliseconds
    assert parse_time(NOW // 1000) == parse_time(NOW) == parse_time(NOW * 1000) == NOW


def test_a_success_sent_in_epoch_microseconds_is_not_read_as_a_far_future_time() -> None:
    # Given a record timed in epoch microseconds (once taken as milliseconds: the year 58850)
    for parsed in _parse_both(_line(finished_at=(NOW - 60_000) * 1000)):
        # When parsed; Then it is the time it meant, a minute before the clock
        assert [e.finished_at for e in parsed.executions] == [NOW - 60_000]


def test_max_clock_skew_is_a_duration_in_the_config_and_bounds_the_accepted_times() -> None:
    # Given a config allowing 30 minutes of skew
    cfg = parse_config("max_clock_skew: 30m")
    latest = records.latest_time(NOW, cfg.max_clock_skew_ms)
    # When records 29 and 31 minutes ahead of the clock are parsed with it
    data = _line(run_id=1, finished_at=NOW + 29 * 60_000) + b"\n" + _line(run_id=2, finished_at=NOW + 31 * 60_000)
    parsed = parse_file("f", data, latest=latest)
    # Then only the first is kept; the default is one day
    assert [e.run_id for e in parsed.executions] == ["1"]
    assert parse_config("").max_clock_skew_ms == 86_400_000


@pytest.mark.parametrize("text", ["soon", "1w", "-1d", "366d", ""])
def test_a_max_clock_skew_that_is_not_a_duration_of_at_most_a_year_is_a_config_error(text: str) -> None:
    # Given a max_clock_skew that is no duration, or longer than a year; When the config is read; Then it is refused
    with pytest.raises(ConfigError, match="max_clock_skew"):
        parse_config(f"max_clock_skew: '{text}'")


@pytest.mark.parametrize(
    ("field", "ok", "too_long"),
    [
        ("job", 512, 513),
        ("run_id", 256, 257),
        ("url", 2048, 2049),
        ("commit", 256, 257),
        ("owner", 256, 257),
        ("source", 256, 257),
    ],
)
def test_identifiers_beyond_their_bound_are_rejected_naming_the_field(field: str, ok: int, too_long: int) -> None:
    # Given one record with the field at its bound and one with a character more
    first, second = ({"run_id": 1, field: "x" * ok}, {"run_id": 2, field: "y" * too_long})
    for parsed in _parse_both(_line(**first), _line(**second)):
        # When parsed; Then the first is kept and the second rejected with a reason naming the field and bound
        assert len(parsed.executions) == 1
        assert [r.reason for r in parsed.rejected] == [f"field {field!r}: longer than {ok} characters"]


def test_a_long_reason_is_cut_to_its_bound_with_a_marker() -> None:
    # Given a failure whose reason is longer than 4096 characters
    for parsed in _parse_both(_line(status="failed", reason="é" * 5000)):
        # When parsed; Then the reason is kept, 4096 characters long, its end replaced by …
        (execution,) = parsed.executions
        assert execution.reason == "é" * 4095 + "…"


def test_a_long_run_id_cannot_reach_the_state() -> None:
    # Given ten records with 20 MiB run ids (each once made the state 15 MiB larger)
    lines = [_line(run_id=f"{i}" + "r" * (20 * 1024 * 1024)) for i in range(10)]
    # When parsed; Then none is kept, and each rejection keeps only a sample of the line
    for parsed in _parse_both(*lines):
        assert parsed.executions == []
        assert {r.reason for r in parsed.rejected} == {"field 'run_id': longer than 256 characters"}
        assert max(len(r.raw or "") for r in parsed.rejected) <= records.RAW_SAMPLE


def test_an_out_of_range_time_fails_the_single_record_check_too() -> None:
    # Given a record dated 2099; When validated alone with the pass's bound; Then the error names the field
    with pytest.raises(RecordError, match="field 'finished_at'"):
        records.to_execution(json.loads(_line(finished_at="2099-01-01T00:00:00Z")), latest=LATEST)
