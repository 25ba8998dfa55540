"""The state document: `State` to JSON bytes and back (format and version plan in docs/state.md).

Every stored type is a msgspec struct (`failstreak.core.model`), and so is the document itself, once per version
it can read: the document is decoded and encoded by msgspec in C, straight between JSON and the model's types,
with no intermediate dicts, and every stored value's shape is checked as it is decoded. A document of the wrong
shape is refused whole (`StateCorrupt`), so no command ever rewrites it. Documents larger than `COMPRESS_ABOVE`
are written gzip-compressed; either form is read (detected by the gzip magic bytes).

A pass always writes version `VERSION`. An older version is decoded with its own struct and brought forward by
one small function per version (`_v1_to_v2`, `_v2_to_v3`, ...), so the next save rewrites it in the current
version; a newer one is refused in one line naming the versions this release reads.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple

import msgspec

from failstreak.core.categories import CategoryWatch
from failstreak.core.model import DeadLetter, JobState, Mute, OutboxEntry, State
from failstreak.errors import StateCorrupt

VERSION = 7
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7)


class _Document(msgspec.Struct, tag_field="version", tag=VERSION):
    """The document (version 7), as written and as read. `version` is written first, as the tag. Every field
    is written, even when empty (`encode_document` places the jobs between the brackets of `"jobs":[]`)."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)
    digest_day: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] | None = None


class _StoredV6(msgspec.Struct, tag_field="version", tag=6):
    """Version 6 as read: no `digest_day` (no daily digest was ever enqueued)."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)


class _StoredV5(msgspec.Struct, tag_field="version", tag=5):
    """Version 5 as read: it holds the mutes written by `failstreak mute` (`mutes`), which version 6 keeps in
    the mutes document."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)


class _StoredV4(msgspec.Struct, tag_field="version", tag=4):
    """Version 4 as read: its jobs have no closed incidents (`JobState.incidents`)."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)


class _StoredV3(msgspec.Struct, tag_field="version", tag=3):
    """Version 3 as read: rows of seven elements (no failure category), no learned cadences, no `categories`."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}


class _StoredV2(msgspec.Struct, tag_field="version", tag=2):
    """Version 2 as read: the config file's mutes dated in `cursors._config_mutes`."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}


class _StoredV1(msgspec.Struct, tag_field="version", tag=1):
    """Version 1 as read: `jobs` a map from name to job."""

    updated_at: int | None = None
    passes: int = 0
    jobs: dict[str, JobState] = {}
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}


_DECODER = msgspec.json.Decoder(_Document | _StoredV6 | _StoredV5 | _StoredV4 | _StoredV3 | _StoredV2 | _StoredV1)
_ENCODER = msgspec.json.Encoder()
# Where versions 1 and 2 kept the config file's mutes' first-seen dates, among the sources' cursors.
V2_CONFIG_MUTES_CURSOR = "_config_mutes"


def _v1_to_v2(doc: _StoredV1) -> _StoredV2:
    """Version 1 listed jobs in a map by name; version 2 lists them, each carrying its name."""
    for name, job in doc.jobs.items():
        job.name = name
    return _StoredV2(
        doc.updated_at, doc.passes, list(doc.jobs.values()), doc.outbox, doc.mutes, doc.dead_letters, doc.cursors
    )


def _v2_to_v3(doc: _StoredV2) -> _StoredV3:
    """Version 2 kept the config mutes' first-seen dates as the cursor `_config_mutes`; version 3 has its own field."""
    cursors = dict(doc.cursors)
    first_seen = cursors.pop(V2_CONFIG_MUTES_CURSOR, {})
    for key, value in first_seen.items():
        if type(value) is not int:
            raise ValueError(f"cursors.{V2_CONFIG_MUTES_CURSOR}.{key}: expected an integer time, got {value!r:.40}")
    return _StoredV3(doc.updated_at, doc.passes, doc.jobs, doc.outbox, doc.mutes, first_seen, doc.dead_letters, cursors)


def _v3_to_v4(doc: _StoredV3) -> _StoredV4:
    """Version 3's runs have no failure category: its rows read as rows whose failures are `code` (the eighth
    element, `category`, defaults to null), its jobs have learned no cadence, and the estate's category watch
    starts empty (docs/triage.md)."""
    return _StoredV4(
        doc.updated_at, doc.passes, doc.jobs, doc.outbox, doc.mutes, doc.config_mutes, doc.dead_letters, doc.cursors
    )


