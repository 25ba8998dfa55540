"""The S3 inbox's concurrent reads and moves: the pass sees the same items, in the same order, with the same
per-item outcomes as when it read and moved them one at a time.

Failures are injected on the adapters' own client with botocore's `before-call` hook, per object key, so the
other objects of the batch go to the real server (moto, SeaweedFS) concurrently, as in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, BinaryIO

import pytest

from failstreak.app.wiring import pass_settings
from failstreak.core.outbox import LEASE_MS
from failstreak.errors import StoreUnavailable
from failstreak.inbox.base import Done
from failstreak.inbox.s3 import S3Inbox
from failstreak.pipeline.run import run_pass
from failstreak.pipeline.summary import Summary
from tests.integration.s3.backends import S3
from tests.integration.s3.passkit import Clock, Recorder, Workload, archived, config, counters, moved, ports

pytestmark = pytest.mark.integration

FILES = 40
BAD_LINE = b'{"job": "api", "status": "failed"}\n'  # no run id: rejected, the file's other lines ingested


def workload() -> Workload:
    """FILES objects; every fifth gets a rejected line, and one is not records at all (quarantined)."""
    work = Workload(files=FILES, per_file=3, jobs=10)
    for i, key in enumerate(sorted(work.objects)):
        if i % 5 == 2:
            work.objects[key] += BAD_LINE
    work.objects["fs/inbox/batch-0017.jsonl"] = b"\x00\x01 not records"
    return work


def upload_in_order(s3: S3, work: Workload) -> None:
    """One at a time, so LastModified follows the names; the pass then meets them in name order."""
    for key, body in sorted(work.objects.items()):
        s3.put(key, body)


@contextmanager
def hooked(s3: S3, operation: str, handler: Callable[..., Any]) -> Iterator[None]:
    """`handler(params=request_dict)` runs before every `operation` call of the adapters' client."""
    s3.client.meta.events.register(f"before-call.s3.{operation}", handler, unique_id=f"test-{operation}")
    try:
        yield
    finally:
        s3.client.meta.events.unregister(f"before-call.s3.{operation}", unique_id=f"test-{operation}")


def on_key(name: str, act: Callable[[], Any]) -> Callable[..., Any]:
    """A hook that runs `act` (its result stands for S3's response) for requests whose path ends in `name`."""

    def handler(params: dict[str, Any], **_: Any) -> Any:
        return act() if params["url_path"].endswith("/" + name) else None

    return handler


def refusal() -> tuple[Any, dict[str, Any]]:
    """What S3 answers a role without the permission: 403 AccessDenied (not retried by botocore)."""
    meta = {"HTTPStatusCode": 403}
    return SimpleNamespace(status_code=403), {
        "Error": {"Code": "AccessDenied", "Message": "refused"},
        "ResponseMetadata": meta,
    }


def comparable(summary: Summary) -> dict[str, Any]:
    result = summary.to_dict()
    for varies in ("pass_id", "started_at", "duration_ms"):
        del result[varies]
    return result


def undisturbed(s3: S3, work: Workload) -> tuple[dict[str, Any], dict[str, Any]]:
    """Summary and counters of one sequential pass over `work`, in a bucket of its own."""
    alone = S3(s3.backend, s3.client, s3.new_bucket())
    upload_in_order(alone, work)
    cfg = config(alone)
    p = ports(cfg, Recorder(), Clock())
    assert isinstance(p.inbox, S3Inbox)
    p.inbox.workers = 1
    return comparable(run_pass(pass_settings(cfg), p)), counters(alone)


def contents(got: BinaryIO | Exception) -> bytes | Exception:
    if isinstance(got, Exception):
        return got
    with got:
        return got.read()


def test_concurrent_reads_come_back_in_the_order_given_even_when_the_first_is_slowest(s3: S3) -> None:
    # Given a batch whose first object answers last
    work = workload()
    upload_in_order(s3, work)
    inbox = S3Inbox.from_uri(s3.uri("fs/inbox/"))
    items = inbox.pending()
    slow = on_key(items[0].key, lambda: time.sleep(0.3))
    # When the batch is read concurrently
    with hooked(s3, "GetObject", slow):
        got = [(item, contents(data)) for item, data in inbox.read_many(items)]
    # Then every object comes with its own bytes, in listing order
    assert [item for item, _ in got] == items
    assert [data for _, data in got] == [work.objects["fs/inbox/" + i.key] for i in items]


def test_a_pass_with_concurrent_reads_ingests_rejects_and_quarantines_as_a_sequential_one(s3: S3) -> None:
    # Given a workload with rejected lines and a quarantined object, and what a one-at-a-time pass makes of it
    work = workload()
    expected_summary, expected_counters = undisturbed(s3, work)
    upload_in_order(s3, work)
    cfg = config(s3)
    p = ports(cfg, Recorder(), Clock())
    assert isinstance(p.inbox, S3Inbox)
    assert p.inbox.workers > 1
    # When a pass reads concurrently, its first object answering last
    with hooked(s3, "GetObject", on_key("batch-0000.jsonl", lambda: time.sleep(0.3))):
        summary = run_pass(pass_settings(cfg), p)
    # Then the summary (rejects in file and line order, quarantine, counts) and the counters are the same
    assert comparable(summary) == expected_summary
    assert [r.file for r in summary.rejects] == sorted(r.file for r in summary.rejects)
    assert counters(s3) == expected_counters
    # And every object left the inbox: archived, or quarantined with its reason
    assert s3.keys("fs/inbox/") == []
    assert len(archived(s3)) == FILES - 1
    assert moved(s3, "quarantine", "batch-0017.jsonl.reason.txt")


