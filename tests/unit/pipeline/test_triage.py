"""Triage through whole passes (docs/triage.md): categories, health, silence; in-memory ports, the real Router."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.app.config import Config, parse_config
from failstreak.app.routing import Router
from failstreak.app.status import job_triage
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Event, Notification
from failstreak.notifiers.render import details, what_happened
from failstreak.pipeline.run import Ports, run_pass
from failstreak.pipeline.summary import Summary
from failstreak.state.codec import decode
from tests.conftest import HOUR, MINUTE, T0
from tests.fakes import InMemoryInbox, InMemoryStateStore, RecordingNotifier

DAY = 24 * HOUR


class Estate:
    """A monitor over in-memory ports: each `run` drops records in the inbox and runs one pass at a time."""

    def __init__(self, config_text: str = "") -> None:
        self.cfg: Config = parse_config(config_text + "\nnotify: {console: true}\n")
        self.store = InMemoryStateStore()
        self.notifier = RecordingNotifier()
        self.files = 0

    def run(self, records: list[dict[str, object]], at: int) -> Summary:
        inbox = InMemoryInbox()
        if records:
            self.files += 1
            inbox.add(f"f{self.files}.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        ports = Ports(
            store=self.store,
            inbox=inbox,
            notifiers={"console": self.notifier},
            router=Router(self.cfg),
            clock=lambda: at,
        )
        return run_pass(pass_settings(self.cfg), ports)

    def job(self, name: str):  # type: ignore[no-untyped-def]
        return decode(self.store.data).jobs[name]


def rec(job: str, run_id: int, status: str = "failed", at: int | None = None, **extra: object) -> dict[str, object]:
    return {"job": job, "run_id": run_id, "status": status, "finished_at": at or T0 + run_id * MINUTE, **extra}


def events(summary: Summary) -> list[tuple[str | None, str]]:
    return [(n.job if not n.scope else None, n.event.value) for n in summary.notifications]


# ------------------------------------------------------------------------------------------------ categories


def test_three_infra_failures_in_a_row_do_not_trigger_the_job() -> None:
    # Given three failures its producer marked infra (a lost spot instance)
    estate = Estate()
    runs = [rec("etl", i, category="infra", reason="spot instance reclaimed") for i in range(1, 4)]
    # When a pass counts them
    summary = estate.run(runs, T0 + HOUR)
    # Then the job does not trigger: its streak and window did not move, and the failures are counted apart
    assert summary.notifications == []
    job = estate.job("etl")
    assert (job.consecutive_failures, job.window_failures, job.total_failures) == (0, 0, 0)
    assert [r.category for r in job.runs] == ["infra"] * 3
    judged, by_category = job_triage(estate.cfg, job, T0 + HOUR)
    assert by_category == {"code": 0, "infra": 3, "upstream": 0}
    assert judged.health.value == "healthy"


def test_three_code_failures_in_a_row_trigger_the_job() -> None:
    # Given three failures without a category (code, the default)
    estate = Estate()
    # When a pass counts them
    summary = estate.run([rec("etl", i, reason="AssertionError") for i in range(1, 4)], T0 + HOUR)
    # Then the job triggers on its streak
    assert events(summary) == [("etl", "triggered")]
    assert estate.job("etl").consecutive_failures == 3


def test_infra_failures_between_code_failures_neither_break_nor_lengthen_the_streak() -> None:
    # Given code, infra, code, infra, code failures (a GitLab runner failing now and then)
    estate = Estate()
    runs = [
        rec("ci/unit", 1, reason="script_failure"),
        rec("ci/unit", 2, reason="runner_system_failure", category="infra"),
        rec("ci/unit", 3, reason="script_failure"),
        rec("ci/unit", 4, reason="runner_system_failure", category="infra"),
        rec("ci/unit", 5, reason="script_failure"),
    ]
    # When a pass counts them
    summary = estate.run(runs, T0 + HOUR)
    # Then the three code failures are a streak of three, and the job triggers
    assert estate.job("ci/unit").consecutive_failures == 3
    assert events(summary) == [("ci/unit", "triggered")]


def test_a_config_rule_makes_a_reason_a_category_and_the_count_setting_counts_it() -> None:
    # Given a rule calling "Vault is sealed" a secrets failure, and a config that counts secrets failures too
    estate = Estate(
        "categories:\n  rules: [{match_reason: 'vault is sealed', category: secrets}]\n  count: [code, secrets]\n"
    )
    # When three such failures arrive
    summary = estate.run([rec("deploy", i, reason="Vault is sealed") for i in range(1, 4)], T0 + HOUR)
    # Then they carry the category and trigger the job
    assert [r.category for r in estate.job("deploy").runs] == ["secrets"] * 3
    assert events(summary) == [("deploy", "triggered")]


ESTATE_ALERT = """
teams: {platform: {slack: ['#platform']}}
categories:
  alerts: {infra: {team: platform, threshold: 3, hours: 1}}
