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

import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from failstreak.core.categories import CategoryWatch
from failstreak.core.jobindex import Brief
from failstreak.core.model import DeadLetter, JobState, Mute, OutboxEntry, State
from failstreak.errors import StateCorrupt
from failstreak.gzipped import inflate
from failstreak.state.lazy import LazyJobs, Member, Written

VERSION = 8
READABLE_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8)
# The local date (YYYY-MM-DD) of the last daily digests (docs/digest.md).
DigestDay = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


class _Document(msgspec.Struct, tag_field="version", tag=VERSION):
    """The document (version 8) as read whole. A compressed document also holds `index` (`_Written`), which a
    whole read skips: the jobs themselves say all it says."""

    updated_at: int | None = None
    passes: int = 0
    outbox: list[OutboxEntry] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)
    config_digest: str | None = None
    digest_day: DigestDay | None = None
    jobs: list[JobState] = []


class _Index(msgspec.Struct):
    """The index of a compressed document (docs/state.md): the stored length and the number of jobs of each gzip
    member of jobs, in order, and every job's row (`Brief`), in the jobs' order."""

    sizes: list[int] = []
    counts: list[int] = []
    jobs: list[Brief] = []


class _Written(msgspec.Struct, tag_field="version", tag=VERSION):
    """The document as written: `version` first, as the tag, then the index (null in a plain document), every other
    field, even when empty, and the jobs last (`encode_document` places them between the brackets of `"jobs":[]`,
    so that the head, everything before the jobs, is one gzip member a pass reads alone). The index comes before
    the fields a pass changes after its first save (the outbox), so that the second save compresses the head from
    where the index ends (`_HeadStart`)."""

    index: _Index | None = None
    updated_at: int | None = None
    passes: int = 0
    outbox: list[OutboxEntry] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)
    config_digest: str | None = None
    digest_day: DigestDay | None = None
    jobs: list[JobState] = []


class _Head(msgspec.Struct, tag_field="version", tag=VERSION):
    """A compressed document's head as a pass reads it: every field but the jobs, with the index."""

    updated_at: int | None = None
    passes: int = 0
    outbox: list[OutboxEntry] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)
    config_digest: str | None = None
    digest_day: DigestDay | None = None
    index: _Index | None = None


class _StoredV7(msgspec.Struct, tag_field="version", tag=7):
    """Version 7 as read whole: no `digest_day` (its index, if any, is skipped: it is written afresh)."""

    updated_at: int | None = None
    passes: int = 0
    outbox: list[OutboxEntry] = []
    config_mutes: dict[str, int] = {}
    dead_letters: list[DeadLetter] = []
    cursors: dict[str, dict[str, Any]] = {}
    categories: CategoryWatch = msgspec.field(default_factory=CategoryWatch)
    config_digest: str | None = None
    jobs: list[JobState] = []


class _StoredV6(msgspec.Struct, tag_field="version", tag=6):
    """Version 6 as read: no index, the jobs before the outbox (the order does not matter to a reader)."""

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


_DECODER = msgspec.json.Decoder(
    _Document | _StoredV7 | _StoredV6 | _StoredV5 | _StoredV4 | _StoredV3 | _StoredV2 | _StoredV1
)
_HEAD = msgspec.json.Decoder(_Head)
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


def _v6_to_v7(doc: _StoredV6) -> _StoredV7:
    """Version 7 adds the index of a compressed document (written afresh at the next save) and the digest of the
    config of the last pass that saved (none yet), and lists the jobs last; what it holds is version 6's."""
    return _StoredV7(
        doc.updated_at,
        doc.passes,
        doc.outbox,
        doc.config_mutes,
        doc.dead_letters,
        doc.cursors,
        doc.categories,
        None,
        doc.jobs,
    )


def _v7_to_v8(doc: _StoredV7) -> _Document:
    """Version 8 adds the local date of the last daily digests (`digest_day`; none yet: docs/digest.md)."""
    return _Document(
        doc.updated_at,
        doc.passes,
        doc.outbox,
        doc.config_mutes,
        doc.dead_letters,
        doc.cursors,
        doc.categories,
        doc.config_digest,
        None,
        doc.jobs,
    )


