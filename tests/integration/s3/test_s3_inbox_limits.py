"""What a producer can never do to the monitor, on the S3 inbox (docs/s3-and-lambda.md, "What a producer can and
cannot do"): one object can only be quarantined, within bounded memory, and never overwrites another's archive."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from failstreak.app.wiring import pass_settings
from failstreak.inbox.s3 import PREFETCH_BYTES
from failstreak.pipeline.run import run_pass
from tests.integration.childpass import GIB, run_child
from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import T0, Clock, Recorder, config, moved, ports
from tests.integration.s3.s3server import SeaweedServer

pytestmark = pytest.mark.integration


def record(job: str, run_id: int) -> bytes:
    return b'{"job": "%s", "run_id": %d, "status": "failed", "finished_at": %d}\n' % (
        job.encode(),
        run_id,
        T0 + run_id * 1000,
    )


def test_an_object_nested_deeper_than_the_recursion_limit_does_not_stop_the_pass(s3: S3) -> None:
    # Given an object whose legal record carries an unknown field nested 1000 levels deep, and a good object
    deep = record("etl", 1)[:-2] + b', "x": ' + b"[" * 1000 + b"]" * 1000 + b"}\n"
    s3.put("fs/inbox/deep.jsonl", deep + record("etl", 2))
    s3.put("fs/inbox/good.jsonl", record("api", 3))
    cfg = config(s3)
    # When a pass runs
    summary = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # Then it completes and counts every record of both objects
    assert (summary.ingested, summary.rejected, summary.quarantined) == (3, 0, [])
    assert s3.keys("fs/inbox/") == []


def test_objects_of_the_same_name_archived_by_two_passes_are_both_kept(s3: S3) -> None:
    # Given an object with a rejected line that one pass reads, then another object under the same key
    cfg = config(s3)
    for run in (1, 2):
        s3.put("fs/inbox/ci.jsonl", record("ci", run) + b'{"run_id": %d}\n' % run)
        # When a pass runs for each
        run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock(Clock().now + run * 1000)))
    # Then both are archived, and both rejected lines kept, each under its own pass's folder
    archived = [k for k in s3.keys("fs/processed/") if k.endswith("/ci.jsonl")]
    assert [s3.get(k).split(b"\n")[0] for k in archived] == [record("ci", 1)[:-1], record("ci", 2)[:-1]]
    kept = [k for k in s3.keys("fs/quarantine/") if k.endswith("/ci.jsonl.rejected.jsonl")]
    assert [json.loads(s3.get(k))["raw"] for k in kept] == ['{"run_id": 1}', '{"run_id": 2}']


def test_a_gzip_bomb_and_millions_of_rejected_lines_are_read_as_streams_within_bounded_memory(
    seaweed: SeaweedServer, seaweed_s3: S3, tmp_path: Path
) -> None:
    # Given a 1 MiB object that inflates to 1 GiB, an object of a million rejected lines (larger than what is
    # read ahead of the pass) and a good object, on a real S3 server
    line = b'{"pad": "' + b"a" * (64 * 1024 - 12) + b'"}\n'
    member = gzip.compress(line * 256, compresslevel=9)
    seaweed_s3.put("fs/inbox/bomb.jsonl.gz", member * (GIB // (len(line) * 256)))
    noise = b"{}\n" * 1_000_000 + record("etl", 1)
    assert len(noise) > PREFETCH_BYTES
    seaweed_s3.put("fs/inbox/noise.jsonl", noise)
    seaweed_s3.put("fs/inbox/good.jsonl", record("api", 2) + record("api", 3))
    (tmp_path / "failstreak.yaml").write_text(
        f"state: {seaweed_s3.uri('fs/state.json')}\ninbox: {seaweed_s3.uri('fs/inbox/')}\n"
    )
    # When `failstreak run` runs as a child process
    ran = run_child(tmp_path / "failstreak.yaml", {"AWS_ENDPOINT_URL": seaweed.endpoint})
    # Then it completes within far less than the Lambda's memory: the bomb quarantined with how to split it,
    # every rejected line counted and the noisy object kept whole beside its listed lines, the good runs counted
    assert ran.code == 0, ran.stderr
    assert (ran.summary["ingested"], ran.summary["rejected"]) == (3, 1_000_001)
    assert ran.summary["quarantined"] == ["bomb.jsonl.gz"]
    assert b"split it" in seaweed_s3.get(moved(seaweed_s3, "quarantine", "bomb.jsonl.gz.reason.txt"))
    assert seaweed_s3.get(moved(seaweed_s3, "quarantine", "noise.jsonl")) == noise
    assert 0 < ran.peak_rss < GIB
