"""The version plan (docs/state.md): this release reads every older version and rewrites it in the current one
at the next save; a release refuses a newer version than it knows in one line, and leaves it untouched."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import msgspec
import orjson
import pytest

from failstreak.app.cli import main
from failstreak.core.alerting import mute_covering
from failstreak.core.incidents import Incident
from failstreak.core.model import JobState, Mute, MuteBook, Notification, OutboxEntry, Run, State, Status
from failstreak.core.mutes import all_mutes
from failstreak.errors import StateCorrupt
from failstreak.state import codec
from failstreak.state.lazy import LazyJobs
from failstreak.state.local import LocalStateStore
from failstreak.state.mutes import encode_mutes
from tests.conftest import HOUR, T0, config
from tests.unit.notify_samples import note

CONFIG_MUTE = 'mutes:\n  - {match: "ci/*", runs: 3}\n'
FIRST_SEEN = T0 - 48 * HOUR
# The config mute above as version 2 filed it: undated id -> first seen, and the job's progress under the dated id.
UNDATED = Mute.new("ci/*", 0, runs=3).id
DATED = Mute.new("ci/*", FIRST_SEEN, runs=3).id


def _version_2() -> bytes:
    # A document as version 2 wrote it (main at 4b5d650): the config mutes' dates among the sources' cursors.
    return json.dumps(
        {
            "version": 2,
            "updated_at": T0,
            "passes": 5,
            "jobs": [{"name": "ci/a", "total_runs": 2, "total_failures": 2, "mute_runs": {DATED: 2}}],
            "outbox": [],
            "mutes": [{"id": "m1", "match": "web/*", "created_at": T0, "until": T0 + HOUR}],
            "dead_letters": [],
            "cursors": {"_config_mutes": {UNDATED: FIRST_SEEN}, "gitlab": {"updated_after": "2025-11-12T00:00:00Z"}},
        }
    ).encode()


def test_a_version_2_document_keeps_its_config_mute_dates_in_their_own_field() -> None:
    # Given a version 2 document with a config mute first seen two days ago
    # When it is read
    state = codec.decode(_version_2())
    # Then the date is in `config_mutes`, no longer among the sources' cursors, and the rest is as stored
    assert state.config_mutes == {UNDATED: FIRST_SEEN}
    assert state.cursors == {"gitlab": {"updated_after": "2025-11-12T00:00:00Z"}}
    assert state.moved_mutes == [Mute("m1", "web/*", T0, until=T0 + HOUR)]
    assert (state.passes, state.jobs["ci/a"].mute_runs) == (5, {DATED: 2})


def test_a_config_mutes_progress_survives_the_upgrade() -> None:
    # Given a version 2 document where a job has used 2 of a config mute's 3 runs
    state = codec.decode(_version_2())
    # When a pass of this release dates the config file's mutes
    mutes = all_mutes(state, MuteBook(), config(CONFIG_MUTE).mutes, T0 + HOUR)
    # Then the mute keeps its first-seen date and id, so the job's progress still counts (not reset to 0)
    assert mutes[-1] == Mute.new("ci/*", FIRST_SEEN, runs=3)
    assert mute_covering(state.jobs["ci/a"], mutes, T0 + HOUR) == mutes[-1]
    state.jobs["ci/a"].mute_runs[DATED] = 3
    assert mute_covering(state.jobs["ci/a"], mutes, T0 + HOUR) is None


def test_the_next_save_of_a_version_2_document_writes_the_current_version() -> None:
    # Given a version 2 document, read
    state = codec.decode(_version_2())
    # When it is saved again
    doc = orjson.loads(codec.encode(state))
    # Then it is the current version, the dates in `config_mutes`, none left among the cursors, and it reads
    # back the same (but for the mutes it held, moved into the mutes document before that save)
    assert doc["version"] == codec.VERSION
    assert doc["config_mutes"] == {UNDATED: FIRST_SEEN}
    assert "_config_mutes" not in doc["cursors"]
    state.moved_mutes = []
    assert codec.decode(codec.encode(state)) == state


def test_a_document_has_its_keys_in_a_stable_order_and_omits_defaults() -> None:
    # Given a state with an outbox entry at most of its defaults, and a mutes document with a mute
    state = State(
        outbox=[OutboxEntry("n1>console", "console", note())],
        config_mutes={UNDATED: FIRST_SEEN},
        updated_at=T0,
    )
    # When it is written
    body = codec.encode(state)
    mutes_body = encode_mutes(MuteBook(mutes=[Mute.new("ci/*", T0, runs=2)]))
    # Then the keys come in the documented order, the mute and the entry without their defaults, and the bytes
    # are those of writing what was read
    assert list(orjson.loads(body)) == [
        "version", "index", "updated_at", "passes", "outbox", "config_mutes", "dead_letters", "cursors",
        "categories", "config_digest", "digest_day", "jobs",
    ]  # fmt: skip
    assert list(orjson.loads(mutes_body)) == ["version", "mutes", "acks"]
    stored = orjson.loads(body)
    assert orjson.loads(mutes_body)["mutes"] == [
        {"id": Mute.new("ci/*", T0, runs=2).id, "match": "ci/*", "created_at": T0, "runs": 2}
    ]
    (entry,) = stored["outbox"]
    assert list(entry) == ["id", "destination", "notification"]
    assert list(entry["notification"]) == list(Notification.__struct_fields__)
    assert entry["notification"] == json.loads(json.dumps(msgspec.to_builtins(note())))
    assert codec.encode(codec.decode(body)) == body


@pytest.mark.parametrize(
    ("value", "place"),
    [("yesterday", "$.config_mutes[...]"), (["k"], "$.config_mutes"), (1.5, "$.config_mutes[...]")],
)
def test_a_config_mute_date_of_the_wrong_shape_is_refused(value: object, place: str) -> None:
    # Given a document whose config mute date (or the whole field) is not an integer time
    doc = orjson.loads(codec.encode(State(config_mutes={UNDATED: FIRST_SEEN})))
    doc["config_mutes"] = value if isinstance(value, list) else {UNDATED: value}
    # When it is read; Then it is refused in one line naming the place
    with pytest.raises(StateCorrupt, match="state document is malformed") as refused:
        codec.decode(orjson.dumps(doc), "state.json")
    assert place in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_release_that_reads_versions_1_to_3_refuses_a_version_4_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given this codec restricted to what the previous release read: versions 1 to 3 only
    monkeypatch.setattr(codec, "READABLE_VERSIONS", (1, 2, 3))
    monkeypatch.setattr(codec, "_DECODER", msgspec.json.Decoder(codec._StoredV3 | codec._StoredV2 | codec._StoredV1))
    # When it reads a version 4 document; Then it refuses it in one line, naming the versions it reads
    version_4 = codec.encode(State(config_mutes={UNDATED: FIRST_SEEN})).replace(
        f'"version":{codec.VERSION}'.encode(), b'"version":4'
    )
    with pytest.raises(StateCorrupt) as refused:
        codec.decode(version_4, "s3://b/state.json")
    assert str(refused.value) == (
        "s3://b/state.json: state version 4 is not supported by this failstreak (reads 1, 2, 3); left untouched"
    )


def test_a_newer_version_is_refused_by_every_command_and_left_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a local state written by a newer release (the next version)
    store = LocalStateStore(str(tmp_path / "state.json"))
    newer = codec.encode(State(updated_at=T0)).replace(
        f'"version":{codec.VERSION}'.encode(), f'"version":{codec.VERSION + 1}'.encode()
    )
    store.save(newer, None)
    (tmp_path / "failstreak.yaml").write_text(f"state: {tmp_path / 'state.json'}\n")
    # When `status` and `mute` run on it
    for argv in (["status"], ["mute", "ci/*", "--hours", "1"]):
        code = main([*argv, "--config", str(tmp_path / "failstreak.yaml")])
        # Then each fails with the one-line error, and the document is untouched
        assert code == 1
        err = capsys.readouterr().err
        assert err == (
            f"failstreak: {store.location}: state version {codec.VERSION + 1} is not supported by this failstreak "
            f"(reads {', '.join(map(str, codec.READABLE_VERSIONS))}); left untouched\n"
        )
    assert (tmp_path / "state.json").read_bytes() == newer


def test_a_version_3_document_reads_as_the_same_state_and_is_rewritten_in_the_current_version() -> None:
    # Given a version 3 document: rows of seven elements, no learned cadence, no category watch
    doc = {
        "version": 3,
        "passes": 4,
        "jobs": [
            {"name": "etl", "runs": [[10**12, "1", 0, "failed", "u", "c", "oom"], [10**12 + 1, "2", 0, "success"]]}
        ],
    }
    # When it is read and saved again
    state = codec.decode(orjson.dumps(doc))
    again = orjson.loads(codec.encode(state))
    # Then its failed run is a code failure (no category), nothing is lost, and it is written in the current
    # version with eight-element rows and an empty category watch
    assert state.jobs["etl"].runs[0] == Run(10**12, "1", 0, Status.FAILED, "u", "c", "oom", None)
    assert state.passes == 4
    assert again["version"] == codec.VERSION
    assert again["jobs"][0]["runs"][0] == [10**12, "1", 0, "failed", "u", "c", "oom", None]
    assert again["categories"] == {}


@pytest.mark.parametrize(
    ("patch", "place"),
    [
        ({"jobs": [{"name": "j", "runs": [[1, "1", 0, "failed", None, None, None, 7]]}]}, "$.jobs[0].runs[0][7]"),
        ({"categories": {"recent": {"infra": ["soon"]}}}, "$.categories.recent"),
        ({"jobs": [{"name": "j", "learned": ["0", "0", "later"]}]}, "$.jobs[0].learned[2]"),
    ],
)
def test_a_version_4_value_of_the_wrong_shape_is_refused_naming_its_place(patch: dict[str, object], place: str) -> None:
    # Given a version 4 document whose failure category, category watch or learned cadence has the wrong shape
    doc = {**orjson.loads(codec.encode(State())), **patch}
    # When it is read; Then it is refused in one line naming the place
    with pytest.raises(StateCorrupt, match="state document is malformed") as refused:
        codec.decode(orjson.dumps(doc), "state.json")
    assert place in str(refused.value)


def test_a_version_4_document_reads_with_no_closed_incidents_and_is_rewritten_in_the_current_version() -> None:
    # Given a document as version 4 wrote it: a job with an open incident, no `incidents` key
    version_4 = orjson.dumps(
        {
            "version": 4,
            "updated_at": T0,
            "passes": 7,
            "jobs": [
                {
                    "name": "ci/a",
                    "runs": [[T0, "1", 0, "failed", None, None, "boom"]],
                    "total_runs": 1,
                    "total_failures": 1,
                    "consecutive_failures": 1,
                    "alert": {
                        "triggered_at": T0,
                        "reasons": ["consecutive"],
                        "since": T0,
                        "failures_base": 0,
                        "last_notified_at": T0,
                        "runs_at_last_notice": 1,
                    },
                }
            ],
            "outbox": [],
            "mutes": [],
            "config_mutes": {UNDATED: FIRST_SEEN},
            "dead_letters": [],
            "cursors": {},
        }
    )

    # When it is read and saved again
    state = codec.decode(version_4)
    doc = orjson.loads(codec.encode(state))

    # Then nothing is lost, the job has no closed incidents, and the next save writes the current version,
    # which reads back the same
    job = state.jobs["ci/a"]
    assert (state.passes, job.total_failures, job.incidents) == (7, 1, [])
    assert job.alert is not None
    assert job.alert.reasons == ["consecutive"]
    assert state.config_mutes == {UNDATED: FIRST_SEEN}
    assert doc["version"] == codec.VERSION
    assert "incidents" not in doc["jobs"][0]
    assert codec.decode(codec.encode(state)) == state


def test_a_jobs_closed_incidents_are_stored_and_read_back() -> None:
    # Given a job with a closed incident
    closed = Incident(T0, T0 + HOUR, ["cumulative"], since=T0 - HOUR, failed_runs=5, last_reason="boom")
    state = State(jobs={"ci/a": JobState(name="ci/a", incidents=[closed])})

    # When it is written and read; Then the incident comes back, stored without its defaults
    body = codec.encode(state)
    assert codec.decode(body) == state
    assert orjson.loads(body)["jobs"][0]["incidents"] == [
        {"triggered_at": T0, "resolved_at": T0 + HOUR, "reasons": ["cumulative"], "since": T0 - HOUR,
         "failed_runs": 5, "last_reason": "boom"}
    ]  # fmt: skip


def test_a_release_that_reads_versions_1_to_4_refuses_a_version_5_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given this codec restricted to what the previous release read: versions 1 to 4
    monkeypatch.setattr(codec, "READABLE_VERSIONS", (1, 2, 3, 4))
    monkeypatch.setattr(
        codec,
        "_DECODER",
        msgspec.json.Decoder(codec._StoredV4 | codec._StoredV3 | codec._StoredV2 | codec._StoredV1),
    )
    # When it reads a version 5 document; Then it refuses it in one line, naming the versions it reads
    version_5 = codec.encode(State(updated_at=T0)).replace(f'"version":{codec.VERSION}'.encode(), b'"version":5')
    with pytest.raises(StateCorrupt) as refused:
        codec.decode(version_5, "s3://b/state.json")
    assert str(refused.value) == (
        "s3://b/state.json: state version 5 is not supported by this failstreak (reads 1, 2, 3, 4); left untouched"
    )


def _version_5(mutes: list[Mute]) -> bytes:
    # A document as version 5 wrote it (main at 4e190e6): the mutes written by `failstreak mute` in `mutes`.
    return orjson.dumps(
        {
            "version": 5,
            "updated_at": T0,
            "passes": 3,
            "jobs": [{"name": "ci/a", "total_runs": 1, "total_failures": 1, "mute_runs": {DATED: 1}}],
            "outbox": [],
            "mutes": [msgspec.to_builtins(m) for m in mutes],
            "config_mutes": {UNDATED: FIRST_SEEN},
            "dead_letters": [],
            "cursors": {},
            "categories": {},
        }
    )


def test_a_version_5_document_hands_its_mutes_on_and_is_rewritten_in_the_current_version_without_them() -> None:
    # Given a version 5 document holding a mute written by `failstreak mute`
    mute = Mute.new("web/*", T0, until=T0 + HOUR, reason="deploy")
    # When it is read and saved again
    state = codec.decode(_version_5([mute]))
    doc = orjson.loads(codec.encode(state))
    # Then its mute is handed on (to be moved into the mutes document), the rest is as stored, and the next save
    # writes the current version, which holds no mutes and reads back the same
    assert state.moved_mutes == [mute]
    assert (state.passes, state.jobs["ci/a"].mute_runs, state.config_mutes) == (3, {DATED: 1}, {UNDATED: FIRST_SEEN})
    assert doc["version"] == codec.VERSION
    assert "mutes" not in doc
    again = codec.decode(codec.encode(state))
    assert again.moved_mutes == []
    assert again.jobs == state.jobs


def test_a_large_version_5_document_read_by_a_pass_hands_its_mutes_on() -> None:
    # Given a version 5 document holding a mute, stored gzip-compressed (a pass reads it with `decode_document`)
    mute = Mute.new("web/*", T0, reason="deploy")
    # When a pass reads it
    state, since = codec.decode_document(gzip.compress(_version_5([mute])))
    # Then it is read whole (it has no index), and its mute is handed on to be moved into the mutes document
    assert since is None
    assert state.moved_mutes == [mute]
    assert state.jobs["ci/a"].mute_runs == {DATED: 1}


def test_a_release_that_reads_versions_1_to_5_refuses_a_version_6_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given this codec restricted to what the previous release read: versions 1 to 5
    monkeypatch.setattr(codec, "READABLE_VERSIONS", (1, 2, 3, 4, 5))
    monkeypatch.setattr(
        codec,
        "_DECODER",
        msgspec.json.Decoder(codec._StoredV5 | codec._StoredV4 | codec._StoredV3 | codec._StoredV2 | codec._StoredV1),
    )
    # When it reads a version 6 document; Then it refuses it in one line, naming the versions it reads
    version_6 = codec.encode(State(updated_at=T0)).replace(f'"version":{codec.VERSION}'.encode(), b'"version":6')
    with pytest.raises(StateCorrupt) as refused:
        codec.decode(version_6, "s3://b/state.json")
    assert str(refused.value) == (
        "s3://b/state.json: state version 6 is not supported by this failstreak (reads 1, 2, 3, 4, 5); left untouched"
    )


def test_a_version_6_document_reads_with_no_digest_day_and_is_rewritten_in_the_current_version() -> None:
    # Given a document as version 6 wrote it: a job with a closed incident, no `mutes`, no `digest_day` key
    version_6 = orjson.dumps(
        {
            "version": 6,
            "updated_at": T0,
            "passes": 3,
            "jobs": [
                {
                    "name": "ci/a",
                    "runs": [[T0, "1", 0, "success", None, None, None, None]],
                    "total_runs": 1,
                    "incidents": [{"triggered_at": T0 - HOUR, "resolved_at": T0, "reasons": ["consecutive"]}],
                }
            ],
            "outbox": [],
            "config_mutes": {UNDATED: FIRST_SEEN},
            "dead_letters": [],
            "cursors": {},
            "categories": {},
        }
    )

    # When it is read and saved again
    state = codec.decode(version_6)
    doc = orjson.loads(codec.encode(state))

    # Then nothing is lost, no digest was ever sent, and the next save writes the current version with `digest_day`
    assert (state.passes, state.config_mutes, state.moved_mutes) == (3, {UNDATED: FIRST_SEEN}, [])
    assert state.jobs["ci/a"].incidents == [Incident(T0 - HOUR, T0, ["consecutive"])]
    assert state.digest_day is None
    assert (doc["version"], doc["digest_day"]) == (codec.VERSION, None)
    assert codec.decode(codec.encode(state)) == state


def test_the_day_of_the_last_daily_digests_is_stored_and_read_back() -> None:
    # Given a state whose daily digests of 7 December were enqueued
    state = State(updated_at=T0, digest_day="2026-12-07")
    # When it is written and read; Then the day comes back
    body = codec.encode(state)
    assert orjson.loads(body)["digest_day"] == "2026-12-07"
    assert codec.decode(body).digest_day == "2026-12-07"


def test_a_digest_day_that_is_not_a_date_is_refused() -> None:
    # Given a document whose digest_day was edited into something else than a date
    body = orjson.loads(codec.encode(State(updated_at=T0)))
    body["digest_day"] = "tomorrow"
    # When it is read; Then it is refused, naming the key, and left untouched
    with pytest.raises(StateCorrupt, match=r"digest_day"):
        codec.decode(orjson.dumps(body), "state.json")


def test_a_release_that_reads_versions_1_to_6_refuses_a_version_7_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given this codec restricted to what the previous release read: versions 1 to 6
    monkeypatch.setattr(codec, "READABLE_VERSIONS", (1, 2, 3, 4, 5, 6))
    monkeypatch.setattr(
        codec,
        "_DECODER",
        msgspec.json.Decoder(
            codec._StoredV6 | codec._StoredV5 | codec._StoredV4 | codec._StoredV3 | codec._StoredV2 | codec._StoredV1
        ),
    )
    # When it reads a version 7 document; Then it refuses it in one line, naming the versions it reads
    version_7 = codec.encode(State(updated_at=T0)).replace(f'"version":{codec.VERSION}'.encode(), b'"version":7')
    with pytest.raises(StateCorrupt) as refused:
        codec.decode(version_7, "s3://b/state.json")
    assert str(refused.value) == (
        "s3://b/state.json: state version 7 is not supported by this failstreak (reads 1, 2, 3, 4, 5, 6); "
        "left untouched"
    )


def _version_6(jobs: int) -> bytes:
    """A large document as version 6 wrote it: gzip, the jobs after `passes`, no mutes, no index."""
    return gzip.compress(
        orjson.dumps(
            {
                "version": 6,
                "updated_at": T0,
                "passes": 3,
                "jobs": [
                    {"name": f"ci/{i}", "runs": [[T0, "1", 0, "failed", None, None, "boom", "infra"]], "last_seen": T0}
                    for i in range(jobs)
                ],
                "outbox": [],
                "config_mutes": {},
                "dead_letters": [],
                "cursors": {"gitlab": {"since": 3}},
                "categories": {},
            }
        )
    )


def test_a_version_6_document_reads_whole_and_is_rewritten_in_the_current_version_with_its_index() -> None:
    # Given a large document as version 6 wrote it (no index)
    stored = _version_6(300)
    # When a pass reads it and saves it
    state, since = codec.decode_document(stored)
    again = codec.encode_document(state, since=since, compress_above=10)
    # Then it was read whole (nothing to reuse, no mutes to move), and the save is in the current version with an
    # index of every job, which a pass reads lazily as the same state
    assert since is None
    assert state == codec.decode(stored)
    assert state.moved_mutes == []
    doc = orjson.loads(gzip.decompress(again.body))
    assert doc["version"] == codec.VERSION == 8
    assert [row[0] for row in doc["index"]["jobs"]] == [f"ci/{i}" for i in range(300)]
    assert doc["index"]["jobs"][0] == ["ci/0", T0, T0, 0, 0, None, None]
    lazy, _ = codec.decode_document(again.body)
    assert isinstance(lazy.jobs, LazyJobs)
    assert lazy == state


def test_a_version_7_document_reads_whole_with_no_digest_day_and_is_rewritten_with_its_index() -> None:
    # Given a large document as version 7 wrote it: compressed, with its index, without `digest_day`
    state = State(jobs={f"ci/{i}": JobState(name=f"ci/{i}", last_seen=T0) for i in range(200)}, updated_at=T0)
    current = gzip.decompress(codec.encode(state, compress_above=10))
    text = current.replace(f'"version":{codec.VERSION}'.encode(), b'"version":7').replace(b'"digest_day":null,', b"")
    version_7 = gzip.compress(text)
    # When a pass reads it and saves it
    read, since = codec.decode_document(version_7)
    again = codec.encode_document(read, since=since, compress_above=10)
    # Then it was read whole (its head is not the current version's), nothing was lost, no digest was ever sent,
    # and the save is in the current version with `digest_day` and an index a pass reads lazily
    assert since is None
    assert read == state
    assert read.digest_day is None
    doc = orjson.loads(gzip.decompress(again.body))
    assert (doc["version"], doc["digest_day"], len(doc["index"]["jobs"])) == (codec.VERSION, None, 200)
    lazy, _ = codec.decode_document(again.body)
    assert isinstance(lazy.jobs, LazyJobs)
    assert lazy == state


def test_a_release_that_reads_versions_1_to_7_refuses_a_version_8_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given this codec restricted to what the previous release read: versions 1 to 7
    monkeypatch.setattr(codec, "READABLE_VERSIONS", (1, 2, 3, 4, 5, 6, 7))
    monkeypatch.setattr(
        codec,
        "_DECODER",
        msgspec.json.Decoder(
            codec._StoredV7
            | codec._StoredV6
            | codec._StoredV5
            | codec._StoredV4
            | codec._StoredV3
            | codec._StoredV2
            | codec._StoredV1
        ),
    )
    # When it reads a version 8 document, compressed with its index; Then it refuses it in one line
    state = State(jobs={f"ci/{i}": JobState(name=f"ci/{i}") for i in range(5)}, updated_at=T0, digest_day="2026-12-07")
    with pytest.raises(StateCorrupt) as refused:
        codec.decode(codec.encode(state, compress_above=10), "s3://b/state.json")
    assert str(refused.value) == (
        "s3://b/state.json: state version 8 is not supported by this failstreak (reads 1, 2, 3, 4, 5, 6, 7); "
        "left untouched"
    )