def _current(
    doc: _Document | _StoredV7 | _StoredV6 | _StoredV5 | _StoredV4 | _StoredV3 | _StoredV2 | _StoredV1,
) -> tuple[_Document, list[Mute]]:
    """Any readable version, brought forward one version at a time to the current one; and the mutes an older
    version held, to be moved to the mutes document."""
    moved: list[Mute] = []
    if isinstance(doc, _StoredV1):
        doc = _v1_to_v2(doc)
    if isinstance(doc, _StoredV2):
        doc = _v2_to_v3(doc)
    if isinstance(doc, _StoredV3):
        doc = _v3_to_v4(doc)
    if isinstance(doc, _StoredV4):
        doc = _v4_to_v5(doc)
    if isinstance(doc, _StoredV5):
        doc, moved = _v5_to_v6(doc)
    if isinstance(doc, _StoredV6):
        doc = _v6_to_v7(doc)
    if isinstance(doc, _StoredV7):
        doc = _v7_to_v8(doc)
    return doc, moved


# Documents larger than this are written gzip-compressed (decode detects either); smaller ones stay plain JSON
# that a person can read. Level 1: most of the size gain for a fraction of the time of the default level.
COMPRESS_ABOVE = 128 * 1024
GZIP_LEVEL = 1
# Jobs are encoded and compressed this many at a time, each slice its own gzip member, which a save reuses
# when none of its jobs was read (or they encode the same). Small enough that a pass touching 1 % of the jobs
# leaves about three members in four as they were, and that reading one job inflates little; large enough that
# gzip still compresses well (the benchmark's 100k jobs: 12.8 MiB, against 12.1 MiB in slices of 64 and 14.9
# MiB in slices of 16: docs/performance.md). A document written in larger slices is cut to this size member by
# member, as its jobs are written again (`LazyJobs.write`).
JOBS_PER_MEMBER = 32
# Where a pass feeds the document to zlib to find the end of its head, this many stored bytes at a time.
_HEAD_CHUNK = 64 * 1024


def _compressor() -> zlib._Compress:
    """A gzip compressor at the codec's level."""
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)


def compress(body: bytes) -> bytes:
    """gzip `body` the way `encode` does (the benchmark's floor uses the same)."""
    z = _compressor()
    return z.compress(body) + z.flush()


# The last member of a compressed document: the end of the list of jobs and of the document.
_TAIL = compress(b"]}")


@dataclass(frozen=True, slots=True)
class _HeadStart:
    """A compressed head's start, through its index (`_Written` places it first), as compressed, for a head with
    the same index to be compressed on from there: a copy of `compressor` is fed the fields after the index. A
    pass's second save changes the outbox, not the index (about 7 MiB of JSON for 100k jobs), and so encodes and
    compresses only what follows it (docs/performance.md)."""

    sizes: list[int]
    counts: list[int]
    rows: list[Brief]
    compressed: bytes
    compressor: zlib._Compress  # typeshed's name: zlib names no type for it

    def holds(self, written: Written) -> bool:
        """Whether this start is that of a head indexing `written` (rows compared by value: a job written again
        that encodes the same has a new row equal to its old one)."""
        return self.sizes == written.sizes and self.counts == written.counts and self.rows == written.rows


# A document's text up to its index: the version, then the index (`_Written`).
_OPEN = b'{"version":%d,"index":' % VERSION
_NO_INDEX = _OPEN + b"null,"
# The least a job writes, but for its name's characters.
_LEAST_JOB = b'{"name":""}'


