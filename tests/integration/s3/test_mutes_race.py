"""The mutes document on S3 (moto and a real SeaweedFS server), racing a pass and another writer: a mute written
while a pass runs is neither lost nor undone, and two writers at once both keep theirs (docs/state.md, "The mutes
document")."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from failstreak import s3client
from failstreak.app.wiring import pass_settings
from failstreak.core.model import Mute
from failstreak.pipeline.run import run_pass
from failstreak.state.mutes import decode_mutes, mutes_store
from tests.integration.s3.backends import S3
from tests.integration.s3.conftest import BOTO3, s3_fixture
from tests.integration.s3.passkit import Clock, Recorder, config, ports

pytestmark = pytest.mark.integration

# The races below are injected through botocore's hooks (boto3's client); the real race of two writers runs
# through both clients.
s3 = s3_fixture(BOTO3)
seaweed_either = s3_fixture({"seaweedfs": "seaweed_s3", "seaweedfs-s3lite": "seaweed_lite_s3"}, "seaweed_either")

HOUR = 3_600_000


def _failures(s3: S3, name: str, job: str, first_run: int, clock: Clock) -> None:
    lines = [
        json.dumps({"job": job, "run_id": first_run + i, "status": "failed", "finished_at": clock.now - 60_000 + i})
        for i in range(3)
    ]
    s3.put(f"fs/inbox/{name}.jsonl", ("\n".join(lines) + "\n").encode())


def _pass(s3: S3, clock: Clock, recorder: Recorder) -> list[tuple[str, str, bool]]:
    cfg = config(s3, extra="reminder: {every_hours: 1}\n")
    summary = run_pass(pass_settings(cfg), ports(cfg, recorder, clock)).to_dict()
    return [(n["job"], n["event"], n["suppressed"]) for n in summary["notifications"]]


def test_a_mute_written_while_a_pass_runs_is_kept_and_honoured_by_the_next_pass(s3: S3) -> None:
    # Given ci/a failing in the inbox, and a mute of ci/* written through the mutes document (as the CLI and the
    # HTTP front write it) while the pass runs: after it loaded, before it saved the state
    clock, recorder = Clock(), Recorder()
    _failures(s3, "1", "ci/a", 1, clock)
    mute = Mute.new("ci/*", clock.now, until=clock.now + 48 * HOUR, reason="on it")
    written: list[str] = []

    def mute_before_the_state_is_saved(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "fs/state.json" and not written:
            written.append("mute")
            mutes_store(s3.uri("fs/state.json"), clock).add_mute(mute)

    events = s3client.client().meta.events
    events.register("provide-client-params.s3.PutObject", mute_before_the_state_is_saved)
    try:
        # When the pass runs
        first = _pass(s3, clock, recorder)
    finally:
        events.unregister("provide-client-params.s3.PutObject", mute_before_the_state_is_saved)

    # Then the pass, which loaded the mutes before the mute was written, announced ci/a; and the mute is still in
    # the mutes document: the pass neither overwrote nor removed it
    assert written == ["mute"]
    assert first == [("ci/a", "triggered", False)]
    assert decode_mutes(s3.get("fs/mutes.json"), "mutes").mutes == [mute]

    # And when the next pass runs, an hour later, with ci/b (also under ci/*) failing, it honours the mute: ci/a's
    # reminder and ci/b's triggered are recorded as suppressed, and nothing more is sent
    clock.now += HOUR
    _failures(s3, "2", "ci/b", 10, clock)
    assert _pass(s3, clock, recorder) == [("ci/a", "reminder", True), ("ci/b", "triggered", True)]
    assert recorder.sent == [("ci/a", "triggered")]
    assert decode_mutes(s3.get("fs/mutes.json"), "mutes").mutes == [mute]


def test_two_mute_writers_at_once_both_keep_every_mute(seaweed_either: S3) -> None:
    # On the real server only, as tests/integration/s3/test_s3_concurrency.py: moto's in-process conditional write
    # is not atomic across threads (two writes at the same ETag both succeeded there, losing a mute, while the
    # same test holds on SeaweedFS), through either client; the deterministic races above run on both.
    s3 = seaweed_either
    # Given two writers (each its own store, as a CLI and the HTTP front would be), released at the same moment
    clock = Clock()
    start = threading.Barrier(2)
    per_writer = 6

    def writer(name: str) -> list[str]:
        store = mutes_store(s3.uri("fs/state.json"), clock)
        store.attempts = 4 * per_writer  # every other write may lose a race; each retry starts from a fresh read
        start.wait()
        return [store.add_mute(Mute.new(f"{name}/{i}", clock.now, runs=1)).id for i in range(per_writer)]

    # When each adds its mutes, one read-modify-write at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        ids = [i for batch in pool.map(writer, ["cli", "front"]) for i in batch]

    # Then every mute of both writers is in the document, once
    stored = decode_mutes(s3.get("fs/mutes.json"), "mutes").mutes
    assert sorted(m.id for m in stored) == sorted(ids)
    assert len(stored) == 2 * per_writer


def test_the_first_write_of_the_mutes_document_is_conditional_too(s3: S3) -> None:
    # Given a writer whose first write (no document yet: If-None-Match) is raced by another writer's first write
    clock = Clock()
    ours = Mute.new("ours/*", clock.now, runs=1)
    theirs = Mute.new("theirs/*", clock.now, runs=1)
    raced: list[str] = []

    def other_first(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == "fs/mutes.json" and not raced:
            raced.append("theirs")
            mutes_store(s3.uri("fs/state.json"), clock).add_mute(theirs)

    events = s3client.client().meta.events
    events.register("provide-client-params.s3.PutObject", other_first)
    try:
        # When it adds its mute
        mutes_store(s3.uri("fs/state.json"), clock).add_mute(ours)
    finally:
        events.unregister("provide-client-params.s3.PutObject", other_first)

    # Then its create lost, it read the other's document and added to it: both are there
    assert raced == ["theirs"]
    assert decode_mutes(s3.get("fs/mutes.json"), "mutes").mutes == [theirs, ours]
