"""A job's health: healthy, flaky, broken, silent, and the words that say why (docs/triage.md)."""

from __future__ import annotations

from failstreak.core.health import Health, flips, judge

ALTERNATING = [i % 2 == 0 for i in range(10)]


def test_a_job_whose_outcomes_alternate_is_flaky_and_says_how_often_it_flipped() -> None:
    # Given a window of ten runs alternating failure and success
    # When its health is judged
    got = judge(ALTERNATING, broken=False)
    # Then it is flaky, with nine flips in ten runs
    assert got.health is Health.FLAKY
    assert got.describe() == "flaky: 9 flips in the last 10 runs"


def test_a_job_with_fewer_flips_than_the_minimum_is_healthy() -> None:
    # Given a window with three flips, and the default minimum of four
    window = [False, True, False, True, True]
    # When its health is judged
    got = judge(window, broken=False)
    # Then it is healthy
    assert flips(window) == 3
    assert got.health is Health.HEALTHY
    assert got.describe() == "healthy"


def test_a_job_at_its_consecutive_threshold_is_broken_since_the_commit_where_it_began() -> None:
    # Given a job at its consecutive threshold, seven failures since commit 3ab2161
    # When its health is judged
    got = judge([True] * 7, broken=True, streak=7, commit="3ab2161f00d")
    # Then it is broken, and says since which commit and how many runs ago
    assert got.health is Health.BROKEN
    assert got.describe() == "broken since commit 3ab2161, 7 runs ago"


def test_broken_without_a_commit_says_how_many_runs_ago() -> None:
    # Given a broken job whose records carry no commit
    # When it is described
    # Then the words name the runs only
    assert judge([True], broken=True, streak=1).describe() == "broken since 1 run ago"


def test_broken_wins_over_flaky_and_silent_wins_over_both() -> None:
    # Given a window that flips a lot
    # When the job is also at its consecutive threshold, or also silent
    broken = judge(ALTERNATING, broken=True, streak=3)
    silent = judge(ALTERNATING, broken=True, streak=3, silent_since=123)
    # Then broken wins over flaky, and silent over both
    assert broken.health is Health.BROKEN
    assert (silent.health, silent.silent_since, silent.describe()) == (Health.SILENT, 123, "silent")


def test_a_minimum_of_zero_flips_turns_flaky_off() -> None:
    # Given a flapping window and flaky.min_flips 0
    # When its health is judged
    # Then it is never flaky
    assert judge(ALTERNATING, broken=False, min_flips=0).health is Health.HEALTHY
