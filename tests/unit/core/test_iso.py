"""`iso`: epoch milliseconds as RFC 3339 text, UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from failstreak.core.model import iso

# From 1000-01-01 to 9999-12-31: the years RFC 3339's four digits show without padding.
YEARS_1000_TO_9999 = st.integers(-30_610_224_000_000, 253_402_300_799_999)


@given(YEARS_1000_TO_9999)
def test_a_time_is_its_utc_calendar_second_with_a_z(ms: int) -> None:
    # Given any time in the four-digit years; When it is written
    text = iso(ms)
    # Then it is the calendar second it falls in, as strftime writes it, in UTC
    assert text == datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_milliseconds_are_cut_not_rounded_either_side_of_the_epoch() -> None:
    # Given times a millisecond before a second's end, after and before 1970; Then each is in its own second
    assert iso(1_795_000_000_999) == "2026-11-18T11:06:40Z"
    assert iso(-1) == "1969-12-31T23:59:59Z"
    assert iso(0) == "1970-01-01T00:00:00Z"


def test_no_time_is_none_and_an_impossible_one_is_named() -> None:
    # Given no time, and one no calendar shows; Then none, and the raw value named
    assert iso(None) is None
    assert iso(10**20) == "epoch-ms:100000000000000000000"
