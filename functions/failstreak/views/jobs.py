"""Each job as the run-history page shows it, from the state and plain lookups (no config, no I/O). Pure."""

from __future__ import annotations

import fnmatch
import heapq
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import msgspec

from failstreak.core.alerting import mute_covering
from failstreak.core.jobindex import ALERTING, Brief, IndexedJobs, briefs
from failstreak.core.model import JobState, Mute, State, iso
from failstreak.core.policy import JobPolicy
from failstreak.views import page
from failstreak.views.page import NO_TEAM, JobView, KeptRow, Placed, Totals, content_digest, context_digest

_ENCODE = msgspec.json.Encoder().encode


def describe_mute(mute: Mute, job: JobState) -> str:
    """A mute as a person reads it: until when, or for how many more runs, and why."""
    parts = []
    if mute.until is not None:
        parts.append(f"until {iso(mute.until)}")
    if mute.runs is not None:
        parts.append(f"for {max(mute.runs - job.mute_runs.get(mute.id, 0), 0)} more runs")
    if mute.until_success:
        parts.append("until the next success")
    text = ", ".join(parts) or "until unmuted"
    return f"{text} ({mute.reason})" if mute.reason else text


@dataclass(frozen=True, slots=True)
class Viewing:
    """How the page views a job: its window (`policy_for`), its owning teams (`teams_of(name, owner)`), the mute of
    `mutes` covering it at `now`, and its health (`health_of`, when given)."""

    mutes: Sequence[Mute]
    policy_for: Callable[[str], JobPolicy]
    teams_of: Callable[[str, str | None], list[str]]
    now: int
    health_of: Callable[[JobState], str] | None = None

    def views(self, jobs: Iterable[JobState]) -> list[JobView]:
        """Each of `jobs` as the page shows it."""
        views = []
        for job in jobs:
            mute = mute_covering(job, self.mutes, self.now)
            views.append(
                JobView(
                    job=job,
                    teams=tuple(self.teams_of(job.name, job.owner)),
                    window=self.policy_for(job.name).window,
                    mute=describe_mute(mute, job) if mute is not None else None,
                    incidents=tuple(job.incidents),
                    health=self.health_of(job) if self.health_of is not None else None,
                )
            )
        return views


def job_views(state: State, viewing: Viewing) -> list[JobView]:
    """Every job of `state`, viewed."""
    return viewing.views(state.jobs.values())


def _order(b: Brief) -> tuple[bool, int, str]:
    """The page's order of jobs: alerting first, then the longest streak, then the name (`page._shown`)."""
    return (not b.flags & ALERTING, -b.streak, b.name)


def page_views(state: State, viewing: Viewing, max_jobs: int | None = None) -> tuple[list[JobView], Totals]:
    """`job_views` of the jobs the page shows (at most `max_jobs`, by default `page.MAX_JOBS`, picked as
    `page.render` picks them), with the estate's totals: picked from the state's index, so that only those jobs
    are read (docs/performance.md)."""
    shown, totals = _pick(state, page.MAX_JOBS if max_jobs is None else max_jobs)
    jobs = [state.jobs[b.name] for b in shown]
    return viewing.views(jobs), totals


@dataclass(frozen=True, slots=True)
class Shown:
    """The jobs a page shows, placed (`page.compose`), with the estate's totals and the digests of the stored
    slices of jobs they were read from (None when the jobs are not stored in slices)."""

    placed: list[Placed]
    totals: Totals
    slices: list[str] | None


def page_rows(
    state: State,
    viewing: Viewing,
    *,
    settings: str,
    silent: Collection[str] = (),
    kept: Mapping[str, KeptRow] | None = None,
    stored: IndexedJobs | None = None,
    max_jobs: int | None = None,
) -> Shown:
    """The jobs the page shows (as `page_views` picks them), each with its row of the `kept` page when nothing it
    is made from changed, known before the job is read: the job as stored (the digest of its stored slice when
    that is one the kept page was made from, else of its own stored text), its mutes at `viewing.now`, whether it is
    `silent` (its health), and `settings`, a digest of everything else that shapes every row (the config and
    owners: teams, windows, health). Only the other jobs are decoded, viewed and rendered (docs/page.md).
    `stored`: the jobs as just saved, when those of `state` are not themselves read from stored slices (a state
    read from an older or a small document and saved in slices)."""
    shown, totals = _pick(state, page.MAX_JOBS if max_jobs is None else max_jobs)
    jobs = state.jobs
    keys = _Keys(
        jobs if isinstance(jobs, IndexedJobs) else stored, kept or {}, viewing.mutes, viewing.now, silent, settings
    )
    placed: list[Placed | None] = []
    todo: list[tuple[int, str, str]] = []
    for b in shown:
        found = keys.place(b, jobs)
        if isinstance(found, Placed):
            placed.append(found)
        else:
            todo.append((len(placed), *found))
            placed.append(None)
    # Decoded after every slice was looked at: reading a job marks its slice as no longer as stored.
    views = viewing.views([jobs[shown[at].name] for at, _, _ in todo])
    for (at, content, context), v in zip(todo, views, strict=True):
        b = shown[at]
        team = v.teams[0] if v.teams else NO_TEAM
        placed[at] = Placed(b.name, b.alerting, b.streak, team, v.health, content, context, v)
    slices = list(dict.fromkeys(keys.slices)) if keys.indexed is not None else None
    return Shown([p for p in placed if p is not None], totals, slices)


