"""What the stages that look at every job each pass read of a job, without its run history (docs/state.md, "The
index"). Pure.

Reminders, silence, retirement, the future-runs repair, mute progress and threading each pass look at every job,
but only at a few of its fields. A large stored state keeps those fields of every job in a small index, so that a
pass decodes only the jobs it brings runs to and those the index names as having news (an alert to remind, a
silence, a retirement, ...): its work on the others is this one row each (docs/performance.md).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Container, Iterable, Iterator, Mapping, MutableMapping

import msgspec

from failstreak.core.model import SILENT, JobState

# The bits of `Brief.flags`.
ALERTING = 1
MUTE_RUNS = 2
THREADED = 4
UNANNOUNCED = 8
SILENCE_ALERT = 16


class Brief(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """A job's row in the index: `[name, last_seen, newest, flags, streak, notified, active]`.

    `newest` is when its newest remembered run finished (None: no run remembered), `flags` whether it is alerting
    (1), holds mute progress (2) and thread references (4), whether its alert was not announced (8) and is on its
    silence alone (16); `streak` its consecutive failures (the page's order), `notified` when its alert was last
    notified (None without an alert: its reminder's clock), `active` its learned hours of the week
    (`Learned.active`, None when it learned none).
    """

    name: str
    last_seen: int = 0
    newest: int | None = None
    flags: int = 0
    streak: int = 0
    notified: int | None = None
    active: str | None = None

    @property
    def alerting(self) -> bool:
        return bool(self.flags & ALERTING)

    @property
    def mute_runs(self) -> bool:
        return bool(self.flags & MUTE_RUNS)

    @property
    def threaded(self) -> bool:
        return bool(self.flags & THREADED)

    @property
    def unannounced(self) -> bool:
        return bool(self.flags & UNANNOUNCED)

    @property
    def silence_alert(self) -> bool:
        return bool(self.flags & SILENCE_ALERT)


def brief(job: JobState) -> Brief:
    """The job's row in the index."""
    alert = job.alert
    flags = (MUTE_RUNS if job.mute_runs else 0) | (THREADED if job.threads else 0)
    if alert is not None:
        flags |= (
            ALERTING | (0 if alert.announced else UNANNOUNCED) | (SILENCE_ALERT if alert.reasons == [SILENT] else 0)
        )
    return Brief(
        job.name,
        job.last_seen,
        job.runs[-1].finished_at if job.runs else None,
        flags,
        job.consecutive_failures,
        alert.last_notified_at if alert is not None else None,
        job.learned.active if job.learned is not None else None,
    )


class IndexedJobs(MutableMapping[str, JobState]):
    """Jobs by name that can tell every job's `Brief` without decoding it (the state codec's lazily decoded
    jobs). `briefs` must describe the jobs as they are now, the ones already decoded and changed included."""

    @abstractmethod
    def briefs(self, skip: Container[str] = frozenset()) -> Iterator[Brief]:
        """Every job's row but those named in `skip`, whose rows are not built."""

    @abstractmethod
    def alerting(self) -> int:
        """How many jobs are alerting (without describing the decoded ones)."""

    def many(self, names: list[str]) -> list[JobState]:
        """The jobs of `names`, in that order (decoded together where that is cheaper than one by one)."""
        return [self[name] for name in names]

    def held(self, names: Iterable[str]) -> dict[str, JobState]:
        """The jobs of `names` that are here, by name, each read as `self[name]` reads it (decoded together where
        that is cheaper than one by one), in an order that reads the stored jobs in sequence."""
        return {name: self[name] for name in names if name in self}

    @abstractmethod
    def slice_of(self, name: str) -> str | None:
        """A digest of the stored bytes of the slice of jobs that holds the job, without reading it; None when the
        job is not as stored (added, or read since the last write)."""

    def unchanged_in(self, name: str, slices: Container[str]) -> bool:
        """Whether the job's stored text is the one it had in a slice of jobs whose digest (`slice_of`) is in
        `slices`: its slice was stored again since (another job of it changed), the job's own text as it was.
        False when that is not known."""
        return False

    @abstractmethod
    def text_of(self, name: str) -> bytes:
        """The job's JSON as stored (its slice read, the job not decoded), or as it would be stored now when it
        was added or read since the last write."""


def briefs(jobs: Mapping[str, JobState], skip: Container[str] = frozenset()) -> Iterator[Brief]:
    """Every job's row, in the jobs' order: from the index of lazily decoded jobs, else from each job. The jobs
    named in `skip` are left out before their rows are built: a decoded job's row is built from the job at each
    call (it may have changed), which is most of the cost of a pass that read every job, so a reader that sets
    some jobs aside says so here rather than filtering the rows."""
    if isinstance(jobs, IndexedJobs):
        return jobs.briefs(skip)
    return (brief(job) for name, job in jobs.items() if name not in skip)


def count_alerting(jobs: Mapping[str, JobState]) -> int:
    """How many jobs are alerting: the rows' flag for the jobs not decoded, the job itself for the others."""
    if isinstance(jobs, IndexedJobs):
        return jobs.alerting()
    return sum(1 for job in jobs.values() if job.alert is not None)


def held(jobs: Mapping[str, JobState], names: Iterable[str]) -> dict[str, JobState]:
    """The jobs of `names` that `jobs` holds, by name: the jobs a pass brings runs to, read before it changes them.
    Lazily decoded jobs decode whole, in one call, each slice most of whose jobs are named (a pass bringing runs
    to most of the estate), and one by one the jobs of the other slices (a pass bringing a few runs decodes no
    job it does not change); they come slice by slice, in the order the slices are stored, so that a reader
    walks the decoded jobs in sequence. Other jobs come in the order of `names`."""
    if isinstance(jobs, IndexedJobs):
        return jobs.held(names)
    get = jobs.get
    return {name: job for name in names if (job := get(name)) is not None}


def decoded(jobs: Mapping[str, JobState], names: list[str]) -> list[JobState]:
    """The jobs of `names`, in that order: from lazily decoded jobs, each stored slice holding some of them decoded
    in one call (a reader of most jobs, such as `status --json`, pays one decode per slice, not one per job)."""
    if isinstance(jobs, IndexedJobs):
        return jobs.many(names)
    return [jobs[name] for name in names]
