"""Properties of the counting engine: delivery order, batching and repetition never change the counters, and the
counters always equal a direct recomputation from the sorted history."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from failstreak.app.config import Config
from failstreak.core import counting
from failstreak.core.model import DEFAULT_OUTCOMES, Execution, Outcome, State, Status, run_id_key
from tests.conftest import T0, config

JOBS = ["alpha", "beta", "gamma"]
TERMINAL = [s for s in Status if s is not Status.RUNNING]
NOW = T0 + 10**9


@st.composite
def histories(draw: st.DrawFn, max_runs: int = 18) -> list[Execution]:
    """Executions of a few jobs: unique (job, run_id, attempt), times that tie sometimes, several attempts."""
    out: dict[tuple[str, int, int], Execution] = {}
    for job in JOBS:
        n = draw(st.integers(0, max_runs))
        for run_id in range(1, n + 1):
            attempts = draw(st.integers(0, 2))
            for attempt in range(attempts + 1):
                out[(job, run_id, attempt)] = Execution(
                    job=job,
                    run_id=str(run_id),
                    status=draw(st.sampled_from(TERMINAL)),
                    finished_at=T0 + draw(st.integers(0, 40)) * 1000,
                    attempt=attempt,
                )
    return list(out.values())


def expected(executions: list[Execution], window: int) -> dict[str, tuple[int, int, int, int, int]]:
    """(streak, window failures, window size, total runs, total failures) per job, recomputed from scratch."""
    final: dict[tuple[str, str], Execution] = {}
    for e in executions:
        key = (e.job, e.run_id)
        if key not in final or e.attempt > final[key].attempt:
            final[key] = e
    result = {}
    for job in {e.job for e in executions}:
        runs = sorted((e for e in final.values() if e.job == job), key=lambda e: (e.finished_at, run_id_key(e.run_id)))
        counted = [DEFAULT_OUTCOMES[e.status] for e in runs if DEFAULT_OUTCOMES[e.status] is not Outcome.IGNORED]
        streak = 0
        for o in reversed(counted):
            if o is not Outcome.FAILURE:
                break
            streak += 1
        last = counted[-window:]
        failures = sum(o is Outcome.FAILURE for o in counted)
        result[job] = (streak, sum(o is Outcome.FAILURE for o in last), len(last), len(counted), failures)
    return result


def counters(state: State) -> dict[str, tuple[int, int, int, int, int]]:
    return {
        name: (j.consecutive_failures, j.window_failures, j.window_size, j.total_runs, j.total_failures)
        for name, j in state.jobs.items()
    }


def deliver(cfg: Config, batches: list[list[Execution]]) -> State:
    state = State()
    for i, batch in enumerate(batches):
        counting.apply(state, batch, cfg.policy_for, NOW + i)
    return state


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.integers(1, 6), st.integers(1, 12))
def test_counters_do_not_depend_on_delivery_order_or_batching(
    executions: list[Execution], rnd: object, passes: int, window: int
) -> None:
    # Given any executions, shuffled and split across several passes, with a history long enough to hold them
    cfg = config(f"thresholds: {{window: {window}}}\nhistory: 100")
    shuffled = list(executions)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    cuts = sorted(rnd.randrange(0, len(shuffled) + 1) for _ in range(passes - 1))  # type: ignore[attr-defined]
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]

    # When they are applied pass by pass
    state = deliver(cfg, batches)

    # Then the counters equal a recomputation from the sorted history
    assert counters(state) == expected(executions, window)


@settings(max_examples=100, deadline=None)
@given(histories(), st.integers(1, 12))
def test_delivering_everything_twice_changes_nothing(executions: list[Execution], window: int) -> None:
    # Given a state after one delivery of every execution
    cfg = config(f"thresholds: {{window: {window}}}\nhistory: 100")
    once = deliver(cfg, [executions])

    # When everything is delivered again, in one pass and then in reversed order in another
    twice = deliver(cfg, [executions, executions, list(reversed(executions))])

    # Then the counters are those of a single delivery
    assert counters(twice) == counters(once)


@settings(max_examples=150, deadline=None)
@given(histories(max_runs=30), st.integers(1, 5), st.integers(1, 8))
def test_streak_stays_exact_beyond_the_remembered_history(executions: list[Execution], window: int, chunk: int) -> None:
    # Given single-attempt runs delivered in time order, a few per pass, with a history as short as the window
    first = [e for e in executions if e.attempt == 0]
    ordered = sorted(first, key=lambda e: (e.finished_at, run_id_key(e.run_id)))
    cfg = config(f"thresholds: {{window: {window}}}")
    batches = [ordered[i : i + chunk] for i in range(0, len(ordered), chunk)]

    # When they are applied
    state = deliver(cfg, batches)

    # Then streak, window and totals equal a recomputation, although most runs were forgotten
    assert counters(state) == expected(first, window)
    for job in state.jobs.values():
        counted = [r for r in job.runs if DEFAULT_OUTCOMES[r.status] is not Outcome.IGNORED]
        assert len(counted) <= window


@settings(max_examples=100, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.integers(1, 12), st.booleans())
def test_ignored_placeholders_delivered_first_give_way_to_the_results(
    executions: list[Execution], rnd: object, window: int, same_pass: bool
) -> None:
    # Given, for some runs, an ignored placeholder of the run's final attempt (a manual job not yet played)
    # delivered before its result, in an earlier pass or earlier in the same one
    cfg = config(f"thresholds: {{window: {window}}}\nhistory: 100")
    final: dict[tuple[str, str], Execution] = {}
    for e in executions:
        if (e.job, e.run_id) not in final or e.attempt > final[(e.job, e.run_id)].attempt:
            final[(e.job, e.run_id)] = e
    placeholders = [
        msgspec.structs.replace(e, status=Status.SKIPPED, finished_at=e.finished_at - 500)
        for e in final.values()
        if rnd.random() < 0.5  # type: ignore[attr-defined]
    ]
    rnd.shuffle(placeholders)  # type: ignore[attr-defined]
    results = list(executions)
    rnd.shuffle(results)  # type: ignore[attr-defined]

    # When they are applied
    state = deliver(cfg, [placeholders + results] if same_pass else [placeholders, results])

    # Then the counters are those of the results alone
    assert counters(state) == expected(executions, window)
