"""Reading one inbox file: as a bounded stream (`read_file`, what a pass does; docs/s3-and-lambda.md, "What a
producer can and cannot do"), or whole from bytes already in memory (`parse_file`). Either way the records are
parsed by `fastpath`, or by the checked parser `records` alone with `fast=False`; the result is the same.

A file is read from a stream in steps of `STEP` bytes. Gzip is recognised by its magic bytes and inflated a step
at a time, never all at once: a small file that inflates to gigabytes costs one step's memory until the
per-file cap stops it. JSON Lines are cut into blocks of whole lines and parsed block by block, so neither a
file's lines nor its decoded records are ever all in memory at once. A JSON array cannot be parsed in parts:
it is read whole, up to `ARRAY_CAP`, and its items parsed in batches.

Rejected lines: the first `room` of them (the caller's share of the pass's bound) are kept for the quarantine,
the rest only counted; a file with more rejected lines than that is then kept whole in quarantine, so that no
rejected line is ever lost (see `Done.unlisted`).
"""

from __future__ import annotations

import gzip
import io
import itertools
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import msgspec
import orjson

from failstreak.core.model import Execution, Rejected, Status, now_ms
from failstreak.gzipped import inflate
from failstreak.inbox import fastpath, records
from failstreak.inbox.base import MIB, Rejoined
from failstreak.inbox.records import ALL_STATUSES, Parsed, latest_time, no_valid_record

STEP = 256 * 1024  # bytes read (or inflated) at once; a block of lines is at most a step plus one line
MAX_LINE = MIB  # a longer line is rejected unread: no record needs it, and it would have to sit in memory whole
ARRAY_CAP = 8 * MIB  # a JSON array is read whole: beyond this, JSON Lines (which stream) are required
ARRAY_BATCH = 4096  # items of an array parsed at once
RAW_SAMPLE = 300
_GZIP = b"\x1f\x8b"
_SPACE = b" \t\r\n"
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


class TooLarge(Exception):
    """The file holds more than `limit` bytes once decompressed (or, with `records`, more than `limit` records)."""

    def __init__(self, limit: int, array: bool = False, records: bool = False) -> None:
        super().__init__(limit)
        self.limit = limit
        self.array = array
        self.records = records


@dataclass(slots=True)
class FileRead:
    """What one inbox file holds: its executions, its rejected lines (the first `len(rejected)` of
    `rejected_total`), and `fatal` when the file as a whole is to be quarantined with that reason."""

    executions: list[Execution] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    rejected_total: int = 0
    first_reason: str | None = None  # of the first rejected line, kept or not
    fatal: str | None = None
    size: int = 0


class _Unreadable(Exception):
    """The file's bytes cannot be read as what they claim to be (a damaged gzip stream)."""


def _chunks(stream: BinaryIO, cap: int, step: int) -> Iterator[bytes]:
    """The file's bytes, inflated if they are gzip, in steps; `TooLarge` once more than `cap` came."""
    head = stream.read(step)
    while 0 < len(head) < len(_GZIP):  # a stream may answer with fewer bytes than asked: enough to tell gzip
        more = stream.read(step)
        if not more:
            break
        head += more
    read = stream.read
    zipped = head[:2] == _GZIP
    if zipped:
        # GzipFile inflates at most what is asked of it per read, and handles members and padding as gzip does.
        read = gzip.GzipFile(fileobj=io.BufferedReader(Rejoined(head, stream)), mode="rb").read
        head = b""
    total = 0
    while True:
        if head:
            data, head = head, b""
        else:
            try:
                data = read(step)
            except (OSError, EOFError, zlib.error) as e:
                if not zipped:
                    raise  # an error of the store's reading, not of gzip: the pass decides what it means
                raise _Unreadable(f"not a readable gzip file ({e})") from None
        if not data:
            return
        total += len(data)
        if total > cap:
            raise TooLarge(cap)
        yield data


