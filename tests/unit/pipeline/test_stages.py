"""Each named stage of a pass on its own, over in-memory ports: what it reads from the context and leaves in it."""

from __future__ import annotations

from pathlib import Path

from failstreak.app.config import Config, parse_config
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Notification, State
from failstreak.core.mutes import config_mutes
from failstreak.pipeline import run
from failstreak.pipeline.context import PassContext, Ports
from failstreak.pipeline.summary import Summary
from failstreak.state.codec import decode, encode
from tests.conftest import T0
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier

NOW = T0 + 60_000
FAILED = b'{"job": "j", "run_id": %d, "status": "failed", "finished_at": %d}\n'


class ToConsole:
    """Routes every notification to the console notifier, with no team, and has one warning to report."""

    def destinations(self, n: Notification) -> list[str]:
        return ["console:"]

    def teams(self, n: Notification) -> list[str]:
        return []

    def digest_destinations(self, job: str, owner: str | None) -> list[str]:
        return ["console:"]

    def job_teams(self, job: str, owner: str | None) -> list[str]:
        return ["team-of-" + job]

    def owners_digest(self) -> str:
        return ""

    def warnings(self) -> list[str]:
        return ["owners file not read"]


def _context(store: InMemoryStateStore, inbox: InMemoryInbox | None = None, cfg: Config | None = None) -> PassContext:
    ports = Ports(store=store, inbox=inbox, notifiers={"console": RecordingNotifier()}, router=ToConsole())
    return PassContext("p1", NOW, pass_settings(cfg or Config()), ports, Summary(pass_id="p1", started_at=NOW))


def _failing_inbox(runs: int) -> InMemoryInbox:
    inbox = InMemoryInbox()
    inbox.add("a.jsonl", b"".join(FAILED % (i, T0 + i) for i in range(runs)))
    return inbox


def test_the_pass_runs_its_stages_in_order() -> None:
    # Given the pass's stage list; When it is read; Then it is load, collect, advance, save, archive, deliver,
    # settle, page, report
    names = [stage.__name__ for stage in run.STAGES]
    assert names == [
        "load",
        "collect_stage",
        "advance_stage",
        "save",
        "archive",
        "deliver_stage",
        "settle",
        "page",
        "report",
    ]


def test_load_decodes_the_stored_state_and_keeps_its_token() -> None:
    # Given a store holding a state of four passes
    store = InMemoryStateStore(encode(State(passes=4)))
    ctx = _context(store)
    # When the load stage runs
    run.load(ctx)
    # Then the context holds the decoded state and the version token it was read at
    assert ctx.state.passes == 4
    assert ctx.loaded is not None
    assert ctx.loaded.token == store.load().token


def test_collect_stage_reads_the_inbox_into_the_context() -> None:
    # Given an inbox with two runs
    ctx = _context(InMemoryStateStore(), _failing_inbox(2))
    run.load(ctx)
    # When the collect stage runs
    run.collect_stage(ctx)
    # Then both executions and their file are collected, and the summary counts the file
    assert [ex.run_id for ex in ctx.got.executions] == ["0", "1"]
    assert [d.item.key for d in ctx.got.files] == ["a.jsonl"]
    assert ctx.summary.files == 1


def test_advance_stage_counts_evaluates_enqueues_and_leases() -> None:
    # Given three failed runs collected (the default streak threshold is 3)
    ctx = _context(InMemoryStateStore(), _failing_inbox(3))
    run.load(ctx)
    run.collect_stage(ctx)
    # When the advance stage runs
    run.advance_stage(ctx)
    # Then the runs are counted, the job triggers, its notification is queued for the console and leased to the pass
    assert ctx.summary.ingested == 3
    assert [n.event.value for n in ctx.summary.notifications] == ["triggered"]
    assert [(e.destination, e.lease_owner) for e in ctx.state.outbox] == [("console:", "p1")]
    assert ctx.state.passes == 1


def test_save_writes_the_state_conditionally_and_keeps_the_new_token() -> None:
    # Given an advanced pass over an empty store
    store = InMemoryStateStore()
    ctx = _context(store, _failing_inbox(1))
    for stage in (run.load, run.collect_stage, run.advance_stage):
        stage(ctx)
    # When the save stage runs
    run.save(ctx)
    # Then the store holds the state once, and the context keeps its token and encoding for the second save
    assert store.saves == 1
    assert decode(store.data).jobs["j"].total_runs == 1
    assert ctx.token == store.load().token
    assert ctx.encoded is not None