def _pick(state: State, max_jobs: int) -> tuple[list[Brief], Totals]:
    """The rows of the index of the jobs the page shows (the first `max_jobs` by `_order`), and the estate's
    totals. The alerting jobs come first; of the others, only those at or above the streak that fills the page
    are compared (a comparison of a row's order, per job of a large estate, would cost more than the rest)."""
    rows = list(briefs(state.jobs))
    alerting = [b for b in rows if b.flags & ALERTING]
    totals = Totals(len(rows), len(alerting))
    if len(rows) <= max_jobs:
        return rows, totals
    if len(alerting) >= max_jobs:
        return sorted(alerting, key=_order)[:max_jobs], totals
    others = [b for b in rows if not b.flags & ALERTING]
    room = max_jobs - len(alerting)
    streaks = Counter(b.streak for b in others)
    # The lowest streak some of whose jobs are shown: every job above it is, and its first names fill the rest.
    above = 0
    for streak in sorted(streaks, reverse=True):
        if above + streaks[streak] >= room:
            break
        above += streaks[streak]
    higher = [b for b in others if b.streak > streak]
    level = heapq.nsmallest(room - above, ((b.name, b) for b in others if b.streak == streak))
    return sorted([*alerting, *higher, *(b for _, b in level)], key=_order), totals


class _Keys:
    """Each shown job's digests, known before it is read, and its row of the kept page when they match."""

    def __init__(
        self,
        indexed: IndexedJobs | None,
        kept: Mapping[str, KeptRow],
        mutes: Sequence[Mute],
        now: int,
        silent: Collection[str],
        settings: str,
    ) -> None:
        self.indexed, self.kept = indexed, kept
        self.now, self.silent, self.settings = now, silent, settings
        self.kept_slices: Collection[str] = getattr(kept, "slices", ())
        self.marks = [(re.compile(fnmatch.translate(m.match)).match, m, _ENCODE(m).decode()) for m in mutes]
        self.contexts: dict[str, str] = {}
        self.slices: list[str] = []  # of the shown jobs, in order (repeated)

    def place(self, b: Brief, jobs: Mapping[str, JobState]) -> Placed | tuple[str, str]:
        """The job placed with its kept row, or its digests (content, context) when it must be rendered."""
        name = b.name
        situation = _situation(name, self.marks, self.now, self.silent)
        context = self.contexts.get(situation)
        if context is None:
            context = self.contexts[situation] = context_digest(self.settings, situation)
        indexed = self.indexed
        held_in = indexed.slice_of(name) if indexed is not None else None
        if held_in is not None:
            self.slices.append(held_in)
        row = self.kept.get(name)
        if (
            row is not None
            and row.context == context
            and indexed is not None
            and (held_in in self.kept_slices or indexed.unchanged_in(name, self.kept_slices))
        ):
            content = row.content
        else:
            content = content_digest(indexed.text_of(name) if indexed is not None else _ENCODE(jobs[name]))
        if row is not None and row.context == context and row.content == content:
            return Placed(name, b.alerting, b.streak, row.team, row.health, content, context, None, row)
        return content, context


def _situation(
    name: str, marks: Sequence[tuple[Callable[[str], object], Mute, str]], now: int, silent: Collection[str]
) -> str:
    """What a job's row depends on at `now` besides the job and the settings: whether it is silent, and the mutes
    that match its name (each as it is, and whether it has ended)."""
    parts = ["s" if name in silent else ""]
    for match, mute, mark in marks:
        if match(name):
            parts.append(mark + ("x" if mute.until is not None and now >= mute.until else ""))
    return "\x00".join(parts)
