"""A pass's page reuses the kept page's rows by what is known before a job is read (views/jobs.py `page_rows`): the
job as stored (its stored slice, else its own text), its mutes and silence now, and the settings. Over passes
that change runs, invisible fields, mutes, silence, settings, teams, windows and the job set, the page is the same
bytes as a render from nothing, and only the jobs whose inputs changed are read and rendered."""

from __future__ import annotations

import fnmatch
import random
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from failstreak.core.model import Alert, JobState, Mute, Run, State, Status
from failstreak.state import codec, lazy
from failstreak.views.jobs import Viewing, job_views, page_rows
from failstreak.views.page import Page, compose, fragments_of, render
from tests.conftest import HOUR, T0
from tests.unit.views.test_jobs import policy

PER_SLICE = 8


def add_run(job: JobState, n: int, status: Status) -> None:
    job.runs = [*job.runs, Run(T0 + n * HOUR, f"{job.name}-{n}", 0, status, reason="boom")][-5:]
    job.total_runs += 1
    job.last_seen = T0 + n * HOUR
    job.consecutive_failures = job.consecutive_failures + 1 if status is Status.FAILED else 0


def stored_estate(n: int) -> bytes:
    """A state of `n` jobs as a pass stores a large one: compressed, in slices of `PER_SLICE` jobs."""
    state = State(jobs={f"job-<{i}>": JobState(name=f"job-<{i}>", owner=f"@team{i % 3}") for i in range(n)})
    for i, job in enumerate(state.jobs.values()):
        for r in range(3):
            add_run(job, r, Status.FAILED if (i + r) % 4 == 0 else Status.SUCCESS)
    return codec.encode_document(state, compress_above=0).body


@dataclass
class Estate:
    """A stored estate and what its page depends on besides the jobs, changed by each pass."""

    stored: bytes
    mutes: list[Mute] = field(default_factory=list)
    silent: set[str] = field(default_factory=set)
    window: int = 10
    team_of: Callable[[str | None], str] = lambda owner: (owner or "@default").lstrip("@")
    settings: str = "config-1"
    now: int = T0
    decoded: int = 0  # jobs decoded by the last page
    inflated: int = 0  # slices of jobs inflated (split into their jobs' texts) by the last page

    def change(self, edit: Callable[[State], object]) -> None:
        """A pass: the state read (its jobs lazily), `edit` applied, and saved again."""
        state = codec.decode(self.stored)
        edit(state)
        self.stored = codec.encode_document(state, compress_above=0).body

    def page(self, kept: Page | None) -> Page:
        """The page as a pass makes it after its save, from the kept page's rows when there is one."""
        state, _ = codec.decode_document(self.stored)
        kept_rows = fragments_of(kept.data) if kept is not None else None
        viewing = Viewing(
            self.mutes,
            lambda _: policy(self.window),
            lambda _, owner: [self.team_of(owner)],
            self.now,
            lambda job: "silent" if job.name in self.silent else "healthy",
        )
        shown = page_rows(
            state,
            viewing,
            settings=self.settings,
            silent=self.silent,
            kept=kept_rows,
        )
        assert isinstance(state.jobs, lazy.LazyJobs)
        self.decoded, self.inflated = state.jobs.jobs_decoded, state.jobs.decoded
        return compose(shown.placed, self.now, totals=shown.totals, slices=shown.slices, kept=kept_rows)


def names(e: Estate) -> list[str]:
    return list(codec.decode(e.stored).jobs)


@pytest.fixture(autouse=True)
def _small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_SLICE)


