"""A pass that brings few runs to a large state decodes and compresses only what it reads: counted, not timed.

The state of a large estate is stored as gzip members of `JOBS_PER_MEMBER` jobs each, with an index of what the
stages that look at every job need (docs/state.md, "The index"). A pass decodes only the members of the jobs it
reads, and reuses the others as stored, so its work on the jobs it brings nothing for is their row of the index,
not their run history (docs/performance.md; `make bench` times it).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from failstreak.app.config import Config, Override, Thresholds
from failstreak.app.routing import Router
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Mute
from failstreak.notifiers.console import ConsoleNotifier
from failstreak.pipeline import page as page_stage
from failstreak.pipeline.context import PassSettings
from failstreak.pipeline.run import Ports, run_pass
from failstreak.state import codec, lazy
from failstreak.state.mutes import MutesStore
from failstreak.views import jobs as page_rows_module
from failstreak.views import page as page_view
from tests.conftest import HOUR, MINUTE, T0, calls_of, document_content
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier

PER_MEMBER = 64


def _estate(jobs: int) -> InMemoryStateStore:
    """A stored state of `jobs` healthy jobs, three runs each, as an earlier pass left it."""
    inbox = InMemoryInbox()
    lines = [
        json.dumps({"job": f"job-{j}", "run_id": k, "status": "success", "finished_at": T0 + k * MINUTE})
        for j in range(jobs)
        for k in range(3)
    ]
    inbox.add("history.jsonl", "\n".join(lines) + "\n")
    store = InMemoryStateStore()
    run_pass(pass_settings(Config()), Ports(store=store, inbox=inbox, clock=lambda: T0 + HOUR))
    assert store.data is not None
    assert store.data[:2] == b"\x1f\x8b"
    return store


def _decodes(monkeypatch: pytest.MonkeyPatch, decoder: str = "_DECODER") -> list[bytes]:
    """Every split of a member of jobs into the jobs' texts (or, with `decoder="_JOB"`, every decoding of one
    job), as it happens."""
    done: list[bytes] = []
    real = getattr(lazy, decoder)

    class Counting:
        def decode(self, data: bytes) -> object:
            done.append(bytes(data))
            return real.decode(data)

    monkeypatch.setattr(lazy, decoder, Counting())
    return done


@pytest.mark.parametrize("jobs", [2_000, 8_000])
@pytest.mark.parametrize("records", [0, 1])
def test_a_pass_decodes_and_compresses_the_head_and_only_the_slices_of_jobs_it_changed(
    jobs: int, records: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of many jobs, and a pass bringing one run to one of them, or nothing
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    store = _estate(jobs)
    inbox = InMemoryInbox()
    if records:
        inbox.add(
            "new.jsonl", json.dumps({"job": "job-1234", "run_id": 9, "status": "failed", "finished_at": T0 + HOUR})
        )
    compressed = calls_of(monkeypatch, codec, "compress")
    heads = calls_of(monkeypatch, codec, "_head_start")
    decoded, jobs_decoded = _decodes(monkeypatch), _decodes(monkeypatch, "_JOB")
    # When the pass runs
    summary = run_pass(pass_settings(Config()), Ports(store=store, inbox=inbox, clock=lambda: T0 + 2 * HOUR))
    # Then it compressed the head (with the index), and the one slice holding the job it changed, whatever the
    # estate; and split that slice alone, and decoded that job alone: no other job's run history
    assert summary.ingested == records
    assert summary.jobs == jobs
    assert (len(heads), len(compressed)) == (1, records)
    assert len(decoded) == records
    assert [b'"name":"job-1234"' in job for job in jobs_decoded] == [True] * records
    if records:
        assert [b'"name":"job-1234"' in body for body in compressed].count(True) == 1
        assert b'"name":"job-1234"' in decoded[0]
    # And the document is what a fresh encoding of the saved state gives, but for its index
    assert store.data is not None
    assert document_content(store.data) == document_content(
        codec.encode(codec.decode(store.data), compress_above=float("inf"))
    )


@pytest.mark.parametrize("threads", [False, True])
def test_a_pass_that_delivers_indexes_the_jobs_again_at_its_second_save_only_when_a_row_changed(
    threads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of many jobs, and a pass bringing one job its third failure in a row (an alert), sent
    # to the console (no thread), or by a notifier that threads its replies (Slack's way: the job records where)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    store = _estate(2_000)
    saves = store.saves
    inbox = InMemoryInbox()
    failures = [
        json.dumps({"job": "job-1234", "run_id": 10 + k, "status": "failed", "finished_at": T0 + HOUR + k * MINUTE})
        for k in range(3)
    ]
    inbox.add("new.jsonl", "\n".join(failures) + "\n")
    compressed = calls_of(monkeypatch, codec, "compress")
    heads = calls_of(monkeypatch, codec, "_head_start")
    cfg = Config()
    notifier = RecordingNotifier() if threads else ConsoleNotifier(io.StringIO())
    ports = Ports(
        store=store, inbox=inbox, notifiers={"console": notifier}, router=Router(cfg), clock=lambda: T0 + 2 * HOUR
    )
    # When the pass runs, saves, delivers the alert and saves again to record the delivery
    summary = run_pass(pass_settings(cfg), ports)
    # Then without a thread the second save changed no row of the index: it compressed neither the index nor a
    # slice of jobs again; with one, it indexed the jobs again and compressed the job's slice again
    assert (summary.alerting, summary.delivered, store.saves - saves) == (1, 1, 2)
    assert (len(heads), len(compressed)) == ((2, 2) if threads else (1, 1))
    # And the document is what a fresh encoding of the saved state gives, the delivery recorded
    assert store.data is not None
    saved = codec.decode(store.data)
    assert saved.outbox == []
    assert saved.jobs["job-1234"].threads == ({"console": "ref-job-1234"} if threads else {})
    assert document_content(store.data) == document_content(codec.encode(saved, compress_above=float("inf")))


def _renders(monkeypatch: pytest.MonkeyPatch, rendered: list[int] | None = None) -> list[int]:
    """Every rendering of the page by a pass, with the number of jobs it shows (and in `rendered`, how many of
    them were rendered rather than copied from the kept page)."""
    done: list[int] = []
    real = page_stage.compose

    def compose(placed: list[object], *args: object, **kwargs: object) -> page_view.Page:
        done.append(len(placed))
        page = real(placed, *args, **kwargs)  # type: ignore[arg-type]
        if rendered is not None:
            rendered.append(page.rendered)
        return page

    monkeypatch.setattr(page_stage, "compose", compose)
    return done


def _paged_estate(
    jobs: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[InMemoryStateStore, PassSettings]:
    """A stored state of `jobs` healthy jobs in slices of `PER_MEMBER`, and the settings of passes that keep its
    page in `tmp_path`, the page kept by an earlier pass."""
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    store = _estate(jobs)
    settings = pass_settings(Config(page=str(tmp_path / "page.html")))
    run_pass(settings, Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 2 * HOUR))
    return store, settings


def test_a_pass_that_changes_nothing_on_the_page_neither_renders_it_nor_decodes_a_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 2,000 jobs and its page, kept by an earlier pass
    store, settings = _paged_estate(2_000, tmp_path, monkeypatch)
    written = (tmp_path / "page.html").read_bytes()
    renders, decoded = _renders(monkeypatch), _decodes(monkeypatch)
    # When a pass brings nothing
    summary = run_pass(settings, Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 3 * HOUR))
    # Then the page is left as it was, without rendering it or decoding any job
    assert summary.page == "unchanged"
    assert (renders, decoded) == ([], [])
    assert (tmp_path / "page.html").read_bytes() == written


def test_a_pass_that_changes_a_job_renders_the_page_from_the_jobs_it_shows_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 2,000 jobs, a page showing at most 100 jobs, kept by an earlier pass
    monkeypatch.setattr(page_view, "MAX_JOBS", 100)
    store, settings = _paged_estate(2_000, tmp_path, monkeypatch)
    rendered: list[int] = []
    renders, decoded = _renders(monkeypatch, rendered), _decodes(monkeypatch)
    jobs_decoded = _decodes(monkeypatch, "_JOB")
    # When a pass brings a failure to one job
    inbox = InMemoryInbox()
    inbox.add("new.jsonl", json.dumps({"job": "job-1234", "run_id": 9, "status": "failed", "finished_at": T0 + HOUR}))
    summary = run_pass(settings, Ports(store=store, inbox=inbox, clock=lambda: T0 + 3 * HOUR))
    # Then the page is rendered once, from 100 jobs (the one with a streak first, then the first by name), of
    # which only the changed job's row is rendered: the others are copied from the kept page without reading their
    # jobs, so the only slice split and the only job decoded are the changed job's, by the pass itself
    assert summary.page == "written"
    assert (renders, rendered) == ([100], [1])
    assert len(decoded) == 1
    assert b'"name":"job-1234"' in decoded[0]
    assert [b'"name":"job-1234"' in job for job in jobs_decoded] == [True]
    page = (tmp_path / "page.html").read_text()
    assert 'data-job="job-1234"' in page
    assert "2000 jobs, 0 alerting" in page
    assert "1900 more jobs are not on this page" in page


def test_a_pass_digests_for_the_page_only_the_jobs_whose_stored_text_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 2,000 jobs in slices of 64, and a page of all of them kept by an earlier pass
    store, settings = _paged_estate(2_000, tmp_path, monkeypatch)
    digested = calls_of(monkeypatch, page_rows_module, "content_digest")
    rendered: list[int] = []
    _renders(monkeypatch, rendered)

    # When a pass brings a failure to job-1000, whose slice holds 63 other jobs
    inbox = InMemoryInbox()
    inbox.add("new.jsonl", json.dumps({"job": "job-1000", "run_id": 9, "status": "failed", "finished_at": T0 + HOUR}))
    summary = run_pass(settings, Ports(store=store, inbox=inbox, clock=lambda: T0 + 3 * HOUR))

    # Then its save stores that slice again, and the page digests job-1000's stored text alone: the other jobs of
    # the slice kept their text, which the kept page was made from; only job-1000's row is rendered
    assert summary.page == "written"
    assert rendered == [1]
    assert len(digested) == 1
    assert b'"name":"job-1000"' in digested[0]
    # And the page is byte for byte the one a pass makes from nothing, at the same time
    made = (tmp_path / "page.html").read_bytes()
    (tmp_path / "page.html").unlink()
    again = run_pass(settings, Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 3 * HOUR))
    assert again.page == "written"
    assert rendered[-1] == 2_000
    assert (tmp_path / "page.html").read_bytes() == made


def _failing_estate(jobs: int, failing: list[int], config: Config) -> InMemoryStateStore:
    """A stored state of `jobs` jobs, three runs each; those of `failing` failed all three (alerting)."""
    inbox = InMemoryInbox()
    lines = [
        json.dumps(
            {
                "job": f"job-{j}",
                "run_id": k,
                "status": "failed" if j in failing else "success",
                "finished_at": T0 + k * MINUTE,
            }
        )
        for j in range(jobs)
        for k in range(3)
    ]
    inbox.add("history.jsonl", "\n".join(lines) + "\n")
    store = InMemoryStateStore()
    summary = run_pass(pass_settings(config), Ports(store=store, inbox=inbox, clock=lambda: T0 + HOUR))
    assert summary.alerting == len(failing)
    return store


FAILING = [5, 700, 1500]


@pytest.mark.parametrize(
    ("hours", "config", "decoded", "reminders"),
    [
        pytest.param(2, Config(), 0, 0, id="no reminder due"),
        pytest.param(26, Config(), len(FAILING), len(FAILING), id="reminders due after 24 hours"),
        pytest.param(2, Config(thresholds=Thresholds(consecutive=2)), len(FAILING), 0, id="another config"),
    ],
)
def test_a_pass_decodes_an_alerting_job_it_brings_nothing_for_only_when_it_may_have_news(
    hours: int, config: Config, decoded: int, reminders: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 2,000 jobs, three of them alerting in three slices of jobs, saved under the default
    # config with the default reminder (every 24 hours)
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    store = _failing_estate(2_000, FAILING, Config())
    decodes = _decodes(monkeypatch)
    # When a pass brings nothing, some hours later, under that config or another one
    summary = run_pass(
        pass_settings(config), Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + hours * HOUR)
    )
    # Then it decoded the slices of the alerting jobs only when their reminders were due or the config changed,
    # and sent the reminders that were due
    assert len(decodes) == decoded
    assert [n.event.value for n in summary.notifications] == ["reminder"] * reminders
    assert summary.alerting == len(FAILING)


def test_a_pass_watching_silence_decodes_only_the_jobs_fallen_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stored state of 2,000 jobs, one of which is expected every hour, all last run at T0
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    config = Config(overrides=[Override(match="job-1234", expect_every="1h")])
    store = _failing_estate(2_000, [], config)
    decodes = _decodes(monkeypatch)
    # When a pass brings nothing, three hours later
    summary = run_pass(pass_settings(config), Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 3 * HOUR))
    # Then it decoded the silent job's slice alone, and the job is alerting on its silence
    assert len(decodes) == 1
    assert b'"name":"job-1234"' in decodes[0]
    assert [(n.job, n.event.value) for n in summary.notifications] == [("job-1234", "triggered")]


@pytest.mark.parametrize(("hours", "decoded"), [(2, 0), (26, len(FAILING))])
def test_a_pass_decodes_an_acknowledged_alerting_job_only_when_its_reminder_is_due_and_holds_the_reminder_back(
    hours: int, decoded: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 2,000 jobs, three of them alerting in three slices of jobs (reminded every 24
    # hours), and job-700 acknowledged by ana for two days in the mutes document
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    store = _failing_estate(2_000, FAILING, Config())
    book = MutesStore(InMemoryStateStore(), clock=lambda: T0 + HOUR)
    book.add_ack("job-700", "ana", hours=48)
    decodes = _decodes(monkeypatch)
    # When a pass brings nothing, some hours later
    summary = run_pass(
        pass_settings(Config()),
        Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + hours * HOUR, mutes=book),
    )
    # Then it decoded the alerting jobs' slices only when their reminders were due (the acknowledged job's too:
    # its reminder is recorded, held back), and the acknowledged job's reminder was suppressed, the others' not
    assert len(decodes) == decoded
    assert [(n.job, n.event.value, n.suppressed, n.mute_reason) for n in summary.notifications] == (
        [
            ("job-1500", "reminder", False, None),
            ("job-5", "reminder", False, None),
            ("job-700", "reminder", True, "acknowledged by ana"),
        ]
        if decoded
        else []
    )


def test_a_mute_written_to_the_mutes_document_renders_the_page_again_though_no_job_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 2,000 jobs, three alerting, and its page kept by an earlier pass, with an empty
    # mutes document
    monkeypatch.setattr(codec, "JOBS_PER_MEMBER", PER_MEMBER)
    store = _failing_estate(2_000, FAILING, Config())
    book = MutesStore(InMemoryStateStore(), clock=lambda: T0 + HOUR)
    settings = pass_settings(Config(page=str(tmp_path / "page.html")))
    run_pass(settings, Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 2 * HOUR, mutes=book))
    renders = _renders(monkeypatch)
    # When a pass brings nothing, then someone mutes job-700 in the mutes document and another pass brings nothing
    before = run_pass(settings, Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 3 * HOUR, mutes=book))
    book.add_mute(Mute.new("job-700", T0 + 3 * HOUR, reason="deploy"))
    after = run_pass(settings, Ports(store=store, inbox=InMemoryInbox(), clock=lambda: T0 + 4 * HOUR, mutes=book))
    # Then the first left the page unchanged, unrendered; the second rendered it, showing job-700 muted
    assert (before.page, after.page) == ("unchanged", "written")
    assert len(renders) == 1
    assert "muted: until unmuted (deploy)" in (tmp_path / "page.html").read_text()


def test_a_pass_with_the_page_and_1000_records_decodes_no_job_but_those_its_records_touch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a stored state of 4,000 jobs and its page showing at most 500 of them, kept by an earlier pass
    monkeypatch.setattr(page_view, "MAX_JOBS", 500)
    store, settings = _paged_estate(4_000, tmp_path, monkeypatch)
    rendered: list[int] = []
    renders, jobs_decoded = _renders(monkeypatch, rendered), _decodes(monkeypatch, "_JOB")
    # When a pass brings 1,000 records: ten runs each to 100 jobs across the estate, the last one failed
    touched = [f"job-{j}" for j in range(0, 4_000, 40)]
    lines = [
        json.dumps(
            {
                "job": name,
                "run_id": 10 + k,
                "status": "failed" if k == 9 else "success",
                "finished_at": T0 + HOUR + k * MINUTE,
            }
        )
        for name in touched
        for k in range(10)
    ]
    inbox = InMemoryInbox()
    inbox.add("new.jsonl", "\n".join(lines) + "\n")
    summary = run_pass(settings, Ports(store=store, inbox=inbox, clock=lambda: T0 + 3 * HOUR))
    # Then it decoded those 100 jobs and no other: the page, which now shows them first (their streaks), rendered
    # their rows alone and copied the other 400 from the kept page without reading their jobs
    assert summary.ingested == 1_000
    assert sorted(json.loads(job)["name"] for job in jobs_decoded) == sorted(touched)
    assert summary.page == "written"
    assert (renders, rendered) == ([500], [100])
    page = (tmp_path / "page.html").read_text()
    assert all(f'data-job="{name}"' in page for name in touched)
