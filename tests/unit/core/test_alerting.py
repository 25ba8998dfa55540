"""The alert rules (docs/configuration.md), driven through the pure engine and rules (no I/O)."""

from __future__ import annotations

from failstreak.app.config import Config
from failstreak.core import alerting, counting
from failstreak.core.incidents import KEPT, Incident
from failstreak.core.model import Event, Mute, Notification, State
from tests.conftest import HOUR, T0, config, ex


class Monitor:
    """Applies runs and evaluates like a pass does, with a clock the test moves."""

    def __init__(self, cfg_text: str = "", mutes: list[Mute] | None = None) -> None:
        self.cfg: Config = config(cfg_text)
        self.state = State()
        self.now = T0 + 1000 * HOUR
        self.next_run = 1
        self.mutes = mutes or []

    def runs(self, pattern: str, job: str = "j") -> list[Notification]:
        """One pass over runs given as a string of F (failed) and S (success)."""
        batch = []
        for ch in pattern:
            batch.append(ex(job, self.next_run, "failed" if ch == "F" else "success", reason=f"boom {self.next_run}"))
            self.next_run += 1
        return self.evaluate(batch)

    def evaluate(self, batch: list) -> list[Notification]:  # type: ignore[type-arg]
        self.now += HOUR
        stats = counting.apply(self.state, batch, self.cfg.policy_for, self.now)
        out = []
        for name in sorted(set(stats.touched) | {n for n, j in self.state.jobs.items() if j.alert}):
            job = self.state.jobs[name]
            mute = alerting.active_mute(job, self.mutes, self.now, stats.touched.get(name))
            n = alerting.evaluate(job, self.cfg.policy_for(name), self.now, mute)
            if n is not None:
                out.append(n)
        return out

    def pass_over(self, pattern: str) -> list[tuple[str, tuple[str, ...], bool]]:
        """One run per pass; the events of every pass."""
        events = []
        for ch in pattern:
            events.extend((n.event.value, n.reasons, n.suppressed) for n in self.runs(ch))
        return events


def test_three_failures_in_a_row_trigger_once() -> None:
    # Given a healthy job
    m = Monitor()
    # When it fails five times, one pass per run
    events = m.pass_over("SFFFFF")
    # Then exactly one triggered, at the third failure, naming the consecutive threshold
    assert events == [("triggered", ("consecutive",), False)]
    assert m.state.jobs["j"].alert is not None


def test_the_trigger_names_every_threshold_crossed() -> None:
    # Given a job with 4 failures in its last 9 runs
    m = Monitor()
    m.runs("SFSFSFSFS")
    # When it fails three more times in one pass
    notes = m.runs("FFF")
    # Then both thresholds are named
    assert [(n.event, n.reasons) for n in notes] == [(Event.TRIGGERED, ("consecutive", "cumulative"))]
    assert (notes[0].consecutive_failures, notes[0].window_failures) == (3, 6)


def test_five_of_ten_triggers_once_and_does_not_repeat_each_pass() -> None:
    # Given alternating failures: never 3 in a row
    m = Monitor()
    # When 5 of the last 10 fail and the pattern goes on for many passes (within the reminder cadence)
    events = m.pass_over("FSFSFSFSFSFSFS")
    # Then one triggered, for the cumulative threshold only
    assert events == [("triggered", ("cumulative",), False)]


def test_a_success_that_brings_both_counters_under_threshold_resolves() -> None:
    # Given an alerting job
    m = Monitor()
    m.pass_over("FFF")
    # When it succeeds
    notes = m.runs("S")
    # Then one resolved summarising the incident
    assert [n.event for n in notes] == [Event.RESOLVED]
    assert notes[0].failed_runs == 3
    assert notes[0].last_reason == "boom 3"
    assert notes[0].since == T0 + 1 * 60_000
    assert m.state.jobs["j"].alert is None


def test_a_success_with_the_window_still_over_threshold_does_not_resolve() -> None:
    # Given a job alerting on both thresholds with 6 failures in the window
    m = Monitor()
    m.runs("FFFFFF")
    # When one success arrives
    notes = m.runs("S")
    # Then it stays alerting (6 of 7 still over the cumulative threshold)
    assert notes == []
    assert m.state.jobs["j"].alert is not None


def test_a_reminder_comes_after_the_cadence_while_still_failing() -> None:
    # Given an alerting job and a 24-hour reminder cadence
    m = Monitor()
    m.runs("FFF")
    # When 23 hours pass with no runs, then 2 more
    quiet = [m.evaluate([]) for _ in range(23)]
    later = m.evaluate([]) + m.evaluate([])
    # Then one reminder, after 24 hours, and not before
    assert all(q == [] for q in quiet)
    assert [n.event for n in later] == [Event.REMINDER]


def test_a_reminder_can_be_due_by_counted_runs() -> None:
    # Given reminders every 2 counted runs and no hourly cadence
    m = Monitor("reminder: {every_hours: null, every_runs: 2}")
    m.runs("FFF")
    # When the job keeps failing one run per pass
    events = m.pass_over("FFFF")
    # Then a reminder every second run
    assert [e for e, _, _ in events] == ["reminder", "reminder"]


