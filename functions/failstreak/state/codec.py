"""The state document: `State` to JSON bytes and back (format documented in docs/state.md).

Jobs, their alerts and their remembered runs are msgspec structs (`failstreak.core.model`): the bulk of the document
(one row per job and remembered run) is decoded and encoded by msgspec in C, straight between JSON and the
model's types, with no intermediate dicts. The small rest (outbox, mutes, dead letters, cursors) is written from
plain dicts, and read typed: every stored value's shape is checked as it is decoded, and a document of the wrong
shape is refused whole (`StateCorrupt`), so no command ever rewrites it. Documents larger than `COMPRESS_ABOVE`
are written gzip-compressed; either form is read (detected by the gzip magic bytes).

Version 3 adds each failed run's category (an eighth element of its row), each job's learned cadence and the
estate-wide category watch (docs/triage.md); version 2 stores `jobs` as a list of job objects, each with its
`name`; version 1 (a map from name to job, runs with trailing nulls dropped) is still read. A pass always writes
version 3.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec

from failstreak.core.categories import CategoryWatch
from failstreak.core.model import JobState, Mute, OutboxEntry, State
from failstreak.errors import StateCorrupt

VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


class _Document(msgspec.Struct, tag_field="version", tag=VERSION):
    """The document as written (version 3). `version` is written first, as the tag."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[dict[str, Any]] = []
    mutes: list[dict[str, Any]] = []
    dead_letters: list[dict[str, Any]] = []
    cursors: dict[str, Any] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)


class _Stored(msgspec.Struct, tag_field="version", tag=VERSION):
    """The document as read (version 3): every part typed, so that msgspec checks each stored value's shape in C
    as it decodes (a mute whose `match` is a number, cursors that are not objects) and a document of the wrong
    shape is refused whole, before anything reads it."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    dead_letters: list[dict[str, Any]] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)


class _StoredV2(msgspec.Struct, tag_field="version", tag=2):
    """Version 2 as read: the rows of its runs have seven elements (no category), and it has no `categories`."""

    updated_at: int | None = None
    passes: int = 0
    jobs: list[JobState] = []
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    dead_letters: list[dict[str, Any]] = []
    cursors: dict[str, dict[str, Any]] = {}


class _StoredV1(msgspec.Struct, tag_field="version", tag=1):
    """Version 1 as read."""

    updated_at: int | None = None
    passes: int = 0
    jobs: dict[str, JobState] = {}
    outbox: list[OutboxEntry] = []
    mutes: list[Mute] = []
    dead_letters: list[dict[str, Any]] = []
    cursors: dict[str, dict[str, Any]] = {}


_DECODER = msgspec.json.Decoder(_Stored | _StoredV2 | _StoredV1)
# The one cursor the pass itself keeps: the config file's mutes, by id, with the time a pass first saw each.
CONFIG_MUTES_CURSOR = "_config_mutes"
_ENCODER = msgspec.json.Encoder()


def _mute_to_dict(m: Mute) -> dict[str, Any]:
    d: dict[str, Any] = {"id": m.id, "match": m.match, "created_at": m.created_at}
    for name in ("until", "runs", "reason"):
        value = getattr(m, name)
        if value is not None:
            d[name] = value
    if m.until_success:
        d["until_success"] = True
    return d


def _outbox_to_dict(e: OutboxEntry) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": e.id,
        "destination": e.destination,
        "notification": e.notification.to_dict(),
    }
    if e.attempts:
        d["attempts"] = e.attempts
    if e.last_error:
        d["last_error"] = e.last_error
    if e.lease_owner:
        d["lease_owner"] = e.lease_owner
        d["lease_until"] = e.lease_until
    return d


# Documents larger than this are written gzip-compressed (decode detects either); smaller ones stay plain JSON
# that a person can read. Level 1: most of the size gain for a fraction of the time of the default level.
COMPRESS_ABOVE = 128 * 1024
GZIP_LEVEL = 1
# Jobs are encoded and compressed this many at a time, each slice its own gzip member.
JOBS_PER_MEMBER = 2048


def compress(body: bytes) -> bytes:
    """gzip `body` the way `encode` does (the benchmark's floor uses the same)."""
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return z.compress(body) + z.flush()


@dataclass(frozen=True, slots=True)
class Encoded:
    """A state document as written, and what writing it again after a few changed jobs can reuse.

    A compressed document is a sequence of gzip members (a valid gzip file: readers decompress every member):
    the head, one member per slice of `JOBS_PER_MEMBER` jobs, the tail. `members` holds the jobs' members.
    """

    body: bytes
    names: tuple[str, ...]
    members: tuple[bytes, ...] | None


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
            outbox=[_outbox_to_dict(e) for e in state.outbox],
            mutes=[_mute_to_dict(m) for m in state.mutes],
            dead_letters=state.dead_letters,
            cursors=state.cursors,
            categories=state.categories,
        )
    )
    # The jobs go between the brackets of the empty list; nothing before it can contain this text.
    at = frame.index(b'"jobs":[]') + len(b'"jobs":[')
    head, tail = frame[:at], frame[at:]
    names = tuple(jobs)
    values = list(jobs.values())
    reusable = since.members if since is not None and since.names == names else None
    touched = set(changed) if reusable is not None else set()
    members: list[bytes] = []
    pieces: list[bytes] = []
    size = len(frame)
    compressing = reusable is not None
    for index, start in enumerate(range(0, len(values), JOBS_PER_MEMBER)):
        if reusable is not None and touched.isdisjoint(names[start : start + JOBS_PER_MEMBER]):
            members.append(reusable[index])
            continue
        piece = _ENCODER.encode(values[start : start + JOBS_PER_MEMBER])[1:-1]
        if start:
            piece = b"," + piece
        size += len(piece)
        if not compressing and size > compress_above:
            compressing = True
            members = [compress(p) for p in pieces]
            pieces = []
        if compressing:
            members.append(compress(piece))
        else:
            pieces.append(piece)
    if not compressing and size > compress_above:  # no job, and a large outbox or cursors
        compressing = True
        members = [compress(p) for p in pieces]
    if not compressing:
        return Encoded(head + b"".join(pieces) + tail, names, None)
    return Encoded(b"".join([compress(head), *members, compress(tail)]), names, tuple(members))


