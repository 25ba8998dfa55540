"""A large state document's jobs, decoded as they are first read (docs/state.md, "The index").

A compressed document stores its jobs as gzip members of up to `JOBS_PER_MEMBER` jobs each, and an index of
every job's `Brief` in its head. Reading it keeps each member as stored; a job is decoded when it is first read,
with the other jobs of its member. Writing it back reuses the stored bytes of every member none of whose jobs
was read, and of every member whose jobs encode to the same JSON again; only the others are compressed. So a
pass's work on a job it does not read is its row of the index, whatever its run history holds
(docs/performance.md).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, ItemsView, Iterator, Mapping
from dataclasses import dataclass, field

import msgspec

from failstreak.core.jobindex import Brief, IndexedJobs, brief
from failstreak.core.model import JobState
from failstreak.errors import StateCorrupt

# A job added since the document was read: in no stored member yet.
NEW = -1
_DECODER = msgspec.json.Decoder(list[JobState])
_ENCODER = msgspec.json.Encoder()


@dataclass(slots=True)
class Member:
    """One gzip member of jobs: as stored (or as last written), its jobs' names and rows in order, and whether its
    text starts the list of jobs (every later member's text starts with the comma that separates it)."""

    stored: bytes
    names: list[str]
    rows: list[Brief]
    first: bool
    # The length and SHA-256 of its JSON as decoded (b"": not known): a member that encodes to the same JSON again
    # is reused as stored.
    size: int = -1
    digest: bytes = b""
    loaded: bool = False  # its jobs are decoded (held by the mapping)
    dirty: bool = False  # it may have changed since it was stored: encode it again at the next write


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

    `decoded` counts the members decoded so far: the tests pin with it that a pass decodes only what it reads.
    Reading a job (`jobs[name]`, `get`, `values`, ...) decodes its member, and the member is then encoded again
    at the next write (the caller may change the jobs it read); `briefs` and the names never decode anything.
    """

    def __init__(self, members: list[Member], location: str = "state") -> None:
        self._members = members
        self._where: dict[str, int] = {name: at for at, m in enumerate(members) for name in m.names}
        self._jobs: dict[str, JobState] = {}
        self._added: dict[str, None] = {}
        self.location = location
        self.decoded = 0

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
        self._load(self._where[name])
        return self._jobs[name]

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

    def briefs(self) -> Iterator[Brief]:
        for at, m in enumerate(self._members):
            if m.loaded:
                yield from (brief(self._jobs[n]) for n in m.names if self._where.get(n) == at)
            else:
                yield from m.rows
        yield from (brief(self._jobs[n]) for n in self._added)

    def read(self) -> ItemsView[str, JobState]:
        """The jobs decoded so far (read, or added), by name."""
        return self._jobs.items()

    def _touch(self, at: int) -> None:
        if not self._members[at].loaded:
            self._load(at)
        self._members[at].dirty = True

    def _load(self, at: int) -> None:
        m = self._members[at]
        try:
            text = zlib.decompress(m.stored, 31)
            jobs = _DECODER.decode(b"[" + (text[1:] if text[:1] == b"," else text) + b"]")
        except (zlib.error, msgspec.DecodeError) as e:
            raise StateCorrupt(
                f"{self.location}: state document is malformed (member {at + 1} of jobs: {e}); left untouched"
            ) from None
        if [j.name for j in jobs] != m.names:
            raise StateCorrupt(
                f"{self.location}: state document is malformed (member {at + 1} of jobs does not hold the jobs its "
                "index names); left untouched"
            )
        for job in jobs:
            if self._where.get(job.name) == at:
                self._jobs[job.name] = job
        m.size, m.digest, m.loaded, m.dirty = len(text), hashlib.sha256(text).digest(), True, True
        self.decoded += 1

    def write(self, compress: Callable[[bytes], bytes], per_member: int) -> Written:
        """The jobs' members as they are now: stored bytes for every member not read since the last write (or
        that encodes to the same JSON), the others compressed again; the jobs added since, `per_member` to a new
        member. The written members become those of the next write."""
        out = Written()
        first = True
        for at, m in enumerate(self._members):
            if not m.dirty and m.first == first:
                if m.names:
                    out.add(m.stored, m.rows)
                    first = False
                continue
            if not m.loaded:
                self._load(at)
            m.names = [n for n in m.names if self._where.get(n) == at]
            if self._encode(m, first, compress):
                out.add(m.stored, m.rows)
                first = False
        added = list(self._added)
        self._added.clear()
        for start in range(0, len(added), per_member):
            names = added[start : start + per_member]
            m = Member(b"", names, [], first, loaded=True)
            at = len(self._members)
            self._members.append(m)
            for n in names:
                self._where[n] = at
            self._encode(m, first, compress)
            out.add(m.stored, m.rows)
            first = False
        return out

    def _encode(self, m: Member, first: bool, compress: Callable[[bytes], bytes]) -> bool:
        """Encode a loaded member's jobs again (reusing its stored bytes when the JSON is the same); False when it
        holds no job any more."""
        jobs = [self._jobs[n] for n in m.names]
        m.dirty = False
        if not jobs:
            m.stored, m.rows, m.size = b"", [], -1
            return False
        text = _ENCODER.encode(jobs)[1:-1]
        if not first:
            text = b"," + text
        # Only a text of the same length is hashed: a pass that changes most members pays nearly nothing for it.
        if len(text) != m.size or not m.digest or hashlib.sha256(text).digest() != m.digest:
            m.stored, m.size, m.digest = compress(text), len(text), b""
        m.rows, m.first = [brief(j) for j in jobs], first
        return True
