"""The mutes document (docs/state.md, "The mutes document"): its location beside the state, its encoding, its
shape checks, and `MutesStore.update`, a read-modify-write retried on conflict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from failstreak.core.model import Ack, Mute, MuteBook
from failstreak.errors import ConfigError, FailstreakError, StateCorrupt
from failstreak.state.local import LocalStateStore
from failstreak.state.mutes import MutesStore, decode_mutes, encode_mutes, mutes_location, mutes_store
from tests.conftest import HOUR, T0

MUTE = Mute.new("nightly-*", T0, until=T0 + HOUR, reason="upgrade")
ACK = Ack(job="ci/a", by="ana", at=T0, until=T0 + 24 * HOUR)


def _good() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(encode_mutes(MuteBook(mutes=[MUTE], acks=[ACK])))
    return doc


def _with(path: str, value: Any) -> bytes:
    doc = _good()
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("state", "mutes"),
    [
        ("s3://b/failstreak/state.json", "s3://b/failstreak/mutes.json"),
        ("s3://b/state.json", "s3://b/mutes.json"),
        ("/var/fs/state.json", "/var/fs/mutes.json"),
        ("state.json", "mutes.json"),
        (".failstreak/team-a.json", ".failstreak/mutes.json"),
    ],
)
def test_the_mutes_document_lives_beside_the_state(state: str, mutes: str) -> None:
    # Given a state location; When the mutes document's is derived; Then it is mutes.json in the same folder
    assert mutes_location(state) == mutes


@pytest.mark.parametrize("state", ["s3://b/failstreak/mutes.json", "/var/fs/mutes.json"])
def test_a_state_named_like_the_mutes_document_is_refused(state: str) -> None:
    # Given a state named mutes.json; When its mutes document is asked for; Then a config error says why
    with pytest.raises(ConfigError, match=r"the state cannot be named mutes\.json"):
        mutes_location(state)


def test_a_mutes_document_survives_a_round_trip_with_its_version_first() -> None:
    # Given a document with a mute and an acknowledgement; When written and read
    body = encode_mutes(MuteBook(mutes=[MUTE], acks=[ACK]))
    # Then its keys come in order, the version first, and it reads back the same
    assert list(json.loads(body)) == ["version", "mutes", "acks"]
    assert json.loads(body)["version"] == 1
    assert json.loads(body)["acks"] == [{"job": "ci/a", "by": "ana", "at": T0, "until": T0 + 24 * HOUR}]
    assert decode_mutes(body, "mutes.json") == MuteBook(mutes=[MUTE], acks=[ACK])


def test_no_mutes_document_reads_as_an_empty_one() -> None:
    assert decode_mutes(None, "mutes.json") == MuteBook()


@pytest.mark.parametrize(
    ("path", "value", "place"),
    [
        ("mutes.0.match", 5, "$.mutes[0].match"),
        ("mutes.0.until", "tomorrow", "$.mutes[0].until"),
        ("mutes.0", "nightly-*", "$.mutes[0]"),
        ("mutes", {"m1": {}}, "$.mutes"),
        ("acks.0.until", "soon", "$.acks[0].until"),
        ("acks.0.by", None, "$.acks[0].by"),
        ("acks", {}, "$.acks"),
    ],
)
def test_a_mutes_document_value_of_the_wrong_shape_is_refused_in_one_line_naming_it(
    path: str, value: Any, place: str
) -> None:
    # Given a mutes document whose value at `path` has the wrong shape (valid JSON all the same)
    data = _with(path, value)
    # When it is decoded; Then it is refused in one line naming the document and the place, and left untouched
    with pytest.raises(StateCorrupt) as refused:
        decode_mutes(data, "s3://b/mutes.json")
    message = str(refused.value)
    assert message.startswith("s3://b/mutes.json: mutes document is malformed (")
    assert place in message
    assert message.endswith("; left untouched")
    assert "\n" not in message


def test_a_missing_required_field_of_a_mute_in_the_mutes_document_is_refused() -> None:
    # Given a mute without its id; When decoded; Then refused, naming the field
    doc = _good()
    del doc["mutes"][0]["id"]
    with pytest.raises(StateCorrupt, match=r"missing required field `id` - at `\$.mutes\[0\]`"):
        decode_mutes(json.dumps(doc).encode(), "mutes.json")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "mutes.json: mutes document is not valid JSON ("),
        (b'{"mutes": []}', "mutes.json: not a failstreak mutes document (no 'version'); left untouched"),
        (
            b'{"version": 2, "mutes": []}',
            "mutes.json: mutes document version 2 is not supported by this failstreak (reads 1); left untouched",
        ),
    ],
)
def test_a_mutes_document_that_is_not_one_this_release_reads_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(StateCorrupt) as refused:
        decode_mutes(data, "mutes.json")
    assert str(refused.value).startswith(message)


def test_a_mute_id_listed_twice_is_refused() -> None:
    # Given a document listing the same mute twice; When read; Then refused, naming the id
    doc = _good()
    doc["mutes"].append(doc["mutes"][0])
    with pytest.raises(StateCorrupt, match=rf"mute id '{MUTE.id}' listed twice"):
        decode_mutes(json.dumps(doc).encode(), "mutes.json")


def _store(tmp_path: Path, now: int = T0) -> MutesStore:
    return mutes_store(str(tmp_path / "state.json"), clock=lambda: now)


def test_update_writes_the_change_beside_the_state_and_never_the_state(tmp_path: Path) -> None:
    # Given no mutes document yet; When a mute and an acknowledgement are added
    store = _store(tmp_path)
    store.add_mute(MUTE)
    ack = store.add_ack("ci/a", "ana")
    # Then both are in mutes.json beside the state, the acknowledgement for 24 hours, and no state was written
    assert store.read() == MuteBook(mutes=[MUTE], acks=[ack])
    assert ack == Ack("ci/a", "ana", T0, T0 + 24 * HOUR)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["mutes.json"]


def test_update_retries_from_a_fresh_read_when_another_writer_got_there_first(tmp_path: Path) -> None:
    # Given a writer whose change runs while another writer adds a mute (before this one's conditional write)
    store = _store(tmp_path)
    other = _store(tmp_path)
    theirs = Mute.new("web/*", T0, runs=2)
    calls: list[int] = []

    def change(book: MuteBook) -> None:
        calls.append(len(book.mutes))
        if len(calls) == 1:
            other.add_mute(theirs)
        book.mutes.append(MUTE)

    # When it updates the document
    store.update(change)
    # Then its first write lost, its change ran again on the document with the other's mute, and both are kept
    assert calls == [0, 1]
    assert store.read().mutes == [theirs, MUTE]


def test_update_gives_up_when_the_document_keeps_changing(tmp_path: Path) -> None:
    # Given another writer that changes the document during each of this writer's attempts
    store = _store(tmp_path)
    store.attempts = 2
    other = _store(tmp_path)

    def change(book: MuteBook) -> None:
        other.add_mute(Mute.new(f"etl/{len(other.read().mutes)}", T0, runs=1))
        book.mutes.append(MUTE)

    # When it updates; Then it gives up in one line naming the document, and its mute is not there
    with pytest.raises(FailstreakError) as gave_up:
        store.update(change)
    assert str(gave_up.value) == (
        f"{store.location}: mutes document kept changing; gave up after 2 conflicting writes; nothing saved"
    )
    assert MUTE not in store.read().mutes


def test_every_writer_drops_the_mutes_and_acknowledgements_that_ended(tmp_path: Path) -> None:
    # Given a mute and an acknowledgement that both end within the hour, and one mute without an end time
    _store(tmp_path).update(lambda book: book.mutes.append(MUTE))
    _store(tmp_path).add_ack("ci/a", "ana", hours=0.5)
    lasting = _store(tmp_path).add_mute(Mute.new("etl/*", T0, runs=3))
    # When a writer changes the document two hours later
    _store(tmp_path, T0 + 2 * HOUR).add_ack("ci/b", "bo")
    # Then what ended is gone, the rest is kept
    book = _store(tmp_path).read()
    assert book.mutes == [lasting]
    assert [a.job for a in book.acks] == ["ci/b"]


def test_an_update_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    # Given a document with one mute
    store = _store(tmp_path)
    store.add_mute(MUTE)
    before = (tmp_path / "mutes.json").stat().st_mtime_ns
    # When a mute that is not there is removed, or the same mute added again
    assert store.remove_mutes("no/such") == []
    store.add_mute(MUTE)
    # Then the document was not rewritten
    assert (tmp_path / "mutes.json").stat().st_mtime_ns == before
    assert store.read().mutes == [MUTE]


def test_remove_mutes_takes_them_by_id_or_pattern(tmp_path: Path) -> None:
    # Given two mutes of one pattern and one of another
    store = _store(tmp_path)
    a, b = Mute.new("ci/*", T0, runs=1), Mute.new("ci/*", T0, runs=2)
    for m in (a, b, MUTE):
        store.add_mute(m)
    # When one is removed by id, then the pattern of the other
    assert store.remove_mutes(MUTE.id) == [MUTE]
    assert store.remove_mutes("ci/*") == [a, b]
    # Then none is left
    assert store.read().mutes == []


def test_a_new_acknowledgement_replaces_the_jobs_earlier_one_and_can_be_withdrawn(tmp_path: Path) -> None:
    # Given ana acknowledged ci/a
    store = _store(tmp_path)
    store.add_ack("ci/a", "ana")
    # When bo acknowledges it for 4 hours; Then bo's is the one kept
    assert store.add_ack("ci/a", "bo", hours=4) == Ack("ci/a", "bo", T0, T0 + 4 * HOUR)
    assert store.read().acks == [Ack("ci/a", "bo", T0, T0 + 4 * HOUR)]
    # When it is withdrawn; Then no acknowledgement is left
    assert store.remove_ack("ci/a") == [Ack("ci/a", "bo", T0, T0 + 4 * HOUR)]
    assert store.read().acks == []


def test_an_acknowledgement_of_no_length_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="more than 0 hours"):
        _store(tmp_path).add_ack("ci/a", "ana", hours=0)
    assert not (tmp_path / "mutes.json").exists()


def test_a_malformed_mutes_document_is_never_overwritten(tmp_path: Path) -> None:
    # Given a mutes document whose mute pattern is a number
    bad = _with("mutes.0.match", 5)
    (tmp_path / "mutes.json").write_bytes(bad)
    # When a writer adds a mute; Then it is refused in one line naming the file and the field, and left as it was
    with pytest.raises(StateCorrupt) as refused:
        _store(tmp_path).add_mute(Mute.new("ci/*", T0, runs=1))
    assert str(refused.value).startswith(f"{tmp_path / 'mutes.json'}: mutes document is malformed (")
    assert "$.mutes[0].match" in str(refused.value)
    assert (tmp_path / "mutes.json").read_bytes() == bad


def test_the_local_store_names_the_mutes_document_in_its_errors(tmp_path: Path) -> None:
    # Given a mutes document path that is a folder; When it is read; Then the error names the mutes document
    (tmp_path / "mutes.json").mkdir()
    store = MutesStore(LocalStateStore(tmp_path / "mutes.json", noun="mutes document"))
    with pytest.raises(FailstreakError, match=r"mutes.json: cannot read mutes document: Is a directory$"):
        store.read()


def test_the_document_is_plain_msgspec_json() -> None:
    # Given a book; When encoded; Then any JSON reader reads the same values back (a person can edit it)
    body = encode_mutes(MuteBook(mutes=[MUTE]))
    assert msgspec.json.decode(body)["mutes"][0]["match"] == "nightly-*"
