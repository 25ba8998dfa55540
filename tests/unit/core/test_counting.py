"""The counting engine, one behaviour per test."""

from __future__ import annotations

from failstreak.core import counting
from failstreak.core.model import State, Status
from tests.conftest import HOUR, MINUTE, T0, config, ex

NOW = T0 + 1000 * HOUR


def apply(state: State, *executions, cfg_text: str = "") -> counting.ApplyStats:  # type: ignore[no-untyped-def]
    cfg = config(cfg_text)
    return counting.apply(state, executions, cfg.policy_for, NOW)


def test_three_failures_in_a_row_make_a_streak_of_three() -> None:
    # Given a success followed by three failures
    state = State()
    # When they are applied
    apply(state, ex("j", 1, "success"), ex("j", 2), ex("j", 3), ex("j", 4))
    # Then the streak is 3 and the window holds 3 failures of 4 runs
    job = state.jobs["j"]
    assert (job.consecutive_failures, job.window_failures, job.window_size) == (3, 3, 4)
    assert (job.total_runs, job.total_failures) == (4, 3)


def test_a_late_success_placed_in_the_past_breaks_the_streak_where_it_belongs() -> None:
    # Given three failures at minutes 1, 2 and 4
    state = State()
    apply(state, ex("j", 1), ex("j", 2), ex("j", 4))
    # When a success that finished at minute 3 arrives in a later pass
    stats = apply(state, ex("j", 3, "success"))
    # Then only the failure after it counts in the streak
    assert stats.ingested == 1
    assert state.jobs["j"].consecutive_failures == 1


def test_the_same_run_and_attempt_delivered_twice_counts_once() -> None:
    # Given a failure already applied
    state = State()
    apply(state, ex("j", 1))
    # When it is delivered again
    stats = apply(state, ex("j", 1))
    # Then it is a duplicate and the totals do not move
    assert (stats.ingested, stats.duplicates) == (0, 1)
    assert state.jobs["j"].total_runs == 1


def test_a_higher_attempt_replaces_the_lower_one() -> None:
    # Given a run whose first attempt failed
    state = State()
    apply(state, ex("j", 1), ex("j", 2, attempt=0))
    # When its retry succeeds
    stats = apply(state, ex("j", 2, "success", attempt=1))
    # Then the run counts as a success, once
    job = state.jobs["j"]
    assert stats.replaced == 1
    assert (job.consecutive_failures, job.total_runs, job.total_failures) == (0, 2, 1)


def test_a_lower_attempt_arriving_after_a_higher_one_is_superseded() -> None:
    # Given a retry that succeeded
    state = State()
    apply(state, ex("j", 1, "success", attempt=2))
    # When the first attempt's failure arrives late
    stats = apply(state, ex("j", 1, "failed", attempt=0))
    # Then it is ignored as superseded
    assert stats.superseded == 1
    assert state.jobs["j"].total_failures == 0


def test_ignored_statuses_neither_count_nor_break_a_streak() -> None:
    # Given failures interleaved with canceled, skipped and upstream-failed runs
    state = State()
    apply(state, ex("j", 1), ex("j", 2, "canceled"), ex("j", 3), ex("j", 4, "skipped"), ex("j", 5, "upstream_failed"))
    # Then the two failures form a streak and the window holds only counted runs
    job = state.jobs["j"]
    assert (job.consecutive_failures, job.window_size, job.total_runs) == (2, 2, 2)


def test_running_records_are_not_applied() -> None:
    state = State()
    stats = apply(state, ex("j", 1, "running"))
    assert stats.running == 1
    assert "j" not in state.jobs


def test_a_run_older_than_the_remembered_history_is_stale() -> None:
    # Given a job with more runs than its history holds (window 3)
    state = State()
    apply(state, *(ex("j", i, "success") for i in range(10, 20)), cfg_text="thresholds: {window: 3}")
    # When a run older than all remembered ones arrives
    stats = apply(state, ex("j", 1), cfg_text="thresholds: {window: 3}")
    # Then it is reported stale and not counted
    assert stats.stale == 1
    assert state.jobs["j"].total_runs == 10


def test_a_failure_streak_longer_than_the_history_is_counted_in_full() -> None:
    # Given twelve failures delivered one pass at a time with a window of 3
    state = State()
    for i in range(1, 13):
        apply(state, ex("j", i), cfg_text="thresholds: {window: 3}")
    # Then the streak is 12 while only 3 runs are remembered
    job = state.jobs["j"]
    assert job.consecutive_failures == 12
    assert len(job.runs) == 3