def _v4_to_v5(doc: _StoredV4) -> _StoredV5:
    """Version 5 adds each job's closed incidents (`incidents`, none for a job version 4 stored)."""
    return _StoredV5(
        doc.updated_at,
        doc.passes,
        doc.jobs,
        doc.outbox,
        doc.mutes,
        doc.config_mutes,
        doc.dead_letters,
        doc.cursors,
        doc.categories,
    )


def _v5_to_v6(doc: _StoredV5) -> tuple[_StoredV6, list[Mute]]:
    """Version 6 keeps no mutes: the state's are handed on, to be moved into the mutes document (docs/state.md,
    "Moving the mutes") before the state is saved without them."""
    return _StoredV6(
        doc.updated_at,
        doc.passes,
        doc.jobs,
        doc.outbox,
        doc.config_mutes,
        doc.dead_letters,
        doc.cursors,
        doc.categories,
    ), doc.mutes


def _v6_to_v7(doc: _StoredV6) -> _Document:
    """Version 7 adds the local date of the last daily digests (`digest_day`; none yet: docs/digest.md)."""
    return _Document(
        doc.updated_at,
        doc.passes,
        doc.jobs,
        doc.outbox,
        doc.config_mutes,
        doc.dead_letters,
        doc.cursors,
        doc.categories,
    )


def _current(
    doc: _Document | _StoredV6 | _StoredV5 | _StoredV4 | _StoredV3 | _StoredV2 | _StoredV1,
) -> tuple[_Document, list[Mute]]:
    """Any readable version, brought forward one version at a time to the current one; and the mutes an older
    version held, to be moved to the mutes document."""
    if isinstance(doc, _StoredV1):
        doc = _v1_to_v2(doc)
    if isinstance(doc, _StoredV2):
        doc = _v2_to_v3(doc)
    if isinstance(doc, _StoredV3):
        doc = _v3_to_v4(doc)
    if isinstance(doc, _StoredV4):
        doc = _v4_to_v5(doc)
    moved: list[Mute] = []
    if isinstance(doc, _StoredV5):
        doc, moved = _v5_to_v6(doc)
    if isinstance(doc, _StoredV6):
        doc = _v6_to_v7(doc)
    return doc, moved


# Documents larger than this are written gzip-compressed (decode detects either); smaller ones stay plain JSON
# that a person can read. Level 1: most of the size gain for a fraction of the time of the default level.
COMPRESS_ABOVE = 128 * 1024
GZIP_LEVEL = 1
# Jobs are encoded and compressed this many at a time, each slice its own gzip member, which a save reuses
# when none of its jobs changed. Small enough that a pass touching 1 % of the jobs leaves about half the
# members as they were; large enough that gzip still compresses well (100k jobs: 11.3 MiB, against 10.5 MiB in
# slices of 2,048: docs/performance.md).
JOBS_PER_MEMBER = 64


def compress(body: bytes) -> bytes:
    """gzip `body` the way `encode` does (the benchmark's floor uses the same)."""
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return z.compress(body) + z.flush()


@dataclass(frozen=True, slots=True)
class Encoded:
    """A state document as written, and what writing it again after a few changed jobs can reuse.

    A compressed document is a sequence of gzip members (a valid gzip file: readers decompress every member):
    the head, one member per slice of `JOBS_PER_MEMBER` jobs, the tail. `members` holds the jobs' members.
    `digests` and `sizes`, when known (a document as `decode_document` read it), hold the SHA-256 and the length
    of each member's JSON, so that a save reuses a member whose jobs encode to the same bytes, whoever changed
    what (docs/performance.md).
    """

    body: bytes
    names: tuple[str, ...]
    members: tuple[bytes, ...] | None
    digests: tuple[bytes, ...] | None = None
    sizes: tuple[int, ...] = ()


def encode(state: State, compress_above: float = COMPRESS_ABOVE) -> bytes:
    """Serialise the state document: compact JSON, gzip-compressed when larger than `compress_above` bytes.

    Raises ValueError if a job is filed under another name than its own (a programming error: the stored
    document lists jobs by their `name`).
    """
    return encode_document(state, compress_above).body