def _steps(e: Estate, jobs: list[str]) -> list[tuple[str, Callable[[], object], Collection[str] | None]]:
    """Each pass's change, and the jobs whose rows it changes (None: every row)."""

    def runs(state: State) -> None:
        for n in jobs[:5]:
            add_run(state.jobs[n], 10, Status.FAILED)

    def thread(state: State) -> None:
        state.jobs[jobs[9]].threads = {"slack:C1": "1700000000.000100"}  # not on the page

    def alert(state: State) -> None:
        state.jobs[jobs[7]].alert = Alert(T0, ["streak"], T0, 0, T0, 0)

    def forget(state: State) -> None:
        del state.jobs[jobs[0]]

    def arrive(state: State) -> None:
        state.jobs["new"] = JobState(name="new", runs=[Run(T0, "1", 0, Status.SUCCESS)])

    def config(window: int, team: Callable[[str | None], str] | None, digest: str) -> Callable[[], None]:
        def apply() -> None:
            e.window, e.settings = window, digest
            e.team_of = team or e.team_of

        return apply

    ones = [n for n in jobs if fnmatch.fnmatchcase(n, "job-<1*")]
    ending = Mute(id="m2", match="job-<2>", created_at=T0, until=T0 + HOUR)
    return [
        ("runs come for five jobs", lambda: e.change(runs), jobs[:5]),
        ("a job's stored bytes change, not its view", lambda: e.change(thread), [jobs[9]]),
        ("a mute covers job-<1*", lambda: e.mutes.append(Mute.new("job-<1*", T0, reason="<deploy>")), ones),
        ("a mute with an end covers job-<2>", lambda: e.mutes.append(ending), [jobs[2]]),
        ("the hour passes: that mute ends", lambda: setattr(e, "now", T0 + HOUR), [jobs[2]]),
        ("a job falls silent", lambda: e.silent.add(jobs[3]), [jobs[3]]),
        ("a job alerts", lambda: e.change(alert), [jobs[7]]),
        ("the mutes are lifted", e.mutes.clear, [*ones, jobs[2]]),
        ("a job is forgotten: every later anchor moves", lambda: e.change(forget), ()),
        ("a job comes", lambda: e.change(arrive), ["new"]),
        ("the config changes the window", config(20, None, "config-2"), None),
        ("the config changes nothing shown, but its digest", config(20, None, "config-3"), None),
        ("the owners file moves every job to ops", config(20, lambda _: "ops", "config-4"), None),
    ]


def test_a_page_from_the_kept_one_is_the_same_bytes_as_from_nothing_reading_only_the_changed_jobs() -> None:
    # Given an estate of 60 jobs stored in slices, and its page
    e = Estate(stored_estate(60))
    kept = e.page(None)
    assert (kept.rendered, e.decoded) == (60, 60)
    for what, change, touched in _steps(e, names(e)):
        # When a pass changes something and the page is made again from the kept page
        change()
        again = e.page(kept)
        decoded = e.decoded
        fresh = e.page(None)

        # Then it is byte for byte the page made from nothing
        assert (again.html, again.fingerprint) == (fresh.html, fresh.fingerprint), what
        # And only the jobs whose row depends on the change were read and rendered (with a change of mutes, those
        # the mutes match; with a change of settings, all of them)
        assert again.rendered == decoded == len(names(e) if touched is None else touched), what
        kept = again


def test_a_pass_that_changes_nothing_on_the_page_reads_no_job_for_it() -> None:
    # Given an estate stored in slices and its page
    e = Estate(stored_estate(40))
    kept = e.page(None)

    # When the state is read and saved without a change and the page made again
    e.change(lambda state: None)
    again = e.page(kept)

    # Then no job was read, nor even a slice of jobs inflated, and every row was copied
    assert (again.rendered, e.decoded, e.inflated) == (0, 0, 0)
    assert again.html == kept.html


def test_a_job_in_a_changed_slice_is_still_reused_when_its_own_text_is_unchanged() -> None:
    # Given an estate stored in slices of 8 jobs and its page
    e = Estate(stored_estate(16))
    kept = e.page(None)
    first = names(e)[0]

    # When one job of the first slice changes (the slice is stored again)
    e.change(lambda state: add_run(state.jobs[first], 20, Status.FAILED))
    again = e.page(kept)

    # Then only that job is read and rendered: its slice-mates are known unchanged by their own stored texts (its
    # slice alone inflated), the other slice's jobs by their slice
    assert (again.rendered, e.decoded, e.inflated) == (1, 1, 1)
    assert again.html == e.page(None).html