def test_archive_moves_the_read_files_and_does_nothing_without_an_inbox() -> None:
    # Given a saved pass that read one file
    inbox = _failing_inbox(1)
    ctx = _context(InMemoryStateStore(), inbox)
    for stage in (run.load, run.collect_stage, run.advance_stage, run.save):
        stage(ctx)
    # When the archive stage runs
    run.archive(ctx)
    # Then the file left the inbox for the pass's folder
    assert inbox.files == {}
    assert list(inbox.archived) == ["a.jsonl"]
    # ... and a pass with no inbox archives nothing and does not fail
    bare = _context(InMemoryStateStore())
    run.archive(bare)
    assert bare.summary.quarantined == []


def test_deliver_and_settle_send_the_outbox_and_save_it_delivered() -> None:
    # Given a saved pass with one notification queued
    store = InMemoryStateStore()
    ctx = _context(store, _failing_inbox(3))
    for stage in (run.load, run.collect_stage, run.advance_stage, run.save):
        stage(ctx)
    # When the deliver and settle stages run
    run.deliver_stage(ctx)
    run.settle(ctx)
    # Then the notification went out, and the second save holds an empty outbox
    assert [r.delivered for r in ctx.results] == [True]
    assert ctx.summary.delivered == 1
    assert store.saves == 2
    assert decode(store.data).outbox == []


def test_settle_saves_nothing_when_nothing_was_sent() -> None:
    # Given a saved pass that queued nothing (one run, below the threshold)
    store = InMemoryStateStore()
    ctx = _context(store, _failing_inbox(1))
    for stage in (run.load, run.collect_stage, run.advance_stage, run.save, run.deliver_stage):
        stage(ctx)
    # When the settle stage runs
    run.settle(ctx)
    # Then the state is not saved a second time
    assert ctx.results == []
    assert store.saves == 1


def test_report_counts_what_is_pending_and_the_routing_warnings() -> None:
    # Given a pass whose state holds one pending notification
    ctx = _context(InMemoryStateStore(), _failing_inbox(3))
    for stage in (run.load, run.collect_stage, run.advance_stage):
        stage(ctx)
    # When the report stage runs
    run.report(ctx)
    # Then the summary counts it pending, carries the router's warning and a duration
    assert ctx.summary.pending == 1
    assert ctx.summary.warnings == ["owners file not read"]
    assert ctx.summary.duration_ms >= 0


def test_pass_settings_hold_the_config_as_plain_values() -> None:
    # Given a config with a retirement age, save attempts, a delivery bound and one mute
    cfg = parse_config(
        "retire_after_days: 2\nsave_attempts: 3\nnotify: {console: false, max_attempts: 7}\n"
        "mutes: [{match: 'etl-*', until_success: true, reason: maintenance}]\n"
    )
    # When the pass settings are built
    settings = pass_settings(cfg)
    # Then they hold the bounds in milliseconds and counts, and the config's mutes dated from this pass
    assert (settings.retire_after_ms, settings.save_attempts, settings.notify_max_attempts) == (2 * 86_400_000, 3, 7)
    policy, expected = settings.policy_for("etl-a"), cfg.policy_lookup()("etl-a")
    assert (policy.consecutive, policy.window, policy.history) == (
        expected.consecutive,
        expected.window,
        expected.history,
    )
    state = State()
    (mute,) = config_mutes(state, settings.config_mutes, NOW)
    assert (mute.match, mute.created_at, mute.reason) == ("etl-*", NOW, "maintenance")
    # ... and no retirement when the config turns it off
    assert pass_settings(parse_config("retire_after_days: null\n")).retire_after_ms is None


def test_the_page_stage_keeps_the_page_of_the_saved_state_with_each_jobs_teams(tmp_path: Path) -> None:
    # Given a pass with `page:` set, through its last save
    location = tmp_path / "page.html"
    ctx = _context(InMemoryStateStore(), _failing_inbox(3), parse_config(f"page: {location}\n"))
    for stage in run.STAGES[: run.STAGES.index(run.page)]:
        stage(ctx)

    # When the page stage runs, twice
    run.page(ctx)
    first = ctx.summary.page
    run.page(ctx)

    # Then the page holds the job with the router's teams, written once and then left alone
    assert (first, ctx.summary.page) == ("written", "unchanged")
    html = location.read_text()
    assert 'data-job="j" data-teams="team-of-j" data-alerting' in html
    assert html.count('data-status="failed"') == 3


def test_without_page_the_page_stage_does_nothing() -> None:
    # Given a pass without `page:`; When the page stage runs; Then it reports no page
    ctx = _context(InMemoryStateStore())
    run.load(ctx)
    run.page(ctx)
    assert ctx.summary.page is None