def test_a_muted_job_is_counted_but_its_notifications_are_suppressed() -> None:
    # Given a mute on the job until far in the future
    mute = Mute(id="m1", match="j*", created_at=T0, until=T0 + 10_000 * HOUR)
    m = Monitor(mutes=[mute])
    # When it fails three times
    events = m.pass_over("FFF")
    # Then the trigger is recorded as suppressed and the counters still move
    assert events == [("triggered", ("consecutive",), True)]
    assert m.state.jobs["j"].consecutive_failures == 3


def test_a_job_muted_until_success_is_announced_fixed_by_that_success() -> None:
    # Given a job muted until its next success, failing
    mute = Mute(id="m2", match="j", created_at=T0, until_success=True)
    m = Monitor(mutes=[mute])
    m.pass_over("FFF")
    # When it succeeds
    events = m.pass_over("S")
    # Then the resolved is suppressed too: nobody was told it broke
    assert events == [("resolved", ("consecutive",), True)]


def test_a_mute_for_n_runs_covers_exactly_the_passes_of_those_runs() -> None:
    # Given a mute for the next 3 runs
    mute = Mute(id="m3", match="j", created_at=T0, runs=3)
    m = Monitor(mutes=[mute])
    # When the job fails 4 times, one pass each
    events = m.pass_over("FFFF")
    # Then the trigger at run 3 is suppressed and announced at run 4, once the mute has ended
    assert events == [("triggered", ("consecutive",), True), ("triggered", ("consecutive",), False)]


def test_a_mute_that_ends_announces_a_job_still_alerting() -> None:
    # Given a job that broke during a time-boxed mute
    mute = Mute(id="m4", match="j", created_at=T0, until=T0 + 1000 * HOUR + 3 * HOUR + 1)
    m = Monitor(mutes=[mute])
    m.pass_over("FFF")
    # When the mute has expired at the next pass
    notes = m.runs("F")
    # Then the team hears about it now
    assert [(n.event, n.suppressed) for n in notes] == [(Event.TRIGGERED, False)]


def test_a_disabled_threshold_never_triggers() -> None:
    # Given the consecutive threshold switched off
    m = Monitor("thresholds: {consecutive: 0}")
    # When the job fails four times in a row
    events = m.pass_over("FFFF")
    # Then nothing triggers (4 of 10 is under the cumulative threshold)
    assert events == []


def test_overrides_apply_by_glob_first_match_wins() -> None:
    # Given overrides for nightly jobs: the first says 2 in a row, the second would say 5
    text = 'overrides:\n  - match: "nightly-*"\n    consecutive: 2\n  - match: "nightly-etl"\n    consecutive: 5\n'
    m = Monitor(text)
    # When a nightly job fails twice
    notes = m.evaluate([ex("nightly-etl", 1), ex("nightly-etl", 2)])
    # Then it triggers at 2
    assert [(n.job, n.event) for n in notes] == [("nightly-etl", Event.TRIGGERED)]


def test_the_notification_carries_the_strip_the_commit_and_the_links() -> None:
    # Given runs with commits and links
    m = Monitor()
    batch = [
        ex("j", 1, "success", commit="aaa", url="https://ci/1"),
        ex("j", 2, commit="bbb", url="https://ci/2", reason="OOM"),
        ex("j", 3, commit="ccc", url="https://ci/3", reason="OOM"),
        ex("j", 4, commit="ddd", url="https://ci/4", reason="segfault"),
    ]
    # When it triggers
    (n,) = m.evaluate(batch)
    # Then the notification holds what a person needs to act
    assert [r.run_id for r in n.recent] == ["1", "2", "3", "4"]
    assert n.first_commit == "bbb"
    assert n.last_reason == "segfault"
    assert n.since == T0 + 2 * 60_000


def test_a_resolved_incident_is_kept_in_the_jobs_history_with_what_it_was() -> None:
    # Given a job that fails four times while muted (its trigger suppressed), then is unmuted
    m = Monitor(mutes=[Mute(id="m", match="j", created_at=T0)])
    m.pass_over("FFFF")
    triggered_at = m.state.jobs["j"].alert.triggered_at  # type: ignore[union-attr]
    m.mutes = []

    # When it succeeds and the incident resolves
    m.runs("S")

    # Then the closed incident is the job's history: when, why, since when, how many failures, the last reason,
    # how many notifications the mute held back
    assert m.state.jobs["j"].alert is None
    assert m.state.jobs["j"].incidents == [
        Incident(
            triggered_at=triggered_at,
            resolved_at=m.now,
            reasons=["consecutive"],
            since=T0 + 1 * 60_000,
            failed_runs=4,
            last_reason="boom 4",
            suppressed=1,
        )
    ]


def test_only_the_last_closed_incidents_are_kept() -> None:
    # Given a job that breaks and is fixed more times than the history keeps
    m = Monitor()
    for _ in range(KEPT + 2):
        m.runs("FFF")
        m.runs("SSSSSSS")

    # Then the history holds the newest incidents only, oldest first
    history = m.state.jobs["j"].incidents
    assert len(history) == KEPT
    assert [i.triggered_at for i in history] == sorted(i.triggered_at for i in history)
    assert history[-1].resolved_at == m.now
