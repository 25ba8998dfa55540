"""A large state document's jobs, each decoded when it is first read (docs/state.md, "The index").

A compressed document stores its jobs as gzip members of up to `JOBS_PER_MEMBER` jobs each, and an index of
every job's `Brief` in its head. Reading it keeps each member as stored. When a job is first read, its member is
inflated and split into its jobs' JSON texts (without decoding them), and that job alone is decoded; a reader of
many jobs at once (`many`, such as `status --json`) decodes each member holding them whole, in one call. Writing it
back reuses the stored bytes of every member none of whose jobs was read; a member with jobs read is written
with the others' texts as they were and the read ones encoded again, and reused as stored when they encode to
the same JSON. So a pass's work on a job it does not read is its row of the index, or copying its text when a
job of its member was read (docs/performance.md).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Container, ItemsView, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from failstreak.core.jobindex import ALERTING, Brief, IndexedJobs, brief
from failstreak.core.model import JobState
from failstreak.errors import StateCorrupt

T = TypeVar("T")
# A job added since the document was read: in no stored member yet.
NEW = -1
# Hex characters of a member's digest (`LazyJobs.slice_of`): 64 bits.
SLICE_DIGEST = 16
# A member's text, split into its jobs' texts (checked as JSON, not decoded).
_DECODER = msgspec.json.Decoder(list[msgspec.Raw])
_JOB = msgspec.json.Decoder(JobState)
# A member's text, its jobs decoded in one call (a reader of all of its jobs).
_SLICE = msgspec.json.Decoder(list[JobState])
_ENCODER = msgspec.json.Encoder()


@dataclass(slots=True)
class Member:
    """One gzip member of jobs: as stored (or as last written), its jobs' names and rows in order, and whether its
    text starts the list of jobs (every later member's text starts with the comma that separates it). Once
    loaded, `texts` holds each job's JSON as stored, in the same order."""

    stored: bytes
    names: list[str]
    rows: list[Brief]
    first: bool
    texts: list[msgspec.Raw] | None = None
    dirty: bool = False  # a job of it was read or changed since it was stored: write it again at the next write
    digest: str | None = None  # of `stored`, once asked for (`LazyJobs.slice_of`)
    # When the last write stored it again job by job: the digest of what it stored before, and the jobs whose text
    # that write left as it was (`LazyJobs.unchanged_in`).
    was: str | None = None
    same: frozenset[str] = frozenset()
    length: int | None = None  # of the text `stored` inflates to, once inflated


@dataclass
class Written:
    """What one write of the jobs gives: their members in order, with each member's stored length and job count,
    and every job's row."""

    members: list[bytes] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    rows: list[Brief] = field(default_factory=list)

    def add(self, stored: bytes, rows: list[Brief]) -> None:
        self.members.append(stored)
        self.sizes.append(len(stored))
        self.counts.append(len(rows))
        self.rows.extend(rows)


class LazyJobs(IndexedJobs):
    """Jobs by name, in the stored order (jobs added later at the end), each decoded when first read.

    `decoded` counts the members inflated and split so far, `jobs_decoded` the jobs decoded: the tests pin with
    them that a pass reads only what it needs. Reading a job (`jobs[name]`, `get`, `values`, ...) decodes it, and
    its member is written again at the next write (the caller may change the job it read); `briefs` and the names
    never decode anything.
    """

    def __init__(self, members: list[Member], location: str = "state") -> None:
        self._members = members
        self._where: dict[str, int] = {name: at for at, m in enumerate(members) for name in m.names}
        self._jobs: dict[str, JobState] = {}
        self._added: dict[str, None] = {}
        self.location = location
        self.decoded = 0
        self.jobs_decoded = 0

    @classmethod
    def of(cls, jobs: Mapping[str, JobState]) -> LazyJobs:
        """All of `jobs`, as if added to an empty document (every member is new at the next write)."""
        lazy = cls([])
        for name, job in jobs.items():
            lazy[name] = job
        return lazy

    def __getitem__(self, name: str) -> JobState:
        job = self._jobs.get(name)
        if job is not None:
            return job
        at = self._where[name]
        m = self._members[at]
        if m.texts is None:
            self._load(at)
        assert m.texts is not None
        try:
            job = _JOB.decode(m.texts[m.names.index(name)])
        except msgspec.DecodeError as e:
            raise StateCorrupt(
                f"{self.location}: state document is malformed (member {at + 1} of jobs: {e}); left untouched"
            ) from None
        if job.name != name:
            raise StateCorrupt(
                f"{self.location}: state document is malformed (member {at + 1} of jobs does not hold the jobs its "
                "index names); left untouched"
            )
        self.jobs_decoded += 1
        m.dirty = True
        self._jobs[name] = job
        return job

    def __setitem__(self, name: str, job: JobState) -> None:
        at = self._where.get(name)
        if at is None:
            self._where[name] = NEW
            self._added[name] = None
        elif at != NEW:
            self._touch(at)
        self._jobs[name] = job

    def __delitem__(self, name: str) -> None:
        at = self._where[name]
        if at != NEW:
            self._touch(at)
        del self._where[name]
        self._added.pop(name, None)
        self._jobs.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def briefs(self, skip: Container[str] = frozenset()) -> Iterator[Brief]:
        jobs, where = self._jobs, self._where
        for at, m in enumerate(self._members):
            if not m.dirty:
                yield from (row for row in m.rows if row.name not in skip) if skip else m.rows
                continue
            for name, row in zip(m.names, m.rows, strict=True):
                if where.get(name) == at and name not in skip:
                    job = jobs.get(name)
                    yield row if job is None else brief(job)
        yield from (brief(jobs[n]) for n in self._added if n not in skip)

    def alerting(self) -> int:
        jobs, where = self._jobs, self._where
        count = 0
        for at, m in enumerate(self._members):
            if not m.dirty:
                count += sum(1 for row in m.rows if row.flags & ALERTING)
                continue
            for name, row in zip(m.names, m.rows, strict=True):
                if where.get(name) == at:
                    job = jobs.get(name)
                    count += bool(row.flags & ALERTING) if job is None else job.alert is not None
        return count + sum(1 for n in self._added if jobs[n].alert is not None)

    def many(self, names: list[str]) -> list[JobState]:
        """The jobs of `names`, in that order. Each member holding one of them not read yet is decoded whole in one
        call, which costs less than splitting it and decoding its jobs one by one when most of them are wanted."""
        jobs, where = self._jobs, self._where
        wanted = {where[name] for name in names if name not in jobs}
        for at in sorted(wanted):
            if self._members[at].texts is None:
                self._load_all(at)
        return [jobs[name] if name in jobs else self[name] for name in names]

    def held(self, names: Iterable[str]) -> dict[str, JobState]:
        """The jobs of `names` that are here, by name, slice by slice in the order the slices are stored (within a
        slice, in the order of `names`; the jobs added since the last write first). A member more than half of
        whose jobs are named and not read yet is decoded whole, in one call (its other jobs are read too); the
        jobs of the other members are decoded one by one, as `self[name]` decodes them."""
        jobs, where = self._jobs, self._where
        found: list[str] = []
        wanted: dict[int, int] = {}
        for name in names:
            at = where.get(name)
            if at is None:
                continue
            found.append(name)
            if at != NEW and name not in jobs:
                wanted[at] = wanted.get(at, 0) + 1
        members = self._members
        for at, count in wanted.items():
            m = members[at]
            if m.texts is None and 2 * count > len(m.names):
                self._load_all(at)
        found.sort(key=where.__getitem__)  # stable: by member, then as named
        return {name: jobs[name] if name in jobs else self[name] for name in found}

    def slice_of(self, name: str) -> str | None:
        at = self._where[name]
        if at == NEW:
            return None
        m = self._members[at]
        if m.dirty:
            return None
        if m.digest is None:
            m.digest = _digest(m.stored)
        return m.digest

    def unchanged_in(self, name: str, slices: Container[str]) -> bool:
        at = self._where.get(name, NEW)
        if at == NEW:
            return False
        m = self._members[at]
        return not m.dirty and m.was is not None and m.was in slices and name in m.same

    def text_of(self, name: str) -> bytes:
        at = self._where[name]
        job = self._jobs.get(name)
        if job is not None and (at == NEW or self._members[at].dirty):
            return _ENCODER.encode(job)
        m = self._members[at]
        if m.texts is None:
            self._load(at)
        assert m.texts is not None
        return bytes(m.texts[m.names.index(name)])

    def read(self) -> ItemsView[str, JobState]:
        """The jobs decoded so far (read, or added), by name."""
        return self._jobs.items()

    def _touch(self, at: int) -> None:
        m = self._members[at]
        if m.texts is None:
            self._load(at)
        m.dirty = True

    def _load(self, at: int) -> None:
        """Split member `at` into its jobs' texts."""
        m = self._members[at]
        texts = self._inflate(at, _DECODER)
        m.texts = texts
        self.decoded += 1

    def _load_all(self, at: int) -> None:
        """Decode every job of member `at` not read yet (its texts stay stored: a write splits them if needed)."""
        m = self._members[at]
        decoded = self._inflate(at, _SLICE)
        if [job.name for job in decoded] != m.names:
            raise self._mismatch(at)
        for name, job in zip(m.names, decoded, strict=True):
            if self._where.get(name) == at and name not in self._jobs:
                self._jobs[name] = job
                self.jobs_decoded += 1
        m.dirty = True
        self.decoded += 1

    def _inflate(self, at: int, decoder: msgspec.json.Decoder[list[T]]) -> list[T]:
        """Member `at`'s text decoded as a list of its jobs (texts, or the jobs themselves)."""
        m = self._members[at]
        try:
            text = zlib.decompress(m.stored, 31)
            m.length = len(text)
            found = decoder.decode(b"[" + (text[1:] if text[:1] == b"," else text) + b"]")
        except (zlib.error, msgspec.DecodeError) as e:
            raise StateCorrupt(
                f"{self.location}: state document is malformed (member {at + 1} of jobs: {e}); left untouched"
            ) from None
        if len(found) != len(m.names):
            raise self._mismatch(at)
        return found

    def _mismatch(self, at: int) -> StateCorrupt:
        return StateCorrupt(
            f"{self.location}: state document is malformed (member {at + 1} of jobs does not hold the jobs its "
            "index names); left untouched"
        )

    def write(self, compress: Callable[[bytes], bytes], per_member: int) -> Written:
        """The jobs' members as they are now: stored bytes for every member none of whose jobs was read since the
        last write (or whose jobs encode as they were), the others written again; the jobs added since,
        `per_member` to a new member. A member written again that holds more than `per_member` jobs (written with
        larger slices) is cut into members of `per_member`. The written members become those of the next write."""
        out = Written()
        first = self._write_stored(out, compress, per_member)
        added = list(self._added)
        self._added.clear()
        for start in range(0, len(added), per_member):
            names = added[start : start + per_member]
            jobs = [self._jobs[n] for n in names]
            at = len(self._members)
            m = Member(b"", names, [brief(job) for job in jobs], first)
            self._members.append(m)
            for n in names:
                self._where[n] = at
            # Not kept split into texts (`_rewrite_read` writes it again from the jobs, which are at hand): a pass
            # adding 600,000 jobs would hold each one's text beside it, about 270 MB (docs/performance.md, "Peak
            # memory at the inbox bounds").
            _store(m, _joined(jobs), first, compress)
            out.add(m.stored, m.rows)
            first = False
        return out

    def _write_stored(self, out: Written, compress: Callable[[bytes], bytes], per_member: int) -> bool:
        """The members as stored, each written into `out` as `write` says; True when none holds a job (the next
        member then starts the list of jobs)."""
        first = True
        members: list[Member] = []
        for at, m in enumerate(self._members):
            rewritten = m.dirty
            if m.dirty:
                self._rewrite(at, m, first, compress)
            if m.names and m.first != first:
                self._reencode(m, first, compress)
            m.dirty = False
            pieces = self._cut(m, per_member, first, compress) if rewritten and len(m.names) > per_member else [m]
            for piece in pieces:
                members.append(piece)
                if piece.names:
                    out.add(piece.stored, piece.rows)
                    first = False
        if len(members) != len(self._members):
            self._members = members
            self._where = {name: at for at, m in enumerate(members) for name in m.names} | dict.fromkeys(
                self._added, NEW
            )
        return first

    def _cut(self, m: Member, per_member: int, first: bool, compress: Callable[[bytes], bytes]) -> list[Member]:
        """Member `m`, just written again, as members of `per_member` jobs each. Each keeps what `m` records of the
        write (`was`, and `same` for its own jobs), so that a job it left as it was is still known as such."""
        texts = m.texts if m.texts is not None else [msgspec.Raw(_ENCODER.encode(self._jobs[n])) for n in m.names]
        pieces = []
        for start in range(0, len(m.names), per_member):
            end = start + per_member
            part = texts[start:end]
            piece = Member(b"", m.names[start:end], m.rows[start:end], first, part)
            self._encode(piece, part, first, compress)
            piece.was, piece.same = m.was, m.same.intersection(piece.names)
            pieces.append(piece)
            first = False
        return pieces

    def _rewrite(self, at: int, m: Member, first: bool, compress: Callable[[bytes], bytes]) -> None:
        """Bring a member whose jobs were read up to date: its live jobs' texts (the read ones encoded again) and
        rows; compressed again unless they are as they were."""
        if m.texts is None:  # its jobs were decoded whole (`many`, `held`)
            live = [name for name in m.names if self._where.get(name) == at]
            if all(name in self._jobs for name in live):
                self._rewrite_read(m, live, first, compress)
                return
            self._load(at)  # some of its jobs are not read: split its stored text for theirs
        assert m.texts is not None
        names, rows, texts = [], [], []
        same: list[str] = []
        changed = False
        for name, stored_row, stored_text in zip(m.names, m.rows, m.texts, strict=True):
            if self._where.get(name) != at:
                changed = True
                continue
            job = self._jobs.get(name)
            if job is None:
                names.append(name)
                rows.append(stored_row)
                texts.append(stored_text)
                same.append(name)
                continue
            new = _ENCODER.encode(job)
            if new == bytes(stored_text):
                same.append(name)
            else:
                changed = True
            names.append(name)
            rows.append(brief(job))
            texts.append(msgspec.Raw(new))
        m.names, m.rows, m.texts = names, rows, texts
        if changed and names:
            was = m.digest or _digest(m.stored)
            self._encode(m, texts, first, compress)
            m.was, m.same = was, frozenset(same)

    def _rewrite_read(self, m: Member, live: list[str], first: bool, compress: Callable[[bytes], bytes]) -> None:
        """`_rewrite` for a member decoded whole and not split, every job of it still in it (`live`) read: its
        jobs encoded in one call (`_joined`), and compared whole with its stored text: this writes what `_rewrite`
        writes job by job, without splitting the stored text."""
        dropped = len(live) < len(m.names)
        jobs = [self._jobs[name] for name in live]
        m.names, m.rows = live, [brief(job) for job in jobs]
        if not live:
            return
        body = _joined(jobs)
        # The length of its text, known since it was inflated, spares inflating it again when it changed.
        if dropped or (m.length is not None and m.length != len(body) + (not m.first)) or body != _text(m):
            _store(m, body, first, compress)

    def _reencode(self, m: Member, first: bool, compress: Callable[[bytes], bytes]) -> None:
        """Write a member again after the one before it was dropped (its text starts the list now, or not)."""
        if m.texts is None:
            text = zlib.decompress(m.stored, 31)
            m.texts = _DECODER.decode(b"[" + (text[1:] if text[:1] == b"," else text) + b"]")
        if m.names:
            self._encode(m, m.texts, first, compress)

    def _encode(self, m: Member, texts: list[msgspec.Raw], first: bool, compress: Callable[[bytes], bytes]) -> None:
        _store(m, b",".join(texts), first, compress)


def _digest(stored: bytes) -> str:
    """A member's digest (`LazyJobs.slice_of`): of its stored bytes."""
    return hashlib.sha256(stored).hexdigest()[:SLICE_DIGEST]


def _joined(jobs: list[JobState]) -> bytes:
    """The jobs' JSON separated by commas, encoded in one call: a list's JSON is its items' JSON separated by
    commas, and a text of JSON objects separated by commas splits one way only, so this is what encoding the jobs
    one by one and joining them gives."""
    return _ENCODER.encode(jobs)[1:-1]


def _store(m: Member, body: bytes, first: bool, compress: Callable[[bytes], bytes]) -> None:
    """Store `body`, the jobs' JSON separated by commas, as the member's gzip member (after a comma unless it is
    the first)."""
    text = body if first else b"," + body
    m.stored = compress(text)
    m.first = first
    m.digest = None
    m.length = len(text)
    m.was, m.same = None, frozenset()


def _text(m: Member) -> bytes:
    """The member's jobs' JSON as stored, without the comma that starts every member's text but the first's."""
    text = zlib.decompress(m.stored, 31)
    return text if m.first else text[1:]
