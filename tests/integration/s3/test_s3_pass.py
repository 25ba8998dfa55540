"""Whole passes over S3: bad input, the CLI against S3 endpoints, a corrupt state left alone."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from moto.server import ThreadedMotoServer

from failstreak.app.wiring import pass_settings
from failstreak.errors import FailstreakError, StateCorrupt
from failstreak.inbox.base import InboxItem
from failstreak.inbox.s3 import S3Inbox
from failstreak.pipeline.run import run_pass
from failstreak.state.s3 import S3StateStore
from tests.integration.s3.backends import S3, plain_client
from tests.integration.s3.conftest import BOTH_CLIENTS, s3_fixture
from tests.integration.s3.passkit import Clock, Recorder, Workload, archived, config, counters, moved, ports
from tests.integration.s3.s3server import SeaweedServer

pytestmark = pytest.mark.integration

# The adapters work the same through boto3's client and through the light one (s3lite).
s3 = s3_fixture(BOTH_CLIENTS)

GOOD = b'{"job": "etl", "run_id": "r1", "status": "FAILED", "finished_at": "2026-09-01T10:00:00Z"}\n'
GOOD_GZ = gzip.compress(
    b'{"job": "etl", "run_id": "r2", "status": "failed", "finished_at": "2026-09-01T11:00:00Z"}\n'
    b'{"job": "etl", "run_id": "r3", "status": "timed_out", "finished_at": "2026-09-01T12:00:00Z"}\n'
)
ARRAY_WITH_ONE_BAD = (
    b'[{"job": "api", "run_id": 1, "status": "success", "finished_at": 1790000000000},'
    b' {"job": "api", "run_id": 2, "status": "exploded", "finished_at": 1790000060000},'
    b' {"job": "api", "run_id": 3, "status": "failed", "finished_at": 1790000120000}]'
)


def test_bad_objects_are_quarantined_with_a_reason_and_good_records_counted(s3: S3) -> None:
    # Given random bytes, a truncated gzip, an empty object, a JSON array with one bad element and good files
    s3.put("fs/inbox/random.bin", random.Random(1).randbytes(512).replace(b"\x1f\x8b", b"xx"))
    s3.put("fs/inbox/truncated.jsonl.gz", GOOD_GZ[: len(GOOD_GZ) // 2])
    s3.put("fs/inbox/empty.jsonl", b"")
    s3.put("fs/inbox/array.json", ARRAY_WITH_ONE_BAD)
    s3.put("fs/inbox/good.jsonl", GOOD)
    s3.put("fs/inbox/good.jsonl.gz", GOOD_GZ)
    cfg = config(s3)
    # When a pass runs
    summary = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # Then the unreadable objects are quarantined with their reason beside them
    assert sorted(summary.quarantined) == ["empty.jsonl", "random.bin", "truncated.jsonl.gz"]
    reasons = {k: s3.get(moved(s3, "quarantine", f"{k}.reason.txt")).decode() for k in summary.quarantined}
    assert reasons["empty.jsonl"] == "empty file: no records\n"
    assert reasons["truncated.jsonl.gz"].startswith("not a readable gzip file")
    assert reasons["random.bin"].startswith("no valid record")
    # And the bad element of the array is stored with its position and reason, the array itself archived
    [line] = s3.get(moved(s3, "quarantine", "array.json.rejected.jsonl")).decode().splitlines()
    assert json.loads(line)["line"] == 2
    assert "unknown status 'exploded'" in json.loads(line)["reason"]
    assert archived(s3) == ["array.json", "good.jsonl", "good.jsonl.gz"]
    # And every good record is counted
    assert summary.ingested == 5
    jobs = counters(s3)
    assert (jobs["etl"]["total_runs"], jobs["etl"]["consecutive_failures"]) == (3, 3)
    assert (jobs["api"]["total_runs"], jobs["api"]["total_failures"]) == (2, 1)
    assert s3.keys("fs/inbox/") == []


def test_a_corrupt_state_fails_the_pass_and_is_left_untouched(s3: S3) -> None:
    # Given a state object that is not JSON, and work waiting in the inbox
    s3.put("fs/state.json", b"{not json")
    s3.put("fs/inbox/good.jsonl", GOOD)
    cfg = config(s3)
    # When a pass runs, then it stops with a clear error
    with pytest.raises(StateCorrupt, match=r"s3://.*/fs/state.json: state is not valid JSON"):
        run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # And neither the state nor the inbox was touched
    assert s3.get("fs/state.json") == b"{not json"
    assert s3.keys("fs/") == ["fs/inbox/good.jsonl", "fs/state.json"]


def test_a_second_pass_over_the_same_objects_counts_nothing_twice(s3: S3) -> None:
    # Given a pass over a workload, and the same objects dropped into the inbox again
    work = Workload(files=6)
    work.upload(s3)
    cfg = config(s3)
    run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    before = counters(s3)
    work.upload(s3)
    # When a second pass runs
    summary = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # Then every record is a duplicate and the counters did not move
    assert (summary.ingested, summary.duplicates) == (0, 24)
    assert counters(s3) == before


@pytest.fixture
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _cli(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "failstreak.app.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("server", ["moto-server", "seaweedfs"])
def test_the_cli_runs_a_pass_on_s3_locations_at_the_endpoint_named_by_aws_endpoint_url(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Given an S3 server reachable only through AWS_ENDPOINT_URL, with a config whose state and inbox are on it
    endpoint = (
        request.getfixturevalue("moto_server")
        if server == "moto-server"
        else request.getfixturevalue("seaweed").endpoint
    )
    s3 = plain_client(endpoint)
    s3.create_bucket(Bucket="cli-bucket")
    for i in range(3):
        body = b'{"job": "deploy", "run_id": %d, "status": "failed", "finished_at": %d}\n' % (i, 1790000000000 + i)
        s3.put_object(Bucket="cli-bucket", Key=f"fs/inbox/{i}.jsonl", Body=body)
    cfg = tmp_path / "failstreak.yaml"
    cfg.write_text("state: s3://cli-bucket/fs/state.json\ninbox: s3://cli-bucket/fs/inbox/\n")
    # When `failstreak run --json` runs
    run = _cli(endpoint, "run", "--config", str(cfg), "--json")
    # Then the pass counted the runs, alerted once, and saved its state there
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["files"], summary["ingested"], summary["rejected"]) == (3, 3, 0)
    assert [(n["job"], n["event"]) for n in summary["notifications"]] == [("deploy", "triggered")]
    status = _cli(endpoint, "status", "--config", str(cfg), "--json")
    assert json.loads(status.stdout)["jobs"]["deploy"]["consecutive_failures"] == 3
    listed = s3.list_objects_v2(Bucket="cli-bucket", Prefix="fs/inbox/")
    assert listed.get("KeyCount", 0) == 0


def test_the_cli_reports_an_unreachable_store_in_one_line(tmp_path: Path, seaweed: SeaweedServer) -> None:
    # Given a config naming a bucket that does not exist
    cfg = tmp_path / "failstreak.yaml"
    cfg.write_text("state: s3://no-such-bucket-cli/state.json\ninbox: s3://no-such-bucket-cli/inbox/\n")
    # When `failstreak run` runs, then it exits non-zero with one line naming the location
    run = _cli(seaweed.endpoint, "run", "--config", str(cfg))
    assert run.returncode == 1
    assert run.stderr.startswith("failstreak: s3://no-such-bucket-cli/state.json: cannot read state: NoSuchBucket")
    assert len(run.stderr.strip().splitlines()) == 1


class AlwaysOvertaken(S3StateStore):
    """A store where another writer saves just before each of this pass's saves (a real conditional conflict)."""

    def save(self, data: bytes, token: str | None) -> str:
        other = self.load()
        # Different bytes each time: S3's ETag is the content's MD5, so the same bytes would keep the ETag.
        S3StateStore.save(self, (other.data or b'{"version": 1}') + b" ", other.token)
        return super().save(data, token)