def encode_document(
    state: State,
    compress_above: float = COMPRESS_ABOVE,
    since: Encoded | None = None,
    changed: Collection[str] = (),
) -> Encoded:
    """`encode`, keeping what a later call can reuse; with `since`, reuse its jobs except those in `changed`.

    `since` must be this state's previous encoding, and `changed` every job modified since: a job outside it
    is written as it was then. (After its first save, a pass only records delivery results: the outbox, the
    dead letters and the thread references of the jobs it announced, which `outbox.apply_results` names.)
    When `since` has digests (the document as read), `changed` is not needed: each slice of jobs is encoded,
    and a slice whose JSON has the digest of `since`'s member at its place reuses that member (no gzip).
    The bytes are always those a fresh `encode` of the state gives, once decompressed.
    """
    jobs = state.jobs
    for name, job in jobs.items():
        if job.name != name:
            raise ValueError(f"job {job.name!r} is filed under {name!r} in the state")
    frame = _ENCODER.encode(
        _Document(
            updated_at=state.updated_at,
            passes=state.passes,
            outbox=state.outbox,
            config_mutes=state.config_mutes,
            dead_letters=state.dead_letters,
            cursors=state.cursors,
            categories=state.categories,
            digest_day=state.digest_day,
        )
    )
    # The jobs go between the brackets of the empty list; nothing before it can contain this text.
    at = frame.index(b'"jobs":[]') + len(b'"jobs":[')
    head, tail = frame[:at], frame[at:]
    names = tuple(jobs)
    if since is not None and since.digests is not None and since.members is not None:
        again = _encode_jobs_against(list(jobs.values()), since.members, since.digests, since.sizes)
        return Encoded(b"".join([compress(head), *again, compress(tail)]), names, tuple(again))
    reusable = since.members if since is not None and since.names == names else None
    pieces, members = _encode_jobs(list(jobs.values()), names, len(frame), compress_above, reusable, changed)
    if members is None:
        return Encoded(head + b"".join(pieces) + tail, names, None)
    return Encoded(b"".join([compress(head), *members, compress(tail)]), names, tuple(members))


def _encode_jobs(
    values: list[JobState],
    names: tuple[str, ...],
    size: int,
    compress_above: float,
    reusable: tuple[bytes, ...] | None,
    changed: Collection[str],
) -> tuple[list[bytes], list[bytes] | None]:
    """The jobs' JSON, `JOBS_PER_MEMBER` at a time: plain pieces while the document (`size` so far) stays small,
    else (members, one gzip member per slice, reusing `reusable`'s for slices with no job in `changed`)."""
    touched = set(changed) if reusable is not None else set()
    members: list[bytes] | None = [] if reusable is not None else None
    pieces: list[bytes] = []
    for index, start in enumerate(range(0, len(values), JOBS_PER_MEMBER)):
        if reusable is not None and members is not None and touched.isdisjoint(names[start : start + JOBS_PER_MEMBER]):
            members.append(reusable[index])
            continue
        piece = _ENCODER.encode(values[start : start + JOBS_PER_MEMBER])[1:-1]
        if start:
            piece = b"," + piece
        size += len(piece)
        if members is None and size > compress_above:
            members = [compress(p) for p in pieces]
            pieces = []
        if members is not None:
            members.append(compress(piece))
        else:
            pieces.append(piece)
    if members is None and size > compress_above:  # no job, and a large outbox or cursors
        members = [compress(p) for p in pieces]
    return pieces, members


def _encode_jobs_against(
    values: list[JobState], members: tuple[bytes, ...], digests: tuple[bytes, ...], sizes: tuple[int, ...]
) -> list[bytes]:
    """The jobs' gzip members, `JOBS_PER_MEMBER` at a time, reusing `members[i]` where the slice's JSON has
    `sizes[i]` bytes and `digests[i]` (the same bytes: the member decompresses to them). A slice of another
    length is not hashed: on a pass that brings runs to most slices, this costs nearly nothing."""
    out: list[bytes] = []
    for index, start in enumerate(range(0, len(values), JOBS_PER_MEMBER)):
        piece = _ENCODER.encode(values[start : start + JOBS_PER_MEMBER])[1:-1]
        if start:
            piece = b"," + piece
        if index < len(digests) and len(piece) == sizes[index] and hashlib.sha256(piece).digest() == digests[index]:
            out.append(members[index])
        else:
            out.append(compress(piece))
    return out


class _Members(NamedTuple):
    """A gzip document read member by member: its JSON text whole, and each member as stored, with the length
    and SHA-256 of its JSON."""

    text: bytearray
    stored: list[bytes]
    sizes: list[int]
    digests: list[bytes]


def _inflated(data: bytes) -> Iterator[tuple[int, int, list[bytes]]]:
    """Each gzip member of `data`: where it starts and ends, and its text in the pieces it was inflated in.
    Raises ValueError if `data` is not a clean sequence of members, zlib.error if one is damaged."""
    view = memoryview(data)
    start = 0
    while start < len(data):
        d = zlib.decompressobj(31)
        parts: list[bytes] = []
        pos = start
        while not d.eof and pos < len(data):
            chunk = view[pos : pos + _SPLIT_CHUNK]
            parts.append(d.decompress(chunk))
            pos += len(chunk)
        if not d.eof:
            raise ValueError("a gzip member is cut short")
        end = pos - len(d.unused_data)
        yield start, end, parts
        start = end


