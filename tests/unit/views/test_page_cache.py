"""A re-render reuses the kept page's unchanged rows and sections (views/page.py `fragments_of`): the same bytes as
a render from nothing, over passes that change runs, mutes, teams, windows and health, with only the changed jobs
rendered again."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.core.model import Alert, JobState, Mute, Run, State, Status
from failstreak.pipeline.page import kept_fragments
from failstreak.views.jobs import Viewing, job_views
from failstreak.views.page import JobView, fragments_of, render
from tests.conftest import HOUR, T0
from tests.unit.views.test_jobs import policy


def add_run(job: JobState, n: int, status: Status) -> None:
    job.runs = [
        *job.runs,
        Run(finished_at=T0 + n * HOUR, run_id=f"{job.name}-{n}", attempt=0, status=status, reason="boom"),
    ][-5:]
    job.total_runs += 1
    job.last_seen = T0 + n * HOUR
    if status is Status.FAILED:
        job.consecutive_failures += 1
        job.total_failures += 1
    else:
        job.consecutive_failures = 0


def estate(n: int) -> State:
    state = State(jobs={f"job-<{i}>": JobState(name=f"job-<{i}>", owner=f"@team{i % 3}") for i in range(n)})
    for i, job in enumerate(state.jobs.values()):
        for r in range(3):
            add_run(job, r, Status.FAILED if (i + r) % 4 == 0 else Status.SUCCESS)
    return state


def views_of(
    state: State, mutes: list[Mute], window: int = 10, team_of: Callable[[str | None], str] | None = None
) -> list[JobView]:
    team = team_of or (lambda owner: (owner or "@default").lstrip("@"))
    return job_views(
        state,
        Viewing(
            mutes,
            lambda _: policy(window),
            lambda _, owner: [team(owner)],
            T0,
            lambda job: "failing" if job.consecutive_failures else "healthy",
        ),
    )


def test_a_render_from_the_kept_page_is_the_same_bytes_as_a_render_from_nothing_over_many_passes() -> None:
    # Given an estate of 40 jobs and its page
    state = estate(40)
    mutes: list[Mute] = []
    kept = render(views_of(state, mutes), T0)
    window, team_of = 10, None
    names = list(state.jobs)
    changes: list[Callable[[], None]] = [
        lambda: [add_run(state.jobs[n], 10, Status.FAILED) for n in names[:5]],  # runs come for a few jobs
        lambda: mutes.append(Mute.new("job-<1*", T0, reason="<deploy>")),  # a mute covers some
        lambda: [add_run(state.jobs[n], 11, Status.SUCCESS) for n in names[3:9]],  # some recover
        lambda: setattr(state.jobs[names[7]], "alert", Alert(T0, ["streak"], T0, 0, T0, 0)),
        mutes.clear,  # the mute is lifted
        lambda: state.jobs.pop(names[0]),  # a job is forgotten: every later anchor moves
        lambda: state.jobs.update({"new": JobState(name="new")}),  # a job comes
    ]
    for step, change in enumerate(changes):
        # When each pass changes something and the page is rendered again from the kept one's fragments
        change()
        views = views_of(state, mutes, window, team_of)
        again = render(views, T0 + step, cache=fragments_of(kept.html))
        fresh = render(views, T0 + step)

        # Then it is byte for byte the page a render from nothing makes
        assert (again.html, again.fingerprint) == (fresh.html, fresh.fingerprint), f"pass {step}"
        kept = again

    # And a change of config (window) or of teams, which touches every job, still gives the same bytes
    for window, team_of in ((20, None), (20, lambda _: "ops")):
        views = views_of(state, mutes, window, team_of)
        again = render(views, T0, cache=fragments_of(kept.html))
        assert again.html == render(views, T0).html
        assert again.rendered == len(views)
        kept = again


def test_a_pass_touching_k_jobs_renders_k_rows_and_reuses_the_rest() -> None:
    # Given a page of 200 jobs
    state = estate(200)
    kept = render(views_of(state, []), T0)
    assert kept.rendered == 200

    # When a pass brings runs to 7 of them and the page is rendered from the kept one's fragments
    touched = list(state.jobs)[50:57]
    for name in touched:
        add_run(state.jobs[name], 20, Status.FAILED)
    again = render(views_of(state, []), T0 + HOUR, cache=fragments_of(kept.html))

    # Then only those 7 jobs' rows and sections are rendered
    assert again.rendered == 7
    # And a pass that changes nothing renders none
    assert render(views_of(state, []), T0 + 2 * HOUR, cache=fragments_of(again.html)).rendered == 0


def test_a_damaged_kept_page_only_means_a_render_from_nothing() -> None:
    # Given an estate's page, cut short, and the same page with three rows' tags mangled
    state = estate(30)
    views = views_of(state, [])
    kept = render(views, T0).html
    cut = kept[: kept.index("<section", len(kept) * 3 // 4)]  # in the middle of the sections
    mangled = kept.replace("<tr data-job=", "<tr data-jobs=", 3)

    # When a page is rendered from each
    fresh = render(views, T0)
    from_cut = render(views, T0, cache=fragments_of(cut))
    from_mangled = render(views, T0, cache=fragments_of(mangled))

    # Then both are the page a render from nothing makes, every job rendered again (a damaged page is never
    # copied from: its rows' checksum differs)
    assert from_cut.html == fresh.html
    assert from_cut.rendered == 30
    assert from_mangled.html == fresh.html
    assert from_mangled.rendered == 30
    assert fragments_of("not a page") == {}


def test_rows_of_names_and_text_beyond_ascii_are_reused_by_their_lengths_in_bytes() -> None:
    # Given jobs, teams and reasons whose text is several bytes a character (accents, CJK, emoji), and their page
    state = State(
        jobs={
            f"données/été-{i}-{'日本' * i}-💥": JobState(
                name=f"données/été-{i}-{'日本' * i}-💥", owner=f"@équipe-{i % 2}"
            )
            for i in range(12)
        }
    )
    for i, job in enumerate(state.jobs.values()):
        for r in range(4):
            add_run(job, r, Status.FAILED if (i + r) % 3 == 0 else Status.SUCCESS)
        job.runs = [msgspec.structs.replace(run, reason=f"échec ✗ {run.run_id}") for run in job.runs]
    kept = render(views_of(state, []), T0)

    # When a pass brings a run to one job and the page is rendered from the kept one's fragments
    add_run(state.jobs[next(iter(state.jobs))], 9, Status.FAILED)
    views = views_of(state, [])
    again = render(views, T0 + HOUR, cache=fragments_of(kept.data))

    # Then every other row is reused, and the page is byte for byte a render from nothing
    assert again.rendered == 1
    assert again.data == render(views, T0 + HOUR).data
    assert len(fragments_of(again.data)) == 12


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_page_made_from_a_kept_page_cut_or_damaged_anywhere_is_the_page_made_from_nothing(
    data: st.DataObject,
) -> None:
    # Given a page of 20 jobs, cut, with bytes put in, taken out or changed anywhere
    state = estate(20)
    views = views_of(state, [])
    page = render(views, T0).data
    at = data.draw(st.integers(0, len(page)), label="at")
    how = data.draw(st.sampled_from(["cut", "insert", "delete", "change"]), label="how")
    junk = data.draw(st.binary(min_size=1, max_size=40), label="junk")
    damaged = {
        "cut": page[:at],
        "insert": page[:at] + junk + page[at:],
        "delete": page[:at] + page[at + len(junk) :],
        "change": page[:at] + junk + page[at + len(junk) :],
    }[how]

    # When its fragments are read and a page is rendered from them
    kept = fragments_of(damaged)
    again = render(views, T0, cache=kept)

    # Then nothing fails, and the page is byte for byte a render from nothing: the kept one was copied from whole
    # (its rows, sections and index untouched), or not at all
    assert set(kept) <= set(state.jobs)
    assert again.data == render(views, T0).data
    assert again.rendered in (0, 20)


def test_the_kept_page_s_fragments_are_read_from_its_file_and_none_from_a_missing_or_unreadable_one(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    # Given a kept page, a file that is no page, and no file
    page = tmp_path / "page.html"
    views = views_of(estate(5), [])
    page.write_text(render(views, T0).html, encoding="utf-8")
    junk = tmp_path / "junk.html"
    junk.write_bytes(b"\xff\xfe not utf-8")

    # When their fragments are read
    # Then the page gives one per job, the others none (a render from nothing)
    assert len(kept_fragments(str(page))) == 5
    assert kept_fragments(str(junk)) == {}
    assert kept_fragments(str(tmp_path / "missing.html")) == {}
