"""`failstreak.gzipped.inflate`: gzip data of any number of members, read whole, in linear time and within a bound."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failstreak.gzipped import InflatedTooLarge, inflate

STEP = 64 * 1024


@given(
    st.lists(st.binary(max_size=3 * STEP), min_size=1, max_size=6),
    st.lists(st.integers(min_value=0, max_value=3), min_size=6, max_size=6),
)
def test_members_and_zero_padding_inflate_as_gzip_reads_them(parts: list[bytes], padding: list[int]) -> None:
    # Given members of any size (some spanning several steps), with zero bytes between and after some of them
    data = b"".join(gzip.compress(p, compresslevel=1) + b"\x00" * pad for p, pad in zip(parts, padding, strict=False))
    # When inflated; Then the result is what the standard library's reader gives: every member, joined
    assert inflate(data) == gzip.decompress(data) == b"".join(parts)


def test_a_document_of_many_small_members_is_read_whole() -> None:
    # Given 20,000 members of one line each (the state is one member per slice of jobs)
    lines = [b'{"n": %d}\n' % i for i in range(20_000)]
    data = b"".join(gzip.compress(line, compresslevel=1) for line in lines)
    # When inflated; Then every member comes, in order
    assert inflate(data) == b"".join(lines)


def test_a_member_cut_short_is_an_eof_error() -> None:
    # Given two members, the second cut in its middle; When inflated; Then EOFError says the data ended early
    data = gzip.compress(b"first\n") + gzip.compress(b"second line, cut short\n" * 50)[:-20]
    with pytest.raises(EOFError, match="ended before the end-of-stream marker"):
        inflate(data)


@pytest.mark.parametrize("tail", [b"trailing junk", b"\x1f\x8c not gzip"])
def test_bytes_after_a_member_that_are_not_gzip_are_an_error(tail: bytes) -> None:
    # Given a member followed by bytes that are not a gzip member; When inflated; Then gzip's own error
    with pytest.raises(gzip.BadGzipFile, match="Not a gzipped file"):
        inflate(gzip.compress(b"ok\n") + tail)


def test_data_that_is_not_gzip_at_all_is_an_error() -> None:
    # Given bytes that are not gzip, or a damaged member; When inflated; Then an error says which
    with pytest.raises(gzip.BadGzipFile, match="Not a gzipped file"):
        inflate(b'{"job": "not gzip"}\n')
    damaged = bytearray(gzip.compress(b"hello\n" * 100))
    damaged[-8] ^= 0xFF  # the CRC
    with pytest.raises(gzip.BadGzipFile, match="CRC check failed"):
        inflate(bytes(damaged))


def test_a_bomb_stops_at_the_bound_with_the_bound_named() -> None:
    # Given 64 MiB of zeros compressed to a few tens of KiB
    data = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=9)
    assert len(data) < 100 * 1024
    # When inflated under a 1 MiB bound; Then it stops there, naming the bound
    with pytest.raises(InflatedTooLarge, match="more than 1,048,576 bytes once decompressed"):
        inflate(data, 1024 * 1024)


def test_data_exactly_at_the_bound_is_read() -> None:
    # Given two members that together inflate to exactly the bound; When inflated under it; Then all of it comes
    data = gzip.compress(b"a" * 1000) + gzip.compress(b"b" * 24)
    assert inflate(data, 1024) == b"a" * 1000 + b"b" * 24
    with pytest.raises(InflatedTooLarge):
        inflate(data, 1023)