@dataclass(frozen=True, slots=True)
class Encoded:
    """A state document as written, and what writing it again after a few changed jobs can reuse.

    A compressed document is a sequence of gzip members (a valid gzip file: readers decompress every member):
    the head (the index, then every field but the jobs), one member per slice of at most `JOBS_PER_MEMBER` jobs,
    the tail. `members` holds the jobs' members; `jobs`, the jobs as written, which a later write of the same
    jobs reuses (`encode_document`'s `since`); `head`, its head's start through the index, which a later write
    with the same index reuses.
    """

    body: bytes
    names: tuple[str, ...]
    members: tuple[bytes, ...] | None
    jobs: LazyJobs | None = None
    head: _HeadStart | None = None


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

    A state read from a compressed document (its jobs decoded lazily, `decode_document`) is written compressed,
    reusing the stored member of every slice of jobs none of which was read since the last write (docs/state.md,
    "The index"); `changed` names the jobs changed after that write that were read before it. Else `since` must
    be this state's previous encoding, and `changed` every job modified since: a job outside it is written as it
    was then. (After its first save, a pass only records delivery results: the outbox, the
    dead letters and the thread references of the jobs it announced, which `outbox.apply_results` names.)
    """
    jobs = state.jobs
    lazy = jobs if isinstance(jobs, LazyJobs) else None
    names = tuple(jobs)
    if lazy is None and since is not None and since.jobs is not None and since.names == names:
        lazy = since.jobs
    if lazy is not None:
        for name in changed:
            if name in jobs:
                lazy[name] = jobs[name]  # its slice is encoded again
        return _compressed(state, lazy, names, since.head if since is not None else None)
    for name, job in jobs.items():
        if job.name != name:
            raise ValueError(f"job {job.name!r} is filed under {name!r} in the state")
    # Every job writes at least `{"name":""}` and its name: past this bound the document is compressed, and is
    # not first written whole as plain JSON to find out (175 MiB for 600,000 new jobs, at the save's peak).
    if len(jobs) * len(_LEAST_JOB) + sum(map(len, names)) <= compress_above:
        plain = _ENCODER.encode(_written(state, None, list(jobs.values())))
        if len(plain) <= compress_above:
            return Encoded(plain, names, None)
    return _compressed(state, LazyJobs.of(jobs), names)


def _written(state: State, index: _Index | None, jobs: list[JobState]) -> _Written:
    return _Written(
        updated_at=state.updated_at,
        passes=state.passes,
        outbox=state.outbox,
        config_mutes=state.config_mutes,
        dead_letters=state.dead_letters,
        cursors=state.cursors,
        categories=state.categories,
        config_digest=state.config_digest,
        digest_day=state.digest_day,
        index=index,
        jobs=jobs,
    )


def _compressed(state: State, jobs: LazyJobs, names: tuple[str, ...], since: _HeadStart | None = None) -> Encoded:
    """The compressed document: the head with the index, the jobs' members (reused where they can be), the tail.
    `since`: a head's start, reused when it indexes the jobs as written now."""
    for name, job in jobs.read():
        if job.name != name:
            raise ValueError(f"job {job.name!r} is filed under {name!r} in the state")
    written = jobs.write(compress, JOBS_PER_MEMBER)
    start = since if since is not None and since.holds(written) else _head_start(written)
    frame = _ENCODER.encode(_written(state, None, []))
    assert frame.startswith(_NO_INDEX), "the version and the index open the document (_Written)"
    # The jobs are the last field: the last `"jobs":[]` is theirs (a cursor may hold the same text before it).
    at = frame.rindex(b'"jobs":[]') + len(b'"jobs":[')
    rest = start.compressor.copy()
    head = start.compressed + rest.compress(frame[len(_NO_INDEX) : at]) + rest.flush()
    body = b"".join([head, *written.members, _TAIL])
    return Encoded(body, names, tuple(written.members), jobs, start)


def _head_start(written: Written) -> _HeadStart:
    """The start of the head indexing `written`, compressed; its compressor is copied before each use."""
    z = _compressor()
    # Fed in three parts rather than joined: the index is most of the head, and joining would copy it.
    compressed = z.compress(_OPEN) + z.compress(_ENCODER.encode(_Index(written.sizes, written.counts, written.rows)))
    compressed += z.compress(b",")
    return _HeadStart(written.sizes, written.counts, written.rows, compressed, z)


