"""`triage.health` judges a job as the plain statement of docs/triage.md does: the counted window's outcomes of
`run_outcome`, the streak, the silence. The judging function reads every run in one loop (it judges every job of
`status --json`); the statement below, the formulation it replaced, holds it to the same judgement."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.core import triage
from failstreak.core.counting import counted_failures, counted_runs, run_outcome
from failstreak.core.health import Judgement, judge
from failstreak.core.model import DEFAULT_OUTCOMES, Alert, JobState, Outcome, Run, Status
from failstreak.core.policy import Cadence, JobPolicy
from tests.conftest import T0

CATEGORIES = st.sampled_from([None, "infra", "secrets", "data"])
RUNS = st.builds(
    Run,
    finished_at=st.integers(T0, T0 + 10**9),
    run_id=st.text("0123456789", min_size=1, max_size=3),
    attempt=st.integers(0, 2),
    status=st.sampled_from(list(Status)),
    commit=st.one_of(st.none(), st.sampled_from(["3ab2161f00d", "c0ffee"])),
    category=CATEGORIES,
)
OUTCOMES = st.fixed_dictionaries(
    {s: st.sampled_from(list(Outcome)) for s in (Status.CANCELED, Status.SKIPPED, Status.SUCCEEDED_WITH_FAILURES)}
)
POLICIES = st.builds(
    lambda consecutive, window, outcomes, counts, min_flips: JobPolicy(
        consecutive,
        5,
        window,
        window,
        {**DEFAULT_OUTCOMES, **outcomes},
        Cadence(),
        counts=counts,
        min_flips=min_flips,
    ),
    st.one_of(st.none(), st.integers(1, 6)),
    st.integers(1, 12),
    OUTCOMES,
    st.sampled_from([frozenset({"code"}), frozenset({"code", "infra"}), frozenset({"code", "infra", "data"})]),
    st.integers(0, 5),
)
ALERTS = st.one_of(
    st.none(),
    st.builds(
        Alert,
        triggered_at=st.just(T0),
        reasons=st.just(["consecutive"]),
        since=st.just(T0),
        failures_base=st.just(0),
        last_notified_at=st.just(T0),
        runs_at_last_notice=st.just(0),
        first_commit=st.one_of(st.none(), st.just(""), st.just("beefcafe")),
    ),
)


def _stated(job: JobState, policy: JobPolicy, silent: int | None) -> Judgement:
    """The health as docs/triage.md states it, one `run_outcome` per counted run (the formulation replaced)."""
    window = [run_outcome(policy, r) is Outcome.FAILURE for r in counted_runs(job, policy)[-policy.window :]]
    broken = policy.consecutive is not None and job.consecutive_failures >= policy.consecutive
    commit = None
    if broken:
        if job.alert is not None and job.alert.first_commit:
            commit = job.alert.first_commit
        else:
            streak = counted_runs(job, policy)[-job.consecutive_failures :]
            commit = streak[0].commit if streak else None
    return judge(
        window,
        broken=broken,
        streak=job.consecutive_failures,
        commit=commit,
        silent_since=silent,
        min_flips=policy.min_flips,
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(RUNS, max_size=16),
    POLICIES,
    st.integers(0, 8),
    ALERTS,
    st.one_of(st.none(), st.integers(T0, T0 + 10**9)),
)
def test_health_is_the_judgement_of_the_counted_window_the_streak_and_the_silence(
    runs: list[Run], policy: JobPolicy, streak: int, alert: Alert | None, silent: int | None
) -> None:
    # Given any job (runs of every status and category, a streak, an alert or none) and any policy
    job = JobState(name="j", runs=runs, consecutive_failures=streak, alert=alert)
    # When its health is judged, with or without a silence
    got = triage.health(job, policy, silent)
    # Then it is the judgement the plain statement gives, and says the same words
    assert got == _stated(job, policy, silent)
    assert got.describe() == _stated(job, policy, silent).describe()


@settings(max_examples=200, deadline=None)
@given(st.lists(RUNS, max_size=16), POLICIES)
def test_counted_failures_are_the_counted_runs_outcomes(runs: list[Run], policy: JobPolicy) -> None:
    # Given any job and policy; When whether each counted run failed is read in one loop
    job = JobState(name="j", runs=runs)
    # Then it is each counted run's outcome, oldest first
    assert counted_failures(job, policy) == [
        run_outcome(policy, r) is Outcome.FAILURE for r in counted_runs(job, policy)
    ]