def _split_members(data: bytes) -> _Members | None:
    """A gzip document's members; None if it is not a clean sequence of members (then `decode` reads it as a
    whole, and reports what is wrong with it). The text grows in one buffer, never held twice."""
    out = _Members(bytearray(), [], [], [])
    try:
        for start, end, parts in _inflated(data):
            digest = hashlib.sha256()
            for part in parts:
                out.text.extend(part)
                digest.update(part)
            out.stored.append(data[start:end])
            out.sizes.append(sum(map(len, parts)))
            out.digests.append(digest.digest())
    except (ValueError, zlib.error):
        return None
    return out


# Members are fed to zlib in steps of this many stored bytes: about two steps per member of 64 jobs, so that
# what zlib reads past a member's end (and copies back) stays small.
_SPLIT_CHUNK = 16 * 1024


def decode_document(data: bytes | None, location: str = "state") -> tuple[State, Encoded | None]:
    """`decode`, and the document as stored in the form a save can reuse (`encode_document`'s `since`): its
    jobs' gzip members, with their JSON's lengths and digests. None when there is nothing to reuse (no document,
    a plain one, or one not written a slice of jobs per member). Raises StateCorrupt."""
    if data is None or data[:2] != b"\x1f\x8b":
        return decode(data, location), None
    split = _split_members(data)
    if split is None or len(split.stored) < 3:
        return decode(data, location), None
    state = _parse(split.text, location)
    jobs = slice(1, -1)  # the head and the tail are written afresh each time
    return state, Encoded(
        data, tuple(state.jobs), tuple(split.stored[jobs]), tuple(split.digests[jobs]), tuple(split.sizes[jobs])
    )


def decode(data: bytes | None, location: str = "state") -> State:
    """Parse a state document (any of `READABLE_VERSIONS`); None (no document yet) gives an empty state.
    Raises StateCorrupt."""
    if data is None:
        return State()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise StateCorrupt(f"{location}: state is not readable gzip ({e}); left untouched") from None
    return _parse(data, location)


def _parse(data: bytes | bytearray, location: str) -> State:
    """The state from the document's JSON text. Raises StateCorrupt."""
    try:
        stored = _DECODER.decode(data)
    except msgspec.DecodeError as e:
        raise StateCorrupt(_diagnose(data, location, e)) from None
    del data  # the caller may hold the stored (compressed) bytes; the text is not needed any more
    try:
        doc, moved = _current(stored)
        return State(
            jobs=_jobs(doc.jobs),
            outbox=doc.outbox,
            moved_mutes=moved,
            dead_letters=doc.dead_letters,
            cursors=doc.cursors,
            config_mutes=doc.config_mutes,
            updated_at=doc.updated_at,
            passes=doc.passes,
            categories=doc.categories,
            digest_day=doc.digest_day,
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise StateCorrupt(
            f"{location}: state document is malformed ({type(e).__name__}: {e}); left untouched"
        ) from None


def _jobs(listed: list[JobState]) -> dict[str, JobState]:
    jobs = {job.name: job for job in listed}
    if len(jobs) != len(listed) or "" in jobs:
        unnamed = sum(1 for job in listed if not job.name)
        raise ValueError(
            f"{unnamed} job(s) without a name" if unnamed else f"{len(listed) - len(jobs)} job(s) listed twice"
        )
    return jobs


def _diagnose(data: bytes | bytearray, location: str, error: msgspec.DecodeError) -> str:
    """Why a document did not decode, in the terms of the format (only runs for a document that is refused)."""
    if not isinstance(error, msgspec.ValidationError):
        return f"{location}: state is not valid JSON ({error}); left untouched"
    try:
        head = msgspec.json.decode(data, type=dict[str, Any])
    except msgspec.DecodeError:
        head = None
    if head is None or "version" not in head:
        return f"{location}: not a failstreak state document (no 'version'); left untouched"
    if head["version"] not in READABLE_VERSIONS:
        return (
            f"{location}: state version {head['version']!r} is not supported by this failstreak "
            f"(reads {', '.join(map(str, READABLE_VERSIONS))}); left untouched"
        )
    return f"{location}: state document is malformed ({error}); left untouched"