def _head(data: bytes) -> tuple[_Head, int] | None:
    """A compressed document's head, and where its jobs' members start; None when its first member is not the
    head of a document in the current version (then it is read whole, and what is wrong with it reported)."""
    d = zlib.decompressobj(31)
    parts: list[bytes] = []
    view = memoryview(data)
    pos = 0
    try:
        while not d.eof and pos < len(data):
            chunk = view[pos : pos + _HEAD_CHUNK]
            parts.append(d.decompress(chunk))
            pos += len(chunk)
        if not d.eof:
            return None
        head = _HEAD.decode(b"".join(parts) + b"]}")
    except (zlib.error, msgspec.DecodeError):
        return None
    return head, pos - len(d.unused_data)


def decode_document(data: bytes | None, location: str = "state") -> tuple[State, Encoded | None]:
    """`decode`, with the jobs of a compressed document in the current version decoded as they are first read
    (`LazyJobs`): reading the document inflates only its head. A document the index does not describe exactly is
    read whole (and refused if it is corrupt), and so is any other document (then with nothing to reuse: None).
    Raises StateCorrupt."""
    if data is None or data[:2] != b"\x1f\x8b":
        return decode(data, location), None
    read = _head(data)
    index = read[0].index if read is not None else None
    members = _members(data, read[1], index) if read is not None and index is not None else None
    if read is None or index is None or members is None:
        return decode(data, location), None
    head = read[0]
    jobs = LazyJobs(members, location)
    if len(jobs) != len(index.jobs) or "" in jobs:
        decode(data, location)  # the whole document says what is wrong with it
        raise StateCorrupt(f"{location}: state document is malformed (its index lists a job twice); left untouched")
    state = State(
        jobs=jobs,
        outbox=head.outbox,
        dead_letters=head.dead_letters,
        cursors=head.cursors,
        config_mutes=head.config_mutes,
        updated_at=head.updated_at,
        passes=head.passes,
        categories=head.categories,
        config_digest=head.config_digest,
        digest_day=head.digest_day,
    )
    return state, Encoded(data, tuple(jobs), tuple(m.stored for m in members), jobs)


def _members(data: bytes, at: int, index: _Index) -> list[Member] | None:
    """The jobs' members of a compressed document, as its index lays them out; None if it does not (the sizes
    do not add up to the document, or the counts to the jobs)."""
    if (
        len(index.sizes) != len(index.counts)
        or at + sum(index.sizes) + len(_TAIL) != len(data)
        or sum(index.counts) != len(index.jobs)
        or data[len(data) - len(_TAIL) :] != _TAIL
        or min(index.counts, default=1) < 1
    ):
        return None
    members: list[Member] = []
    row = 0
    for size, count in zip(index.sizes, index.counts, strict=True):
        rows = index.jobs[row : row + count]
        members.append(Member(data[at : at + size], [r.name for r in rows], rows, first=not members))
        at += size
        row += count
    return members


def decode(data: bytes | None, location: str = "state") -> State:
    """Parse a state document (any of `READABLE_VERSIONS`); None (no document yet) gives an empty state.
    Raises StateCorrupt."""
    if data is None:
        return State()
    if data[:2] == b"\x1f\x8b":
        try:
            data = inflate(data)
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
            config_digest=doc.config_digest,
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
    return diagnose(data, location, error, READABLE_VERSIONS, what="state", document="state document")


def diagnose(
    data: bytes | bytearray,
    location: str,
    error: msgspec.DecodeError,
    readable: tuple[int, ...],
    *,
    what: str,
    document: str,
) -> str:
    """Why a versioned document (the state, the mutes document) did not decode, in the terms of its format: not
    JSON, no `version`, a version this release does not read, or a value of the wrong shape. Only runs for a
    document that is refused."""
    if not isinstance(error, msgspec.ValidationError):
        return f"{location}: {what} is not valid JSON ({error}); left untouched"
    try:
        head = msgspec.json.decode(data, type=dict[str, Any])
    except msgspec.DecodeError:
        head = None
    if head is None or "version" not in head:
        return f"{location}: not a failstreak {document} (no 'version'); left untouched"
    if head["version"] not in readable:
        return (
            f"{location}: {what} version {head['version']!r} is not supported by this failstreak "
            f"(reads {', '.join(map(str, readable))}); left untouched"
        )
    return f"{location}: {document} is malformed ({error}); left untouched"
