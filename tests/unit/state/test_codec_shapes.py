"""A state document of the wrong shape is refused whole, at decode time, with one line naming the place."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from failstreak.core.model import DeadLetter, Mute, OutboxEntry, State
from failstreak.errors import StateCorrupt
from failstreak.state.codec import decode, encode
from tests.unit.notify_samples import note

T = 1_794_996_400_000


def _good() -> dict[str, Any]:
    # A version 5 document: the last to hold the mutes written by `failstreak mute` (checked as they are read,
    # to be moved into the mutes document: tests/unit/state/test_mutes_document.py checks that document's shape).
    state = State(
        outbox=[OutboxEntry("n1>console", "console", note(), attempts=1, lease_owner="p", lease_until=T)],
        config_mutes={"k": T},
        cursors={"gitlab": {"since": T}},
        dead_letters=[DeadLetter("x", error="gone")],
        updated_at=T,
    )
    doc: dict[str, Any] = json.loads(encode(state))
    doc["version"] = 5
    doc["mutes"] = [msgspec.to_builtins(Mute("m1", "nightly-*", T, until=T + 1, reason="upgrade"))]
    return doc


def _good_version_2() -> dict[str, Any]:
    # The same document as version 2 stored it: the config mutes' dates among the cursors.
    doc = _good()
    doc["version"] = 2
    doc["cursors"]["_config_mutes"] = doc.pop("config_mutes")
    return doc


def _with(path: str, value: Any, doc: dict[str, Any] | None = None) -> bytes:
    doc = _good() if doc is None else doc
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return json.dumps(doc).encode()


def test_the_good_document_of_these_tests_reads_back() -> None:
    # Given the document every case below spoils in one place; When decoded; Then it is the state written
    state = decode(json.dumps(_good()).encode())
    assert state.moved_mutes[0].match == "nightly-*"
    assert state.outbox[0].notification == note()
    assert state.config_mutes == {"k": T}
    assert decode(json.dumps(_good_version_2()).encode()) == state


@pytest.mark.parametrize(
    ("path", "value", "place"),
    [
        ("mutes.0.match", 5, "$.mutes[0].match"),
        ("mutes.0.until", "tomorrow", "$.mutes[0].until"),
        ("mutes.0", "nightly-*", "$.mutes[0]"),
        ("mutes", {"m1": {}}, "$.mutes"),
        ("config_mutes", ["k"], "$.config_mutes"),
        ("config_mutes.k", "yesterday", "$.config_mutes[...]"),
        ("cursors.gitlab", 5, "$.cursors[...]"),
        ("cursors", [], "$.cursors"),
        ("outbox.0.notification.event", "exploded", "$.outbox[0].notification.event"),
        ("outbox.0.notification.consecutive_failures", "4", "$.outbox[0].notification.consecutive_failures"),
        ("outbox.0.notification.recent.0.status", "melted", "$.outbox[0].notification.recent[0].status"),
        ("outbox.0.lease_until", "soon", "$.outbox[0].lease_until"),
        ("outbox.0.destination", None, "$.outbox[0].destination"),
        ("dead_letters", {"x": 1}, "$.dead_letters"),
    ],
)
def test_a_stored_value_of_the_wrong_shape_is_refused_in_one_line_naming_it(path: str, value: Any, place: str) -> None:
    # Given a document whose value at `path` has the wrong shape (valid JSON all the same)
    data = _with(path, value)
    # When it is decoded; Then it is refused as malformed, in one line that names where, and left untouched
    with pytest.raises(StateCorrupt) as refused:
        decode(data, "s3://b/state.json")
    message = str(refused.value)
    assert message.startswith("s3://b/state.json: state document is malformed (")
    assert place in message
    assert message.endswith("; left untouched")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("path", "value", "place"),
    [
        ("cursors._config_mutes", ["k"], "$.cursors[...]"),
        ("cursors._config_mutes.k", "yesterday", "cursors._config_mutes.k"),
    ],
)
def test_a_version_2_config_mute_date_of_the_wrong_shape_is_refused_in_one_line_naming_it(
    path: str, value: Any, place: str
) -> None:
    # Given a version 2 document whose config mute dates (kept among the cursors) have the wrong shape
    data = _with(path, value, _good_version_2())
    # When it is decoded; Then it is refused as malformed, in one line that names where, and left untouched
    with pytest.raises(StateCorrupt) as refused:
        decode(data, "s3://b/state.json")
    message = str(refused.value)
    assert message.startswith("s3://b/state.json: state document is malformed (")
    assert place in message
    assert message.endswith("; left untouched")
    assert "\n" not in message


def test_a_missing_required_field_of_a_mute_is_refused() -> None:
    # Given a mute without its id; When decoded; Then refused, naming the field
    doc = _good()
    del doc["mutes"][0]["id"]
    with pytest.raises(StateCorrupt, match=r"missing required field `id` - at `\$.mutes\[0\]`"):
        decode(json.dumps(doc).encode())