def test_an_object_that_vanishes_mid_batch_is_skipped_and_the_others_are_ingested(s3: S3) -> None:
    # Given a batch in which one object is archived by another pass after this one listed it
    work = workload()
    upload_in_order(s3, work)
    cfg = config(s3)
    taken = "batch-0020.jsonl"

    def take() -> None:
        s3.client.delete_object(Bucket=s3.bucket, Key="fs/inbox/" + taken)

    # When the pass reads the batch concurrently
    with hooked(s3, "GetObject", on_key(taken, take)):
        summary = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # Then it skips that object without calling it an error (whoever took it counts it) and ingests the others
    assert summary.files == FILES - 1
    assert [r for r in summary.rejects if r.file == taken] == []
    assert taken not in archived(s3)
    assert s3.keys("fs/inbox/") == []


def test_a_read_that_fails_leaves_that_object_for_the_next_pass_and_ingests_the_others(s3: S3) -> None:
    # Given a batch in which S3 refuses to read one object, and the result of an undisturbed pass
    work = workload()
    _, expected_counters = undisturbed(s3, work)
    upload_in_order(s3, work)
    cfg = config(s3)
    refused = "batch-0009.jsonl"
    # When a pass reads the batch concurrently
    with hooked(s3, "GetObject", on_key(refused, refusal)):
        first = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    # Then that object is reported, not ingested and still waiting; the others are ingested and archived
    [skipped] = [r for r in first.rejects if r.file == refused]
    assert skipped.reason.startswith("not read this pass: ")
    assert "cannot read: AccessDenied" in skipped.reason
    assert first.files == FILES - 1
    assert s3.keys("fs/inbox/") == ["fs/inbox/" + refused]
    # And the next pass ingests it, reaching the undisturbed counters
    second = run_pass(pass_settings(cfg), ports(cfg, Recorder(), Clock()))
    assert second.files == 1
    assert counters(s3) == expected_counters
    assert s3.keys("fs/inbox/") == []


def test_an_archive_that_fails_for_one_object_moves_the_others_and_fails_the_pass_as_before(s3: S3) -> None:
    # Given a batch in which S3 refuses to copy one object to processed/, and the result of an undisturbed pass
    work = workload()
    _, expected_counters = undisturbed(s3, work)
    upload_in_order(s3, work)
    cfg = config(s3)
    clock = Clock()
    stuck = "batch-0003.jsonl"
    # When a pass archives the batch concurrently
    with (
        hooked(s3, "CopyObject", on_key(stuck, refusal)),
        pytest.raises(StoreUnavailable, match=rf"fs/inbox/{stuck}: cannot copy to .*AccessDenied: refused$"),
    ):
        run_pass(pass_settings(cfg), ports(cfg, Recorder(), clock))
    # Then the pass failed with that object's error (after its first save: the runs are counted), and every
    # other object was moved; the refused one is still waiting
    assert counters(s3) == expected_counters
    assert s3.keys("fs/inbox/") == ["fs/inbox/" + stuck]
    assert len(archived(s3)) == FILES - 2  # all but the stuck one and the quarantined one
    # And the next pass re-reads it without counting its runs twice, and archives it
    clock.now += LEASE_MS + 1
    again = Recorder()
    summary = run_pass(pass_settings(cfg), ports(cfg, again, clock))
    assert (summary.files, summary.ingested, summary.duplicates) == (1, 0, 3)
    assert counters(s3) == expected_counters
    assert s3.keys("fs/inbox/") == []
    assert again.sent, "the notifications the failed pass left leased are sent once its lease ran out"


def test_several_moves_that_fail_are_reported_once_naming_the_first_and_the_count(moto_s3: S3) -> None:
    # Given two objects S3 refuses to archive, and others it accepts
    for i in range(6):
        moto_s3.put(f"fs/inbox/f{i}.jsonl", b"")
    inbox = S3Inbox.from_uri(moto_s3.uri("fs/inbox/"))
    items = inbox.pending()

    def handler(params: dict[str, Any], **_: Any) -> Any:
        return refusal() if params["url_path"].endswith(("/f1.jsonl", "/f4.jsonl")) else None

    # When the batch is archived
    with (
        hooked(moto_s3, "CopyObject", handler),
        pytest.raises(StoreUnavailable, match=r"f1.jsonl: cannot copy .* \(and 1 more inbox items could not be moved"),
    ):
        inbox.finish_many([Done(i) for i in items], "2026/01/02/p1")
    # Then the error names the first in batch order, and the four others were archived
    assert moto_s3.keys("fs/inbox/") == ["fs/inbox/f1.jsonl", "fs/inbox/f4.jsonl"]
