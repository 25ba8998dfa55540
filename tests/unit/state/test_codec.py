"""The state document: round trips, versioning, and refusing to read what it does not understand."""

from __future__ import annotations

import gzip

import pytest

from failstreak.core import counting
from failstreak.core.model import Alert, Event, Notification, OutboxEntry, State
from failstreak.errors import StateCorrupt
from failstreak.state.codec import decode, encode
from tests.conftest import T0, config, ex


def sample_state() -> State:
    state = State()
    cfg = config()
    counting.apply(state, [ex("j", 1, "success", url="https://x/1"), ex("j", 2, reason="OOM")], cfg.policy_for, T0)
    state.jobs["j"].alert = Alert(T0, ["consecutive"], T0, 0, T0, 2, first_commit="abc", announced=False)
    state.jobs["j"].threads = {"slack:#c": "123.456"}
    n = Notification("id1", "j", Event.TRIGGERED, ("consecutive",), 3, 3, 3, 3, 5, 10, T0)
    state.outbox.append(
        OutboxEntry("id1>console", "console", n, attempts=1, last_error="x", lease_owner="p", lease_until=9)
    )
    state.cursors["gitlab"] = {"updated_after": "2026-11-20T00:00:00Z"}
    return state


def test_a_state_survives_a_round_trip() -> None:
    state = sample_state()
    again = decode(encode(state))
    assert encode(again) == encode(state)
    assert again.jobs["j"].runs == state.jobs["j"].runs
    assert again.outbox[0].notification == state.outbox[0].notification


def test_a_gzipped_state_is_read() -> None:
    assert encode(decode(gzip.compress(encode(sample_state())))) == encode(sample_state())


def test_no_document_is_an_empty_state() -> None:
    assert decode(None).jobs == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"jobs": {}}', "no 'version'"),
        (b'{"version": 99}', "version 99 is not supported"),
        (b'{"version": 1, "jobs": {"j": {"runs": [["x"]]}}}', "malformed"),
        (b"\x1f\x8b\x08garbage", "not readable gzip"),
    ],
)
def test_an_unreadable_state_is_corrupt_and_named(data: bytes, message: str) -> None:
    with pytest.raises(StateCorrupt, match=message) as err:
        decode(data, "s3://b/state.json")
    assert str(err.value).startswith("s3://b/state.json: ")