def test_statuses_can_be_recounted_per_job_by_override() -> None:
    # Given a config where canceled counts as failure for nightly jobs only
    text = 'overrides:\n  - match: "nightly-*"\n    outcomes: {canceled: failure}\n'
    state = State()
    # When both jobs get three canceled runs
    apply(state, *(ex(j, i, "canceled") for j in ("nightly-etl", "ci") for i in (1, 2, 3)), cfg_text=text)
    # Then only the nightly job has a streak
    assert state.jobs["nightly-etl"].consecutive_failures == 3
    assert state.jobs["ci"].total_runs == 0


def test_ties_on_time_are_ordered_by_numeric_run_id() -> None:
    # Given runs 9 and 10 finishing at the same time: 9 failed, 10 succeeded
    state = State()
    apply(state, ex("j", 10, "success", t=0), ex("j", 9, "failed", t=0))
    # Then run 10 is the newest, so there is no streak
    assert state.jobs["j"].consecutive_failures == 0


def test_jobs_not_seen_for_the_retirement_period_are_retired() -> None:
    # Given two jobs, one last seen long ago
    state = State()
    cfg = config()
    counting.apply(state, [ex("old", 1)], cfg.policy_for, T0)
    counting.apply(state, [ex("new", 1)], cfg.policy_for, NOW)
    # When retiring jobs unseen for 30 days
    gone = counting.retire(state, NOW, 30 * 24 * HOUR)
    # Then only the old one is gone
    assert gone == ["old"]
    assert list(state.jobs) == ["new"]


def test_only_runs_and_attempts_are_kept_not_owner_changes_per_run() -> None:
    # Given executions carrying an owner and a source
    state = State()
    apply(state, ex("j", 1, owner="team-a", source="gitlab"), ex("j", 2, owner="team-b"))
    # Then the job keeps the latest owner and the source
    assert (state.jobs["j"].owner, state.jobs["j"].source) == ("team-b", "gitlab")
    assert all(r.status is Status.FAILED for r in state.jobs["j"].runs)


def test_a_manual_job_played_later_replaces_its_skipped_record_with_its_result() -> None:
    # Given a manual job recorded as skipped (GitLab lists it before anyone plays it)
    state = State()
    apply(state, ex("deploy", 1, "success"), ex("deploy", 2, "skipped", t=2 * MINUTE))
    # When someone plays it and the same run and attempt comes back failed
    stats = apply(state, ex("deploy", 2, "failed", t=30 * MINUTE))
    # Then the failure replaces the placeholder and counts
    job = state.jobs["deploy"]
    assert (stats.replaced, stats.duplicates) == (1, 0)
    assert (job.consecutive_failures, job.total_runs, job.total_failures) == (1, 2, 1)
    assert [(r.run_id, r.status, r.finished_at) for r in job.runs][-1] == ("2", Status.FAILED, T0 + 30 * MINUTE)


def test_an_ignored_record_and_its_later_result_in_one_batch_count_the_result() -> None:
    # Given a skipped record and the played result of the same run and attempt in one delivery
    state = State()
    # When they are applied together
    stats = apply(state, ex("deploy", 7, "skipped", t=1 * MINUTE), ex("deploy", 7, "failed", t=9 * MINUTE))
    # Then the result counts, once
    job = state.jobs["deploy"]
    assert (stats.ingested, stats.superseded) == (1, 1)
    assert (job.total_runs, job.total_failures, job.consecutive_failures) == (1, 1, 1)


def test_a_counted_result_is_not_replaced_by_a_later_record_of_the_same_attempt() -> None:
    # Given a failure already counted
    state = State()
    apply(state, ex("j", 1, "failed"))
    # When the same run and attempt arrives again, now as canceled or as a success
    canceled = apply(state, ex("j", 1, "canceled", t=5 * MINUTE))
    success = apply(state, ex("j", 1, "success", t=6 * MINUTE))
    # Then both are duplicates: only an ignored record gives way
    assert (canceled.duplicates, success.duplicates, canceled.replaced + success.replaced) == (1, 1, 0)
    assert state.jobs["j"].total_failures == 1


def test_a_retry_of_a_run_the_job_has_forgotten_is_stale_not_a_new_run() -> None:
    # Given six runs applied in order with a history of three: runs 1 to 3 are forgotten
    state = State()
    cfg_text = "thresholds: {window: 3}\nhistory: 3"
    apply(state, *(ex("j", n, "failed", t=n * MINUTE) for n in range(1, 7)), cfg_text=cfg_text)
    before = state.jobs["j"]
    assert (before.forgotten, before.total_runs) == (3, 6)
    # When a retry of run 1 finishes now
    stats = apply(state, ex("j", 1, "success", t=60 * MINUTE, attempt=1), cfg_text=cfg_text)
    # Then it is stale: the run was counted at its first attempt, the counters do not move
    job = state.jobs["j"]
    assert (stats.stale, stats.ingested) == (1, 0)
    assert (job.total_runs, job.total_failures, job.consecutive_failures) == (6, 6, 6)