def parse_file(
    name: str,
    data: bytes,
    *,
    fast: bool = True,
    details: Collection[Status] | None = None,
    latest: int | None = None,
) -> Parsed:
    """Parse one inbox file's bytes, whole and in memory, into executions and rejections (`read_file` reads a
    stream within bounds; this is the same parsing, for a file already read).

    `details`: the statuses whose executions keep their `url`, `commit` and `reason`; the others come without
    them (None: all keep them). A pass gives the statuses some policy counts as failures, the only runs the
    engine remembers with them: a large inbox's links and commits then never all sit in memory at once.
    `latest`: the latest `finished_at` accepted, from the pass's one clock (`records.latest_time`); None: now
    plus the default `max_clock_skew`. `fast=False` parses with the checked parser (`records`) alone; the result
    is the same either way (`fastpath` only takes what it reads exactly as `records` does).
    """
    keep = _keep(details)
    latest = _latest(latest)
    out = Parsed()
    if data[:2] == _GZIP:
        try:
            data = inflate(data)
        except (OSError, EOFError, zlib.error) as e:
            out.fatal = f"not a readable gzip file ({e})"
            return out
    body = data.lstrip()
    if not body:
        out.fatal = "empty file: no records"
        return out
    if body[:1] == b"[":
        (fastpath.parse_array if fast else records.parse_array)(name, body, out, keep, latest)
    else:
        (fastpath.parse_lines if fast else records.parse_lines)(name, data, out, keep, latest)
    if not out.executions and out.rejected and out.fatal is None:
        out.fatal = no_valid_record(len(out.rejected), out.rejected[0].reason)
    return out


def _keep(details: Collection[Status] | None) -> frozenset[Status]:
    return ALL_STATUSES if details is None else frozenset(details)


def _latest(latest: int | None) -> int:
    return latest_time(now_ms()) if latest is None else latest


@dataclass(slots=True)
class _Reading:
    """One file being read: how its blocks are parsed, its bounds, and where what they hold goes."""

    name: str
    keep: frozenset[Status]
    latest: int
    fast: bool
    room: int  # rejected lines to keep; the others are only counted
    max_records: int | None
    got: FileRead = field(default_factory=FileRead)
    # Every execution parsed so far, and the rejected lines of the blocks not drained into `got` yet.
    out: Parsed = field(default_factory=Parsed)

    def lines(self, block: bytes, first_line: int) -> None:
        """Parse a block of whole lines whose first line is number `first_line` of the file."""
        if self.fast:
            fastpath.parse_lines(self.name, block, self.out, self.keep, self.latest, first_line=first_line)
        else:
            records.parse_lines(self.name, block, self.out, self.keep, self.latest, first_line=first_line)

    def array(self, body: bytes, first_item: int = 1, *, checked: bool = False) -> None:
        """Parse a JSON array whose first item is number `first_item` of the file (`checked`: by `records`)."""
        if self.fast and not checked:
            fastpath.parse_array(self.name, body, self.out, self.keep, self.latest, first_item=first_item)
        else:
            records.parse_array(self.name, body, self.out, self.keep, self.latest, first_item=first_item)

    def drain(self) -> None:
        """Move the parsed blocks' rejected lines to `got`: kept while there is room, else only counted; and stop
        at the bound on records (checked after each block: a block adds at most a step's worth)."""
        out, got = self.out, self.got
        if self.max_records is not None and len(out.executions) > self.max_records:
            raise TooLarge(self.max_records, records=True)
        rejected = out.rejected
        if not rejected:
            return
        if got.first_reason is None:
            got.first_reason = rejected[0].reason
        free = self.room - len(got.rejected)
        if free > 0:
            got.rejected.extend(rejected[:free])
        got.rejected_total += len(rejected)
        rejected.clear()


def read_file(
    name: str,
    stream: BinaryIO,
    *,
    cap: int,
    room: int,
    max_records: int | None = None,
    details: Collection[Status] | None = None,
    latest: int | None = None,
    fast: bool = True,
    step: int = STEP,
) -> FileRead:
    """Parse one inbox file from `stream`. Raises `TooLarge` beyond `cap` decompressed bytes or `max_records`
    records; any other problem of the file's content is its `fatal` reason or its rejected lines. `room`: how
    many rejected lines to keep.
    `details`, `latest` and `fast` as for `parse_file`, whose result this is, read `step` bytes at a time."""
    reading = _Reading(name, _keep(details), _latest(latest), fast, room, max_records)
    got = reading.got
    chunks = _chunks(stream, cap, step)
    try:
        first = b""
        blank_lines = 0  # lines of the blank steps before the first text
        for data in chunks:
            got.size += len(data)
            first = data.lstrip(_SPACE)
            if first:
                break
            blank_lines += data.count(b"\n")
        if not first:
            got.fatal = "empty file: no records"
            return got
        if first[:1] == b"[":
            lead = data[: len(data) - len(first)].count(b"\n")
            _read_array(reading, first, chunks, 1 + blank_lines + lead)
        else:
            _read_lines(reading, data, chunks, 1 + blank_lines)
    except _Unreadable as e:
        got.fatal = str(e)
        return got
    got.executions = reading.out.executions
    if not got.executions and got.rejected_total:
        got.fatal = no_valid_record(got.rejected_total, got.first_reason or "")
    return got