"""


def test_the_estate_wide_infra_alert_fires_once_and_resolves() -> None:
    # Given an infra alert for the platform team: 3 infra failures across jobs within an hour
    estate = Estate(ESTATE_ALERT)
    at = T0 + 10 * HOUR
    outage = [rec(f"job-{i}", 1, at=at - 10 * MINUTE + i * MINUTE, category="infra") for i in range(4)]
    # When a pass brings four infra failures of four jobs, then a pass 5 minutes later, then one 2 hours later
    first = estate.run(outage, at)
    during = estate.run([], at + 5 * MINUTE)
    after = estate.run([rec("job-0", 2, "success", at=at + 90 * MINUTE)], at + 2 * HOUR)
    # Then one estate-wide triggered goes to the team (about no job), nothing while it lasts, one resolved after
    assert events(first) == [(None, "triggered")]
    [note] = first.notifications
    assert (note.scope, note.owner) == ("category:infra", "platform")
    assert what_happened(note) == "4 infra failures across jobs in the last 1 hour (threshold 3)"
    assert first.to_dict()["notifications"][0]["job"] is None
    assert first.to_dict()["notifications"][0]["scope"] == "category:infra"
    assert events(during) == []
    assert events(after) == [(None, "resolved")]
    # ... and none of the four jobs triggered on its own
    assert all(estate.job(f"job-{i}").alert is None for i in range(4))
    assert [d.notification.event for _, d in estate.notifier.sent] == [Event.TRIGGERED, Event.RESOLVED]


# ------------------------------------------------------------------------------------------------- health


def test_a_job_alternating_pass_and_fail_is_flaky_and_its_alert_says_so() -> None:
    # Given a job whose ten runs alternate failure and success
    estate = Estate()
    runs = [rec("e2e", i, "failed" if i % 2 else "success", reason="timeout") for i in range(1, 11)]
    # When a pass counts them (five failures in the window of ten: the cumulative threshold)
    summary = estate.run(runs, T0 + HOUR)
    # Then it alerts, as flaky, and every rendering says how often it flipped
    [note] = summary.notifications
    assert (note.event, note.health) == (Event.TRIGGERED, "flaky")
    assert note.health_detail == "flaky: 9 flips in the last 10 runs"
    assert details(note)[0] == "flaky: 9 flips in the last 10 runs"
    assert summary.to_dict()["notifications"][0]["health"] == "flaky"
    [(_, delivered)] = estate.notifier.sent
    assert delivered.notification.health_detail == "flaky: 9 flips in the last 10 runs"


def test_a_flaky_job_routed_to_the_digest_is_not_alerted() -> None:
    # Given flaky jobs routed to the digest
    estate = Estate("overrides: [{match: 'e2e*', flaky: digest}]\n")
    runs = [rec("e2e", i, "failed" if i % 2 else "success") for i in range(1, 11)]
    # When the alternating job crosses its cumulative threshold
    summary = estate.run(runs, T0 + HOUR)
    # Then its notification is recorded as suppressed, saying where it went, and nothing is sent
    [note] = summary.notifications
    assert note.suppressed
    assert note.mute_reason == "flaky, routed to: digest"
    assert estate.notifier.sent == []


def test_a_flaky_job_routed_to_the_digest_alerts_once_it_turns_broken() -> None:
    # Given an alternating job routed to the digest, whose incident was recorded, not sent
    estate = Estate("overrides: [{match: 'e2e*', flaky: digest}]\n")
    estate.run([rec("e2e", i, "failed" if i % 2 else "success") for i in range(1, 11)], T0 + HOUR)
    # When it then fails five times in a row (broken wins over flaky)
    summary = estate.run([rec("e2e", i) for i in range(11, 16)], T0 + 2 * HOUR)
    # Then its alert is sent, as broken
    [note] = summary.notifications
    assert (note.event, note.suppressed, note.health) == (Event.TRIGGERED, False, "broken")
    assert [e for _, e in estate.notifier.events()] == ["triggered"]


def test_a_broken_job_says_since_which_commit() -> None:
    # Given a job failing since commit 3ab2161 for four runs
    estate = Estate()
    runs = [rec("build", 1, "success", commit="0000000")]
    runs += [rec("build", i, commit="3ab2161" if i == 2 else f"{i:07d}") for i in range(2, 6)]
    # When a pass counts them
    [note] = estate.run(runs, T0 + HOUR).notifications
    # Then its health is broken, since that commit
    assert (note.health, note.health_detail) == ("broken", "broken since commit 3ab2161, 4 runs ago")


# ------------------------------------------------------------------------------------------------- silence


def test_an_hourly_job_that_stopped_six_hours_ago_triggers_silent_and_resolves_on_its_next_run() -> None:
    # Given expect_every: 1h, and a job whose last run was six hours before the pass
    estate = Estate("overrides: [{match: 'ingest-*', expect_every: 1h}]\n")
    estate.run([rec("ingest-orders", 1, "success", at=T0)], T0 + MINUTE)
    # When a pass runs six hours later, another an hour after, and one after it ran again
    silent = estate.run([], T0 + 6 * HOUR)
    still = estate.run([], T0 + 7 * HOUR)
    back = estate.run([rec("ingest-orders", 2, "success", at=T0 + 7 * HOUR + 10 * MINUTE)], T0 + 7 * HOUR + 15 * MINUTE)
    # Then it triggers once with the reason silent, then resolves when it runs again
    [note] = silent.notifications
    assert (note.event, note.reasons, note.health) == (Event.TRIGGERED, ("silent",), "silent")
    assert what_happened(note) == "silent: no run since it was expected 5 h ago"
    assert still.notifications == []
    assert [(n.event, n.reasons) for n in back.notifications] == [(Event.RESOLVED, ("silent",))]
    assert estate.job("ingest-orders").alert is None
    assert [e for _, e in estate.notifier.events()] == ["triggered", "resolved"]


def test_a_daily_job_that_ran_yesterday_is_not_silent() -> None:
    # Given expect_every: 1d and a run yesterday morning
    estate = Estate("overrides: [{match: 'report', expect_every: 1d}]\n")
    estate.run([rec("report", 1, "success", at=T0)], T0 + MINUTE)
    # When a pass runs this afternoon (30 hours later)
    summary = estate.run([], T0 + 30 * HOUR)
    # Then it is not silent
    assert summary.notifications == []


def test_a_silent_job_that_is_muted_is_recorded_not_sent() -> None:
    # Given a silent job under a mute in the config
    estate = Estate("overrides: [{match: 'ingest-*', expect_every: 1h}]\nmutes: [{match: 'ingest-*', runs: 5}]\n")
    estate.run([rec("ingest-orders", 1, "success", at=T0)], T0 + MINUTE)
    # When it falls silent
    summary = estate.run([], T0 + 6 * HOUR)
    # Then its triggered is suppressed, through the same mutes as any alert
    [note] = summary.notifications
    assert note.suppressed
    assert estate.notifier.sent == []


def _utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _office_hours_estate() -> Estate:
    """silence.learn on, and two weeks of a job running hourly on weekdays from 9 to 18 UTC (ending Friday
    2026-11-27 18:05), each week in its own pass."""
    estate = Estate("silence: {learn: true}\nhistory: 200\n")
    run = 0
    for week in (_utc("2026-11-16T00:00:00"), _utc("2026-11-23T00:00:00")):
        runs = []
        for day in range(5):
            for hour in range(9, 19):
                run += 1
                runs.append(rec("office", run, "success", at=week + day * DAY + hour * HOUR + 5 * MINUTE))
        estate.run(runs, week + 4 * DAY + 18 * HOUR + 30 * MINUTE)
    return estate


def test_a_learned_office_hours_job_is_not_silent_on_saturday_nor_at_night() -> None:
    # Given a job learned from two weeks of office hours
    estate = _office_hours_estate()
    # When passes run on Saturday afternoon and on Monday at 03:00
    saturday = estate.run([], _utc("2026-11-28T15:00:00"))
    night = estate.run([], _utc("2026-11-30T03:00:00"))
    # Then it is not silent
    assert saturday.notifications == []
    assert night.notifications == []


def test_a_learned_office_hours_job_that_last_ran_at_ten_is_silent_on_monday_at_one() -> None:
    # Given the same job, which ran on Monday at 10:05 and not since
    estate = _office_hours_estate()
    estate.run(
        [
            rec("office", 1000, "success", at=_utc("2026-11-30T09:05:00")),
            rec("office", 1001, "success", at=_utc("2026-11-30T10:05:00")),
        ],
        _utc("2026-11-30T10:10:00"),
    )
    # When a pass runs on Monday at 13:00
    summary = estate.run([], _utc("2026-11-30T13:00:00"))
    # Then it triggers silent, expected since 11:00
    [note] = summary.notifications
    assert (note.event, note.reasons, note.since) == (Event.TRIGGERED, ("silent",), _utc("2026-11-30T11:00:00"))


# --------------------------------------------------------------------------------------------- properties

STATUSES = st.sampled_from(["success", "failed", "failed", "canceled"])
CATEGORIES = st.sampled_from([None, None, "infra", "upstream"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(STATUSES, CATEGORIES), max_size=25))
def test_categories_and_health_never_change_the_counters_of_code_failures(
    history: list[tuple[str, str | None]],
) -> None:
    # Given any history of a job whose failures are code, infra or upstream
    with_categories = Estate()
    code_only = Estate()
    runs = [
        rec("j", i + 1, status, **({"category": category} if category else {}))
        for i, (status, category) in enumerate(history)
    ]
    # When it is counted, and the same history without its non-code failures is counted apart
    with_categories.run(runs, T0 + DAY)
    code_only.run([r for r in runs if not (r["status"] == "failed" and "category" in r)], T0 + DAY)
    # Then the counters are the same: the other categories never touch them, nor does judging health
    if not runs:
        return
    a = with_categories.job("j")
    job_triage(with_categories.cfg, a, T0 + DAY)
    counters = (a.consecutive_failures, a.window_failures, a.window_size, a.total_runs, a.total_failures)
    if any(r["status"] != "failed" or "category" not in r for r in runs):
        b = code_only.job("j")
        assert counters == (b.consecutive_failures, b.window_failures, b.window_size, b.total_runs, b.total_failures)
    else:
        assert counters == (0, 0, 0, 0, 0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 30 * DAY), min_size=1, max_size=12),
    st.lists(st.integers(1, 90 * DAY), min_size=1, max_size=5),
)
def test_silence_never_fires_for_a_job_with_neither_a_declared_cadence_nor_learn(
    times: list[int], later: list[int]
) -> None:
    # Given jobs with runs at any times, no expect_every and silence.learn off
    estate = Estate()
    estate.run([rec("quiet", i, "success", at=T0 + t) for i, t in enumerate(times)], T0 + max(times) + 1)
    # When passes run at any later times
    notes: list[Notification] = []
    for gap in sorted(later):
        notes.extend(estate.run([], T0 + max(times) + gap).notifications)
    # Then none of them says the job is silent
    assert notes == []


def test_the_run_history_page_a_pass_keeps_shows_each_jobs_health_and_filters_by_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Given a monitor that keeps a page, a job alternating failure and success, and one that always succeeds
    page = tmp_path / "page.html"
    estate = Estate(f"page: {page}\n")
    runs = [rec("e2e", i, "failed" if i % 2 else "success") for i in range(1, 11)]
    runs += [rec("unit", i, "success") for i in range(1, 11)]
    # When a pass counts them
    summary = estate.run(runs, T0 + HOUR)
    # Then the page it wrote marks the flaky job and the healthy one, and offers a health filter with both
    assert summary.page == "written"
    html = page.read_text()
    assert 'data-job="e2e"' in html
    assert 'data-health="flaky"' in html
    assert 'data-health="healthy"' in html
    assert '<option value="flaky">flaky</option>' in html
