"""Concurrent passes over one S3 state and inbox, on a real S3 server: nothing lost, nothing counted twice."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from failstreak.app.wiring import pass_settings
from failstreak.pipeline.run import run_pass
from failstreak.pipeline.summary import Summary
from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import Clock, Recorder, Workload, archived, config, counters, pending_outbox, ports

pytestmark = pytest.mark.integration

PASSES = 6
FILES = 200


def test_simultaneous_passes_count_like_one_pass_and_archive_every_object_once(seaweed_s3: S3) -> None:
    # Given a few hundred objects, and what a single pass over them makes of them (in a bucket of its own)
    work = Workload(files=FILES, per_file=3, jobs=15)
    single = S3(seaweed_s3.backend, seaweed_s3.client, seaweed_s3.new_bucket())
    work.upload(single)
    single_cfg = config(single)
    single_sent = Recorder()
    run_pass(pass_settings(single_cfg), ports(single_cfg, single_sent, Clock()))
    assert single_sent.sent, "the workload must make some jobs alert"

    work.upload(seaweed_s3)
    cfg = config(seaweed_s3, extra="save_attempts: 20")
    recorders = [Recorder() for _ in range(PASSES)]
    summaries: list[Summary] = []
    errors: list[BaseException] = []
    start = threading.Barrier(PASSES)

    def one_pass(recorder: Recorder) -> None:
        start.wait()
        try:
            summaries.append(run_pass(pass_settings(cfg), ports(cfg, recorder, Clock())))
        except BaseException as e:  # surfaced below, with the others' results
            errors.append(e)

    threads = [threading.Thread(target=one_pass, args=(r,)) for r in recorders]
    # When six passes start at the same moment over the same state and inbox
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    # Then every pass completed, and they really did race (some conditional writes were refused)
    assert errors == []
    assert len(summaries) == PASSES
    assert sum(s.conflicts for s in summaries) > 0
    # And every job's counters equal those of the single pass: no run lost, none counted twice
    assert counters(seaweed_s3) == counters(single)
    assert sum(s.ingested for s in summaries) == FILES * 3 - sum(s.running for s in summaries)
    # And every object was archived exactly once, none left in the inbox or quarantined
    assert archived(seaweed_s3) == sorted(k.rsplit("/", 1)[1] for k in work.objects)
    assert seaweed_s3.keys("fs/inbox/") == []
    assert seaweed_s3.keys("fs/quarantine/") == []
    # And each notification was sent once, as the single pass sent it
    sent = Counter(n for r in recorders for n in r.sent)
    assert sent == Counter(single_sent.sent)
    assert pending_outbox(seaweed_s3) == 0