def _sample(raw: bytes) -> str:
    return raw[:RAW_SAMPLE].decode("utf-8", errors="replace")


def _read_lines(
    reading: _Reading,
    data: bytes,
    chunks: Iterator[bytes],
    line: int = 1,  # the number of the first line not parsed yet
) -> None:
    carry = b""  # the start of that line, when it began in an earlier step
    skipping = False  # inside a line too long to keep, until its end

    def too_long(start: bytes) -> None:
        reason = f"line longer than {MAX_LINE // MIB} MiB: not read"
        reading.out.rejected.append(Rejected(reading.name, line, reason, _sample(start)))

    while True:
        if skipping:
            cut = data.find(b"\n")
            if cut < 0:
                data = b""
            else:
                skipping = False
                line += 1
                data = data[cut + 1 :]
        if data and not skipping:
            buffer = carry + data if carry else data
            carry = b""
            cut = buffer.rfind(b"\n")
            if cut < 0:
                if len(buffer) > MAX_LINE:
                    too_long(buffer)
                    skipping = True
                else:
                    carry = buffer
            else:
                start = buffer.find(b"\n")
                if start > MAX_LINE:
                    # Only the first line of a block can be this long: the others lie within one step.
                    too_long(buffer)
                    line += 1
                    buffer = buffer[start + 1 :]
                    cut -= start + 1
                if cut >= 0:
                    reading.lines(buffer[: cut + 1], line)
                    line += buffer.count(b"\n", 0, cut + 1)
                carry = buffer[cut + 1 :]
            reading.drain()
        data = next(chunks, b"")
        if not data:
            break
        reading.got.size += len(data)
    if carry.strip(_SPACE):
        reading.lines(carry, line)
    reading.drain()


def _read_array(
    reading: _Reading,
    first: bytes,
    chunks: Iterator[bytes],
    line: int,  # the number of the line `first` starts on
) -> None:
    got = reading.got
    body = bytearray(first)
    for data in chunks:
        if len(body) + len(data) > ARRAY_CAP:
            if not _first_line_whole(body):
                raise TooLarge(ARRAY_CAP, array=True)
            # JSON Lines whose first line is an array: read as a stream like any other (`data` is counted there).
            _read_lines(reading, bytes(body), itertools.chain((data,), chunks), line)
            return
        got.size += len(data)
        body += data
    try:
        items = _ITEMS.decode(body)
    except (msgspec.DecodeError, RecursionError) as e:
        if b"\n" in body.rstrip(_SPACE):
            # Not one array, and more than one line: JSON Lines whose first line is an array (a bad record, or
            # one nested too deeply to read), read line by line like any other, so that its good lines count.
            _read_lines(reading, bytes(body), iter(()), line)
        elif isinstance(e, RecursionError):
            got.fatal = "not valid JSON: nested too deeply"
        else:
            reading.array(bytes(body), checked=True)  # the checked path names what is wrong
            got.fatal = reading.out.fatal or f"not valid JSON: {e}"
        return
    for start in range(0, len(items), ARRAY_BATCH):
        batch = b"[" + b",".join(items[start : start + ARRAY_BATCH]) + b"]"
        reading.array(batch, start + 1)
        reading.drain()
        if reading.out.fatal is not None:
            got.fatal = reading.out.fatal
            return


def _first_line_whole(body: bytearray) -> bool:
    """Whether the first line of `body` is a JSON value by itself (then the file is JSON Lines, not one array)."""
    end = body.find(b"\n")
    if end < 0:
        return False
    try:
        orjson.loads(bytes(body[:end]))
    except (orjson.JSONDecodeError, RecursionError):
        return False
    return True


def too_large_reason(e: TooLarge) -> str:
    """The quarantine reason of a file beyond its cap: how to split it."""
    if e.records:
        return (
            f"more than {e.limit:,} records (the per-pass bound, inbox_max_records): split it into several files, "
            "each under the bound"
        )
    if e.array:
        return (
            f"a JSON array larger than {e.limit // MIB} MiB: it must be read whole, so write the records as JSON Lines "
            "(one object per line, any size up to the per-file cap) or split the array into several files"
        )
    return (
        f"larger than {e.limit / MIB:g} MiB once decompressed (the per-file cap, inbox_file_max_mib): split it into "
        "several files, each under the cap"
    )