def reindexed(page: bytes, edit: Callable[[dict[str, Any]], object] | None = None) -> bytes:
    """`page` with its index edited by `edit` and sealed again (the CRC-32 of its rows and sections, and its own),
    as another pass could have written it (docs/page.md)."""
    base = page.index(b"<th>runs</th></tr></thead>") + len(b"<th>runs</th></tr></thead>")
    at = page.rindex(b"<!--i:")
    end = page.index(b"-->", at)
    index = msgspec.json.decode(page[at + 15 : end])
    index["crc"] = zlib.crc32(page[base:at])
    if edit is not None:
        edit(index)
    text = msgspec.json.encode(index).replace(b"<", b"\\u003c").replace(b">", b"\\u003e")
    return page[:at] + b"<!--i:%08x %s" % (zlib.crc32(text), text) + page[end:]


def test_a_damaged_or_foreign_kept_page_only_means_a_render_from_nothing() -> None:
    # Given an estate's page; the same page cut short, with a byte of a row changed, with a byte of its index
    # changed; and a page made from the same jobs by a render of full views (`failstreak html`, whose rows carry
    # other digests)
    e = Estate(stored_estate(30))
    kept = e.page(None)
    data = kept.data
    cut = data[: data.index(b"<section", data.index(b"<h2>Jobs</h2>") + len(data) // 10)]
    row = data.index(b"<tr data-job=", data.index(b"<tbody")) + 20
    in_row = data[:row] + bytes([data[row] ^ 1]) + data[row + 1 :]
    spot = data.rindex(b"<!--i:") + 40
    in_index = data[:spot] + bytes([data[spot] ^ 1]) + data[spot + 1 :]
    views = job_views(
        codec.decode(e.stored),
        Viewing([], lambda _: policy(e.window), lambda _, owner: [e.team_of(owner)], T0, lambda _: "healthy"),
    )
    foreign = render(views, T0).data
    fresh = e.page(None)

    # When the page is made from each
    made = [e.page(Page((page,), "")) for page in (cut, in_row, in_index, foreign)]

    # Then each is the page a render from nothing makes, every job rendered again: a kept page is copied from
    # only when its rows, sections and index are those it was written with
    assert [m.data for m in made] == [fresh.data] * 4
    assert [m.rendered for m in made] == [30] * 4


def test_a_row_whose_digest_on_the_kept_page_is_not_its_job_s_is_rendered_again() -> None:
    # Given an estate's page as another pass wrote it: one row under another digest of its job, whose slice the
    # page does not list as one it was made from
    e = Estate(stored_estate(30))
    kept = e.page(None)

    def other(index: dict[str, Any]) -> None:
        first = index["rows"][0]
        first[1] = "0123456789abcdef"
        state, _ = codec.decode_document(e.stored)
        assert isinstance(state.jobs, lazy.LazyJobs)
        index["slices"].remove(state.jobs.slice_of(first[0]))

    # When the page is made from it
    again = e.page(Page((reindexed(kept.data, other),), ""))

    # Then that job alone is rendered again, and the page is the one a render from nothing makes
    assert again.rendered == 1
    assert again.data == e.page(None).data


@pytest.mark.parametrize("max_jobs", [1, 7, 30, 95, 120, 400])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_shown_jobs_are_the_first_by_alerting_then_streak_then_name(max_jobs: int, seed: int) -> None:
    # Given 300 jobs of random streaks, a random few alerting
    rng = random.Random(seed)
    state = State(jobs={})
    for i in range(300):
        job = JobState(name=f"j{rng.randrange(10**6):06d}-{i}", consecutive_failures=rng.choice([0, 0, 0, 1, 2, 5]))
        job.alert = Alert(T0, ["streak"], T0, 0, T0, 0) if rng.random() < 0.1 else None
        state.jobs[job.name] = job

    # When the page's jobs are picked
    shown = page_rows(state, Viewing([], lambda _: policy(10), lambda _, o: ["t"], T0), settings="s", max_jobs=max_jobs)

    # Then they are the first `max_jobs` in the page's order, with the estate's totals
    order = sorted(state.jobs.values(), key=lambda j: (j.alert is None, -j.consecutive_failures, j.name))
    assert {p.name for p in shown.placed} == {j.name for j in order[:max_jobs]}
    assert (shown.totals.jobs, shown.totals.alerting) == (300, sum(j.alert is not None for j in order))
