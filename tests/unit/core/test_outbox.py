"""The outbox: leases, delivery results, dead letters."""

from __future__ import annotations

from failstreak.core import outbox
from failstreak.core.model import Event, JobState, Notification, State
from failstreak.core.outbox import DeliveryError, DeliveryResult
from failstreak.state import codec
from tests.conftest import T0


def note(job: str = "j", event: Event = Event.TRIGGERED) -> Notification:
    return Notification(f"{event}:{job}", job, event, ("consecutive",), 3, 3, 3, 3, 5, 10, T0)


def test_enqueueing_the_same_notification_twice_adds_it_once() -> None:
    state = State()
    assert outbox.enqueue(state, note(), ["console", "slack:#a"]) == 2
    assert outbox.enqueue(state, note(), ["console", "slack:#a"]) == 0
    assert [e.id for e in state.outbox] == ["triggered:j>console", "triggered:j>slack:#a"]


def test_a_live_lease_keeps_other_passes_off_and_an_expired_one_is_taken_over() -> None:
    # Given an entry leased by pass A
    state = State()
    outbox.enqueue(state, note(), ["console"])
    assert outbox.lease(state, "A", T0, lease_ms=1000) == ["triggered:j>console"]
    # When pass B tries before and after the lease expires
    before = outbox.lease(state, "B", T0 + 999, lease_ms=1000)
    after = outbox.lease(state, "B", T0 + 1000, lease_ms=1000)
    # Then B only gets it once A's lease has run out
    assert (before, after) == ([], ["triggered:j>console"])


def test_a_delivered_trigger_records_its_thread_and_leaves_the_outbox() -> None:
    state = State(jobs={"j": JobState(name="j")})
    outbox.enqueue(state, note(), ["slack:#a"])
    applied = outbox.apply_results(state, [DeliveryResult("triggered:j>slack:#a", ref="111.2")], T0, 5)
    assert len(applied.delivered) == 1
    assert state.outbox == []
    assert state.jobs["j"].threads == {"slack:#a": "111.2"}


def test_a_retryable_failure_stays_pending_until_attempts_run_out() -> None:
    state = State()
    outbox.enqueue(state, note(), ["slack:#a"])
    failed = DeliveryResult("triggered:j>slack:#a", failure=DeliveryError("HTTP 500", retryable=True))
    outbox.apply_results(state, [failed], T0, max_attempts=2)
    assert state.outbox[0].attempts == 1
    assert state.outbox[0].last_error == "HTTP 500"
    applied = outbox.apply_results(state, [failed], T0, max_attempts=2)
    assert state.outbox == []
    assert len(applied.dead) == 1
    assert state.dead_letters[0].error == "HTTP 500"


def test_a_permanent_failure_is_dead_lettered_at_once() -> None:
    state = State()
    outbox.enqueue(state, note(), ["slack:#gone"])
    gone = DeliveryError("channel_not_found", retryable=False)
    outbox.apply_results(state, [DeliveryResult("triggered:j>slack:#gone", failure=gone)], T0, 50)
    assert state.outbox == []
    assert state.dead_letters[0].destination == "slack:#gone"


def test_results_for_entries_already_gone_are_ignored() -> None:
    state = State()
    applied = outbox.apply_results(state, [DeliveryResult("nope")], T0, 5)
    assert applied.delivered == []


def test_delivery_results_change_no_job_but_those_they_name_as_threaded() -> None:
    # Given three jobs with a pending trigger each, encoded before the results come in
    state = State(jobs={n: JobState(name=n) for n in ("a", "b", "c")})
    for n in ("a", "b", "c"):
        outbox.enqueue(state, note(n), ["slack:#x"])
    before = {n: codec.encode(State(jobs={n: j})) for n, j in state.jobs.items()}
    # When a's trigger is delivered with a thread, b's is delivered without one and c's fails for good
    applied = outbox.apply_results(
        state,
        [
            DeliveryResult("triggered:a>slack:#x", ref="1.1"),
            DeliveryResult("triggered:b>slack:#x"),
            DeliveryResult("triggered:c>slack:#x", failure=DeliveryError("channel_not_found", retryable=False)),
        ],
        T0,
        5,
    )
    # Then only a is named, and b and c are exactly as they were
    assert applied.threaded == {"a"}
    assert {n: codec.encode(State(jobs={n: j})) == before[n] for n, j in state.jobs.items()} == {
        "a": False,
        "b": True,
        "c": True,
    }