def decode(data: bytes | None, location: str = "state") -> State:
    """Parse a state document (version 1, 2 or 3); None (no document yet) gives an empty state. Raises
    StateCorrupt."""
    if data is None:
        return State()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise StateCorrupt(f"{location}: state is not readable gzip ({e}); left untouched") from None
    try:
        doc = _DECODER.decode(data)
    except msgspec.DecodeError as e:
        raise StateCorrupt(_diagnose(data, location, e)) from None
    del data  # the caller may hold the stored (compressed) bytes; the text is not needed any more
    try:
        _check_cursors(doc.cursors)
        return State(
            jobs=_jobs(doc),
            outbox=doc.outbox,
            mutes=doc.mutes,
            dead_letters=doc.dead_letters,
            cursors=doc.cursors,
            updated_at=doc.updated_at,
            passes=doc.passes,
            categories=_from_v2(doc),
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise StateCorrupt(
            f"{location}: state document is malformed ({type(e).__name__}: {e}); left untouched"
        ) from None


def _check_cursors(cursors: dict[str, dict[str, Any]]) -> None:
    first_seen = cursors.get(CONFIG_MUTES_CURSOR, {})
    for key, value in first_seen.items():
        if type(value) is not int:
            raise ValueError(f"cursors.{CONFIG_MUTES_CURSOR}.{key}: expected an integer time, got {value!r:.40}")


def _from_v2(doc: _Stored | _StoredV2 | _StoredV1) -> CategoryWatch:
    """Version 2 to 3: its rows read as rows without a category (`code`), its jobs as jobs with nothing learned
    yet, and the estate's category watch starts empty."""
    return doc.categories if isinstance(doc, _Stored) else CategoryWatch()


def _jobs(doc: _Stored | _StoredV2 | _StoredV1) -> dict[str, JobState]:
    if isinstance(doc, _StoredV1):
        for name, job in doc.jobs.items():
            job.name = name
        return doc.jobs
    jobs = {job.name: job for job in doc.jobs}
    if len(jobs) != len(doc.jobs) or "" in jobs:
        unnamed = sum(1 for job in doc.jobs if not job.name)
        raise ValueError(
            f"{unnamed} job(s) without a name" if unnamed else f"{len(doc.jobs) - len(jobs)} job(s) listed twice"
        )
    return jobs


def _diagnose(data: bytes, location: str, error: msgspec.DecodeError) -> str:
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
