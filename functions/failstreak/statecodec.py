"""The state document: `State` to JSON bytes and back (format documented in docs/state.md).

Runs are stored as compact arrays `[finished_at, run_id, attempt, status, url, commit, reason]` with trailing
nulls dropped; fields at their default are omitted. Documents larger than `COMPRESS_ABOVE` are written
gzip-compressed; either form is read (detected by the gzip magic bytes).
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from typing import Any

import orjson

from failstreak.errors import StateCorrupt
from failstreak.model import (
    Alert,
    Execution,
    JobState,
    Mute,
    Notification,
    OutboxEntry,
    State,
    Status,
)

VERSION = 1


_STATUS = {s.value: s for s in Status}


def _run_to_list(r: Execution) -> list[Any]:
    # Status is a StrEnum: orjson writes its value, so the member goes in as it is.
    if r.reason is not None:
        return [r.finished_at, r.run_id, r.attempt, r.status, r.url, r.commit, r.reason]
    if r.commit is not None:
        return [r.finished_at, r.run_id, r.attempt, r.status, r.url, r.commit]
    if r.url is not None:
        return [r.finished_at, r.run_id, r.attempt, r.status, r.url]
    return [r.finished_at, r.run_id, r.attempt, r.status]


def _run_from_list(job: str, row: list[Any]) -> Execution:
    n = len(row)
    value = row[3]
    return Execution(
        job,
        str(row[1]),
        _STATUS.get(value) or Status(value),
        int(row[0]),
        int(row[2]),
        row[4] if n > 4 else None,
        row[5] if n > 5 else None,
        row[6] if n > 6 else None,
    )


def _alert_to_dict(a: Alert) -> dict[str, Any]:
    d: dict[str, Any] = {
        "triggered_at": a.triggered_at,
        "reasons": a.reasons,
        "since": a.since,
        "failures_base": a.failures_base,
        "last_notified_at": a.last_notified_at,
        "runs_at_last_notice": a.runs_at_last_notice,
    }
    if a.first_commit is not None:
        d["first_commit"] = a.first_commit
    if not a.announced:
        d["announced"] = False
    if a.suppressed:
        d["suppressed"] = a.suppressed
    return d


def _alert_from_dict(d: dict[str, Any]) -> Alert:
    return Alert(
        triggered_at=d["triggered_at"],
        reasons=list(d["reasons"]),
        since=d.get("since"),
        failures_base=d.get("failures_base", 0),
        last_notified_at=d["last_notified_at"],
        runs_at_last_notice=d.get("runs_at_last_notice", 0),
        first_commit=d.get("first_commit"),
        announced=d.get("announced", True),
        suppressed=d.get("suppressed", 0),
    )


_JOB_INTS = (
    "older_streak",
    "forgotten",
    "total_runs",
    "total_failures",
    "first_seen",
    "last_seen",
    "consecutive_failures",
    "window_failures",
    "window_size",
)
_JOB_OPTIONAL = ("last_success", "last_failure", "owner", "source")


def job_to_dict(j: JobState) -> dict[str, Any]:
    # _run_to_list, inlined: one row per remembered run is the bulk of the document.
    d: dict[str, Any] = {
        "runs": [
            [r.finished_at, r.run_id, r.attempt, r.status, r.url, r.commit, r.reason]
            if r.reason is not None
            else [r.finished_at, r.run_id, r.attempt, r.status, r.url, r.commit]
            if r.commit is not None
            else [r.finished_at, r.run_id, r.attempt, r.status, r.url]
            if r.url is not None
            else [r.finished_at, r.run_id, r.attempt, r.status]
            for r in j.runs
        ]
    }
    for name in _JOB_INTS:
        value = getattr(j, name)
        if value:
            d[name] = value
    for name in _JOB_OPTIONAL:
        value = getattr(j, name)
        if value is not None:
            d[name] = value
    if j.alert is not None:
        d["alert"] = _alert_to_dict(j.alert)
    if j.threads:
        d["threads"] = j.threads
    if j.mute_runs:
        d["mute_runs"] = j.mute_runs
    return d


def job_from_dict(name: str, d: dict[str, Any]) -> JobState:
    job = JobState(name=name, runs=[_run_from_list(name, row) for row in d.get("runs", ())])
    for attr in _JOB_INTS:
        setattr(job, attr, int(d.get(attr, 0)))
    for attr in _JOB_OPTIONAL:
        setattr(job, attr, d.get(attr))
    alert = d.get("alert")
    job.alert = _alert_from_dict(alert) if alert else None
    job.threads = dict(d.get("threads", {}))
    job.mute_runs = dict(d.get("mute_runs", {}))
    return job


def _mute_to_dict(m: Mute) -> dict[str, Any]:
    d: dict[str, Any] = {"id": m.id, "match": m.match, "created_at": m.created_at}
    for name in ("until", "runs", "reason"):
        value = getattr(m, name)
        if value is not None:
            d[name] = value
    if m.until_success:
        d["until_success"] = True
    return d


def _mute_from_dict(d: dict[str, Any]) -> Mute:
    return Mute(
        id=d["id"],
        match=d["match"],
        created_at=d["created_at"],
        until=d.get("until"),
        runs=d.get("runs"),
        until_success=d.get("until_success", False),
        reason=d.get("reason"),
    )


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


def _outbox_from_dict(d: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        id=d["id"],
        destination=d["destination"],
        notification=Notification.from_dict(d["notification"]),
        attempts=d.get("attempts", 0),
        last_error=d.get("last_error"),
        lease_owner=d.get("lease_owner"),
        lease_until=d.get("lease_until", 0),
    )


# Documents larger than this are written gzip-compressed (decode detects either); smaller ones stay plain JSON
# that a person can read. Level 1: most of the size gain for a fraction of the time of the default level.
COMPRESS_ABOVE = 128 * 1024  # the same threshold as the S3 store's (branch s3), so both stores agree
GZIP_LEVEL = 1
_JOBS_PER_CHUNK = 1024


def compress(body: bytes) -> bytes:
    """gzip `body` the way `encode` does (the benchmark's floor uses the same)."""
    z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return z.compress(body) + z.flush()


class _Sink:
    """Collects the document's pieces; past `threshold` bytes it compresses them as they come."""

    def __init__(self, threshold: float) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.threshold = threshold
        self.z: Any = None

    def write(self, piece: bytes) -> None:
        if self.z is not None:
            self.parts.append(self.z.compress(piece))
            return
        self.parts.append(piece)
        self.size += len(piece)
        if self.size > self.threshold:
            self.z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
            self.parts = [self.z.compress(b"".join(self.parts))]

    def getvalue(self) -> bytes:
        if self.z is not None:
            self.parts.append(self.z.flush())
        return b"".join(self.parts)


def encode(state: State, compress_above: float = COMPRESS_ABOVE) -> bytes:
    """Serialise the state document: compact JSON, gzip-compressed when larger than `compress_above` bytes.

    The jobs are serialised a chunk at a time, so the whole document never exists as Python objects at once
    (the bytes are those of one `orjson.dumps` of the whole document).
    """
    dumps = orjson.dumps
    head = dumps({"version": VERSION, "updated_at": state.updated_at, "passes": state.passes})
    tail = dumps(
        {
            "outbox": [_outbox_to_dict(e) for e in state.outbox],
            "mutes": [_mute_to_dict(m) for m in state.mutes],
            "dead_letters": state.dead_letters,
            "cursors": state.cursors,
        }
    )
    sink = _Sink(compress_above)
    sink.write(head[:-1] + b',"jobs":{')
    jobs = iter(state.jobs.items())
    sep = b""
    while chunk := {name: job_to_dict(j) for name, j in itertools.islice(jobs, _JOBS_PER_CHUNK)}:
        sink.write(sep + dumps(chunk)[1:-1])
        sep = b","
    sink.write(b"}," + tail[1:])
    return sink.getvalue()


def _jobs_from_dict(raw: dict[str, Any]) -> dict[str, JobState]:
    # Each job's parsed form is dropped once converted, so the peak holds one copy of the runs, not two.
    jobs = {}
    for name in list(raw):
        jobs[name] = job_from_dict(name, raw.pop(name))
    return jobs


def decode(data: bytes | None, location: str = "state") -> State:
    """Parse a state document; None (no document yet) gives an empty state. Raises StateCorrupt."""
    if data is None:
        return State()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise StateCorrupt(f"{location}: state is not readable gzip ({e}); left untouched") from None
    try:
        doc = orjson.loads(data)
        del data  # the caller may hold the stored (compressed) bytes; the text is not needed any more
    except orjson.JSONDecodeError as e:
        raise StateCorrupt(f"{location}: state is not valid JSON ({e}); left untouched") from None
    if not isinstance(doc, dict) or "version" not in doc:
        raise StateCorrupt(f"{location}: not a failstreak state document (no 'version'); left untouched")
    version = doc["version"]
    if version != VERSION:
        raise StateCorrupt(
            f"{location}: state version {version!r} is not supported by this failstreak "
            f"(expects {VERSION}); left untouched"
        )
    try:
        return State(
            jobs=_jobs_from_dict(doc.get("jobs", {})),
            outbox=[_outbox_from_dict(e) for e in doc.get("outbox", ())],
            mutes=[_mute_from_dict(m) for m in doc.get("mutes", ())],
            dead_letters=list(doc.get("dead_letters", ())),
            cursors=dict(doc.get("cursors", {})),
            updated_at=doc.get("updated_at"),
            passes=int(doc.get("passes", 0)),
        )
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
        raise StateCorrupt(
            f"{location}: state document is malformed ({type(e).__name__}: {e}); left untouched"
        ) from None