def test_a_pass_that_loses_every_race_gives_up_after_save_attempts_and_archives_nothing(s3: S3) -> None:
    # Given a pass whose every conditional save is overtaken by another writer
    s3.put("fs/inbox/good.jsonl", GOOD)
    cfg = config(s3, extra="save_attempts: 3")
    p = ports(cfg, Recorder(), Clock())
    p.store = AlwaysOvertaken.from_uri(cfg.state)
    # When it runs, then it stops with a clear error after three conflicts
    with pytest.raises(FailstreakError, match=r"fs/state.json: state kept changing under this pass; gave up after 3"):
        run_pass(pass_settings(cfg), p)
    # And the object it could not record stays in the inbox for the next pass
    assert s3.keys("fs/inbox/") == ["fs/inbox/good.jsonl"]


class ProducerReusesKey(S3Inbox):
    """An inbox whose producer rewrites `latest.jsonl` with a newer run right after the pass read it."""

    def open(self, item: InboxItem) -> BinaryIO:
        with super().open(item) as body:
            data = body.read()
        if item.key == "latest.jsonl" and b'"r1"' in data:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + item.key, Body=data.replace(b'"r1"', b'"r2"'))
        return io.BytesIO(data)


def test_runs_written_under_a_key_the_pass_already_read_are_counted_by_the_next_pass(s3: S3) -> None:
    # Given a producer that rewrites the same key with a new run while a pass is running
    s3.put("fs/inbox/latest.jsonl", GOOD)
    cfg = config(s3)
    first = ports(cfg, Recorder(), Clock())
    first.inbox = ProducerReusesKey.from_uri(cfg.inbox or "")
    run_pass(pass_settings(cfg), first)
    # When the next pass runs
    summary = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # Then the rewritten object was not archived unread: the next pass counted its run, and then archived it
    assert summary.ingested == 1
    assert [r[0] for r in counters(s3)["etl"]["runs"]] == ["r1", "r2"]
    assert s3.keys("fs/inbox/") == []
